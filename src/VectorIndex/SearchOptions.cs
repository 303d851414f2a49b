namespace VectorIndex;

/// <summary>Per-search settings. One instance may be shared by many searches and threads.</summary>
public sealed record SearchOptions
{
    /// <summary>The search breadth for this call; overrides <see cref="HnswOptions.EfSearch"/> and is raised to k when smaller. At least 1.</summary>
    public int? Ef { get; init; }

    /// <summary>
    /// When set, only keys it accepts may be returned. The walk still goes through rejected nodes, so the graph stays
    /// connected for the search. It is called once per candidate result, never per distance, and must be thread-safe
    /// when searches run in parallel.
    /// </summary>
    public Func<ulong, bool>? Filter { get; init; }
}
