namespace VectorIndex;

/// <summary>Per-search settings. One instance may be shared by many searches and threads.</summary>
public sealed record SearchOptions
{
    /// <summary>The search breadth for this call; overrides <see cref="HnswOptions.EfSearch"/> and is raised to k when smaller. At least 1.</summary>
    public int? Ef { get; init; }

    /// <summary>
    /// When set, only keys it accepts may be returned. It must be thread-safe when searches run in parallel, and cheap:
    /// the index calls it for candidates before it computes their distances. The index estimates the share of keys it
    /// accepts from a fixed sample and chooses the plan from that: the graph walk when many pass, a walk that looks
    /// through rejected nodes to their neighbours (ACORN-style) when fewer do, an exact scan when very few do.
    /// </summary>
    public Func<ulong, bool>? Filter { get; init; }

    /// <summary>
    /// When set, only these keys may be returned (together with <see cref="Filter"/>, when both are set: a key must
    /// pass both). Unlike <see cref="Filter"/>, its size is known, so a small set is answered by an exact scan of
    /// just its keys, whatever the size of the index. Must not change while a search uses it.
    /// </summary>
    public IReadOnlySet<ulong>? AllowedKeys
    {
        get => _allowedKeys;
        init
        {
            _allowedKeys = value;
            _allowedHashSet = value as HashSet<ulong>;
        }
    }

    /// <summary>
    /// When set, no result farther than this distance (in the index's metric: squared L2, or 1 - dot product or cosine)
    /// is returned: the k nearest within the threshold, so fewer than k when fewer lie within it. Not NaN.
    /// </summary>
    public float? MaxDistance { get; init; }

    /// <summary>
    /// Under a quantisation (<see cref="HnswOptions.Quantization"/>), how many of the walk's best candidates get their
    /// exact float distance before the k nearest by it are returned; raised to k when smaller, at most the ef
    /// candidates the walk kept. 0 returns the walk's order and code distances (approximate, a little faster). Null:
    /// 2k under <see cref="Quantization.Int8"/>, 4k under <see cref="Quantization.Int4"/>, and at least ef / 4 and 10. Raise it when the codes are coarse for the data (4-bit codes of data whose dimensions
    /// differ much in range). Ignored under <see cref="Quantization.None"/> and before the codes are trained. At least 0.
    /// </summary>
    public int? Rerank { get; init; }

    private readonly IReadOnlySet<ulong>? _allowedKeys;

    // The usual allowed set, asked through its class: a direct call, not an interface dispatch per candidate.
    // Measured on Fashion-MNIST (ef 64) with 10-20% of the keys allowed: the walk through rejected nodes 10-35% faster.
    private readonly HashSet<ulong>? _allowedHashSet;

    /// <summary>Whether a key may be returned under these options.</summary>
    internal bool Accepts(ulong key) =>
        (_allowedKeys is null || (_allowedHashSet is not null ? _allowedHashSet.Contains(key) : _allowedKeys.Contains(key))) &&
        (Filter is null || Filter(key));

    /// <summary>Whether any key may be refused.</summary>
    internal bool Filters => AllowedKeys is not null || Filter is not null;

    /// <summary>Throws for a NaN <see cref="MaxDistance"/> or a negative <see cref="Rerank"/>.</summary>
    internal void Validate()
    {
        if (Rerank is < 0)
        {
            throw new ArgumentOutOfRangeException("options.Rerank", Rerank, "Rerank is at least 0.");
        }

        if (MaxDistance is float max && float.IsNaN(max))
        {
            throw new ArgumentException("MaxDistance is NaN.", "options");
        }
    }

    /// <summary>How many of <paramref name="results"/> (nearest first) lie within <see cref="MaxDistance"/>.</summary>
    internal static int WithinMaxDistance(SearchOptions? options, ReadOnlySpan<SearchResult> results)
    {
        if (options?.MaxDistance is not float max)
        {
            return results.Length;
        }

        int within = 0;
        while (within < results.Length && results[within].Distance <= max)
        {
            within++;
        }

        return within;
    }
}
