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
internal readonly struct AcceptedKeys(SearchOptions options) : INodeFilter
{
    public bool Accept(NodeSegments segments, int id) =>
        (Volatile.Read(ref segments.Flags(id)) & NodeFlags.Deleted) == 0 && options.Accepts(segments.Key(id));
}

/// <summary>What SEARCH-LAYER does with a neighbour the filter rejects (see <c>HnswGraph.SearchLayer</c>).</summary>
internal interface ILayerWalk
{
    /// <summary>False: measure it and let it route. True: look through it to its accepted neighbours, unmeasured.</summary>
    static abstract bool LooksThroughRejected { get; }
}

/// <summary>The paper's walk: every neighbour is measured and routes; only accepted ones become results.</summary>
internal readonly struct PlainWalk : ILayerWalk
{
    public static bool LooksThroughRejected => false;
}

/// <summary>The ACORN-1 walk for selective filters: rejected neighbours are looked through, never measured.</summary>
internal readonly struct BridgingWalk : ILayerWalk
{
    public static bool LooksThroughRejected => true;
}
