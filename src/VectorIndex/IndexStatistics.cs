namespace VectorIndex;

/// <summary>
/// What an <see cref="HnswIndex"/> holds, for monitoring: counts, the shape of the graph, and bytes by kind.
/// Taken by <see cref="HnswIndex.GetStatistics"/> in one pass over the nodes; while writers run, the figures are each
/// true at some moment of that pass.
/// </summary>
public sealed record IndexStatistics
{
    /// <summary>Live keys (<see cref="HnswIndex.Count"/>): the live vectors, unless several vectors per key are kept.</summary>
    public required int Count { get; init; }

    /// <summary>Live vectors (<see cref="HnswIndex.VectorCount"/>): more than <see cref="Count"/> when keys hold several (<see cref="HnswOptions.MultipleVectorsPerKey"/>).</summary>
    public int VectorCount { get; init; }

    /// <summary>Stored nodes: the live ones, and removed or replaced ones not yet unlinked by a compaction.</summary>
    public required int NodeCount { get; init; }

    /// <summary>Removed or replaced vectors still linked in the graph (<see cref="HnswIndex.PendingRemovals"/>).</summary>
    public required int PendingRemovals { get; init; }

    /// <summary>The top layer; -1 when the index is empty.</summary>
    public required int MaxLevel { get; init; }

    /// <summary>Element l: how many nodes have l as their top layer.</summary>
    public required IReadOnlyList<int> NodesPerLevel { get; init; }

    /// <summary>Element d: how many nodes have d links on layer 0 (0 to 2M).</summary>
    public required IReadOnlyList<int> Layer0DegreeHistogram { get; init; }

    /// <summary>The mean number of links per node on layer 0.</summary>
    public required double MeanLayer0Degree { get; init; }

    /// <summary>Bytes of the vectors (each padded to a multiple of 16 floats).</summary>
    public required long VectorBytes { get; init; }

    /// <summary>Bytes of the layer-0 link records (2 + 2M ints a node).</summary>
    public required long Layer0LinkBytes { get; init; }

    /// <summary>Bytes of the upper layers' link records (2 + M ints a node and layer above 0).</summary>
    public required long UpperLayerBytes { get; init; }

    /// <summary>Bytes of the per-node key, flags and layer-0 in-degree (13 a node).</summary>
    public required long KeyAndFlagBytes { get; init; }

    /// <summary>
    /// True for an index from <see cref="HnswIndex.OpenReadOnly(string)"/>: its vectors and layer-0 records are pages
    /// of the mapped file (resident as the OS pages them in), not native memory of the index.
    /// </summary>
    public required bool IsMemoryMapped { get; init; }

    /// <summary>All of the above bytes together.</summary>
    public long TotalBytes => VectorBytes + Layer0LinkBytes + UpperLayerBytes + KeyAndFlagBytes + CodeBytes;

    /// <summary>Bytes of the quantisation codes (0 when not quantised or not trained yet); mapped, under <see cref="IsMemoryMapped"/>.</summary>
    public long CodeBytes { get; init; }

    /// <summary>
    /// Under a trained quantisation, the share of coded coordinates that fell outside the fitted ranges and were
    /// clipped (the fit clips about 2% by design under Int4, none under Int8); 0 otherwise.
    /// </summary>
    public double ClippedShare { get; init; }
}
