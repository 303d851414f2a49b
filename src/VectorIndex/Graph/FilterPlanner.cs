namespace VectorIndex.Graph;

/// <summary>How a filtered search runs.</summary>
internal enum SearchPlan
{
    /// <summary>The plain graph walk: rejected nodes are measured and route the walk, only accepted ones are results.</summary>
    Walk,

    /// <summary>The walk that looks through rejected nodes to their neighbours (ACORN-1) without measuring them.</summary>
    Bridging,

    /// <summary>An exact scan of the accepted nodes.</summary>
    Exact,
}

/// <summary>
/// Picks how a filtered search runs from the estimated share p of live vectors that pass, counted in distance
/// computations: the graph walk costs about <c>WalkCostPerEf * ef / p</c> (it reaches 1/p nodes per accepted one),
/// the walk through rejected nodes about <c>BridgingCostFactor * WalkCostPerEf * ef</c> inside its band, an exact
/// scan about the number of accepted vectors (plus a cheap filter call per node without an allowed set).
/// </summary>
internal static class FilterPlanner
{
    // A walk expands on the order of ef candidates and measures the unvisited part of each list (up to M0 = 32 at the
    // default M): about 32 per unit of ef at full pass rate, and 1/p times that at pass rate p. The walk through
    // rejected nodes measures accepted nodes only, at about twice the unfiltered cost (it reads two lists per step);
    // on Fashion-MNIST it kept recall 0.998 at 10% and 50% but fell to 0.84 at 1%, and at 50% the plain walk was
    // faster, hence its band. A filter call costs about as much as a distance over 48 floats (measured: 10 ns against
    // 180 ns for 784 floats).
    private const double WalkCostPerEf = 32;
    private const double BridgingCostFactor = 2;
    private const double BridgingMinPassRate = 0.05;
    private const double BridgingMaxPassRate = 0.3;
    private const double FloatsPerFilterCall = 48;

    /// <summary>The plan for a search of breadth <paramref name="ef"/> (at least k) over <paramref name="live"/> live vectors.</summary>
    public static SearchPlan Choose(HnswGraph graph, int live, SearchOptions options, int ef)
    {
        if (!options.Filters)
        {
            return SearchPlan.Walk;
        }

        IReadOnlySet<ulong>? allowed = options.AllowedKeys;
        live = Math.Max(1, live);
        double p = graph.EstimatePassRate(new AcceptedKeys(options));
        if (allowed is not null)
        {
            p = Math.Min(p, Math.Min(1.0, (double)allowed.Count / live));
        }

        bool bridging = p >= BridgingMinPassRate && p < BridgingMaxPassRate;
        double walk = bridging ? BridgingCostFactor * WalkCostPerEf * ef : WalkCostPerEf * ef / p;
        double filterCalls = graph.NodeCount / Math.Max(1.0, graph.Dimensions / FloatsPerFilterCall);
        double exact = allowed is not null ? Math.Min(allowed.Count, live) : (p * live) + filterCalls;
        return exact <= walk ? SearchPlan.Exact : bridging ? SearchPlan.Bridging : SearchPlan.Walk;
    }
}
