namespace VectorIndex;

/// <summary>
/// The parameters of an <see cref="HnswIndex"/>. Names follow the paper (Malkov and Yashunin) and hnswlib.
/// They are checked when the index is created: out-of-range values throw <see cref="ArgumentOutOfRangeException"/>.
/// </summary>
public sealed record HnswOptions
{
    /// <summary>The largest <see cref="M"/> accepted (so that a node's layer-0 record stays a few cache lines).</summary>
    public const int MaxM = 2048;

    /// <summary>The number of floats in every vector; at least 1.</summary>
    public required int Dimensions { get; init; }

    /// <summary>The distance the index ranks by. Default <see cref="VectorIndex.Metric.L2Squared"/>.</summary>
    public Metric Metric { get; init; } = Metric.L2Squared;

    /// <summary>
    /// Links per node on layers 1 and up (the paper's M); layer 0 keeps M0 = 2 * M. From 2 to <see cref="MaxM"/>;
    /// default 16. Larger M raises recall and memory (M0 * 4 bytes per node on layer 0) and slows inserts.
    /// </summary>
    public int M { get; init; } = 16;

    /// <summary>The candidate-list breadth while inserting (the paper's efConstruction); at least 1, default 200.</summary>
    public int EfConstruction { get; init; } = 200;

    /// <summary>The default search breadth (ef) used when a search gives none; at least 1, default 64. It is raised to k when smaller.</summary>
    public int EfSearch { get; init; } = 64;

    /// <summary>A capacity hint in vectors; the index grows by itself and this is never a limit. At least 0.</summary>
    public int InitialCapacity { get; init; }

    /// <summary>
    /// The seed of the level generator. The same seed and the same single-threaded calls (adds, removes, replacements and
    /// the compactions they trigger, which run on all cores but give the same result) give the same graph, and so the
    /// same search results and the same saved file. A multi-threaded <c>AddRange</c> builds an equally good graph, but
    /// not the same one on every run.
    /// </summary>
    public int Seed { get; init; } = 42;

    /// <summary>Which neighbour selection builds the graph; default <see cref="VectorIndex.NeighborSelection.Heuristic"/>.</summary>
    public NeighborSelection NeighborSelection { get; init; } = NeighborSelection.Heuristic;

    /// <summary>
    /// The heuristic's <c>extendCandidates</c> (algorithm 4): add the candidates' own neighbours to the candidates before
    /// selecting. Off by default, as in hnswlib; the paper suggests it only for extremely clustered data. Ignored by
    /// <see cref="VectorIndex.NeighborSelection.Simple"/>.
    /// </summary>
    public bool ExtendCandidates { get; init; }

    /// <summary>
    /// The heuristic's <c>keepPrunedConnections</c> (algorithm 4): fill the list up to its maximum with the nearest discarded
    /// candidates. Off by default, as in hnswlib. Ignored by <see cref="VectorIndex.NeighborSelection.Simple"/>.
    /// </summary>
    public bool KeepPrunedConnections { get; init; }

    /// <summary>
    /// What searches walk: the float vectors (<see cref="VectorIndex.Quantization.None"/>, the default), or 8-bit or
    /// 4-bit codes of them, the walk's best candidates then re-ranked by their exact float distance
    /// (<see cref="SearchOptions.Rerank"/>). Codes cost a quarter (8-bit) or an eighth (4-bit) of the vectors' memory on
    /// top of them and make each hop read that much less. The graph is built with exact distances in every mode. The
    /// codes are fitted on the first <see cref="QuantizationTrainingSize"/> vectors; until then searches walk the
    /// floats. See docs/architecture.md ("Quantised traversal") for the code and docs/tuning.md for which to pick.
    /// Under <see cref="VectorIndex.Quantization.Int8"/>, <see cref="Dimensions"/> is at most <see cref="MaxInt8Dimensions"/>.
    /// </summary>
    public Quantization Quantization { get; init; } = Quantization.None;

    /// <summary>
    /// Under a quantisation, how many vectors the index holds before it fits its codes (on a sample of up to
    /// 20,000 of them) and starts walking codes; at least 1, default 10,000. A smaller sample fits the ranges less
    /// well; coordinates that later fall outside them are clipped and counted, and <see cref="HnswIndex.Compact()"/>
    /// refits when they become too many (or call <see cref="HnswIndex.TrainQuantization"/>).
    /// </summary>
    public int QuantizationTrainingSize { get; init; } = 10_000;

    /// <summary>The most dimensions of an <see cref="VectorIndex.Quantization.Int8"/> index (its 32-bit integer distance sums cannot overflow).</summary>
    public const int MaxInt8Dimensions = 32_768;

    /// <summary>
    /// Several vectors per key, one result per key (chunked documents: one key per document, one vector per chunk).
    /// Off by default: an add of an existing key replaces its vector.
    /// <para>
    /// When on, <see cref="HnswIndex.Add"/> of an existing key adds another vector under it (so does every row of
    /// <c>AddRange</c>, a repeated key included); <see cref="HnswIndex.Remove"/> removes all of the key's vectors; a
    /// search returns each key at most once, at the distance of its nearest vector, and still k distinct keys (fewer
    /// only when fewer keys pass the filter): the walk widens its breadth while keys repeat, and an exact scan answers
    /// when that is not enough. <see cref="HnswIndex.Count"/> counts keys; <see cref="HnswIndex.VectorCount"/> counts
    /// vectors. <see cref="HnswIndex.TryGetVector"/> copies the key's first vector still stored;
    /// <see cref="HnswIndex.GetVectors"/> copies all of them. The choice is saved with the index.
    /// </para>
    /// </summary>
    public bool MultipleVectorsPerKey { get; init; }

    /// <summary>
    /// A bulk add of at least this many vectors into an empty index is built aside and stored in locality order
    /// (<c>HnswIndex.TryBuildAside</c>); below it, the index is small enough that where its nodes sit matters little.
    /// Not saved: tests lower it to take that path with small indexes.
    /// </summary>
    internal int LocalityOrderMinimum { get; init; } = 20_000;

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> for any value out of its documented range.</summary>
    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(Dimensions, 1, nameof(Dimensions));
        ArgumentOutOfRangeException.ThrowIfLessThan(M, 2, nameof(M));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(M, MaxM, nameof(M));
        ArgumentOutOfRangeException.ThrowIfLessThan(EfConstruction, 1, nameof(EfConstruction));
        ArgumentOutOfRangeException.ThrowIfLessThan(EfSearch, 1, nameof(EfSearch));
        ArgumentOutOfRangeException.ThrowIfNegative(InitialCapacity, nameof(InitialCapacity));
        if (!Enum.IsDefined(Metric))
        {
            throw new ArgumentOutOfRangeException(nameof(Metric), Metric, "Unknown metric.");
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(QuantizationTrainingSize, 1, nameof(QuantizationTrainingSize));
        if (!Enum.IsDefined(Quantization))
        {
            throw new ArgumentOutOfRangeException(nameof(Quantization), Quantization, "Unknown quantization.");
        }

        if (Quantization == Quantization.Int8 && Dimensions > MaxInt8Dimensions)
        {
            throw new ArgumentOutOfRangeException(nameof(Dimensions), Dimensions, $"Int8 codes take at most {MaxInt8Dimensions} dimensions.");
        }

        if (!Enum.IsDefined(NeighborSelection))
        {
            throw new ArgumentOutOfRangeException(nameof(NeighborSelection), NeighborSelection, "Unknown neighbour selection.");
        }
    }
}
