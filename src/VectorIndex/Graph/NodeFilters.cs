using VectorIndex.Storage;

namespace VectorIndex.Graph;

/// <summary>Which nodes SEARCH-LAYER may put in its result set W. Every node still routes the walk.</summary>
internal interface INodeFilter
{
    bool Accept(NodeSegments segments, int id);
}

/// <summary>Every node, deleted ones included: construction links through them as hnswlib does.</summary>
internal readonly struct AnyNode : INodeFilter
{
    public bool Accept(NodeSegments segments, int id) => true;
}

/// <summary>Nodes that are not deleted (removed, replaced, or still being inserted).</summary>
internal readonly struct LiveNodes : INodeFilter
{
    public bool Accept(NodeSegments segments, int id) => (Volatile.Read(ref segments.Flags(id)) & NodeFlags.Deleted) == 0;
}

/// <summary>Live nodes whose key the caller's options accept (<see cref="SearchOptions.Filter"/>, <see cref="SearchOptions.AllowedKeys"/>).</summary>
internal readonly struct LiveKeys(SearchOptions options) : INodeFilter
{
    // A HashSet, the usual allowed set, is asked through its class: a direct call, not an interface dispatch per
    // candidate. Measured on Fashion-MNIST (ef 64) with 10-20% of the keys allowed: the walk through rejected nodes
    // 10-35% faster. A set lookup still costs more than a cheap function filter (about 0.6x its QPS at 10%).
    private readonly HashSet<ulong>? _hashSet = options.AllowedKeys as HashSet<ulong>;
    private readonly IReadOnlySet<ulong>? _otherSet = options.AllowedKeys is HashSet<ulong> ? null : options.AllowedKeys;
    private readonly Func<ulong, bool>? _filter = options.Filter;

    public bool Accept(NodeSegments segments, int id)
    {
        if ((Volatile.Read(ref segments.Flags(id)) & NodeFlags.Deleted) != 0)
        {
            return false;
        }

        ulong key = segments.Key(id);
        return (_hashSet is null || _hashSet.Contains(key)) && (_otherSet is null || _otherSet.Contains(key)) && (_filter is null || _filter(key));
    }
}
