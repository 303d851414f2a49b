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

/// <summary>Live nodes whose key the caller's filter accepts. The delegate runs once per candidate result, not per distance.</summary>
internal readonly struct LiveKeys(Func<ulong, bool> accept) : INodeFilter
{
    public bool Accept(NodeSegments segments, int id) =>
        (Volatile.Read(ref segments.Flags(id)) & NodeFlags.Deleted) == 0 && accept(segments.Key(id));
}
