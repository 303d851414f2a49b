namespace VectorIndex;

/// <summary>How a node's neighbours are chosen from the candidates found while inserting it (Malkov and Yashunin, section 4).</summary>
public enum NeighborSelection
{
    /// <summary>
    /// SELECT-NEIGHBORS-HEURISTIC (algorithm 4): a candidate is kept only if it is nearer to the new
    /// element than to every neighbour kept so far, which spreads the links in all directions.
    /// The default, as in hnswlib; it is what keeps recall high on clustered data.
    /// </summary>
    Heuristic,

    /// <summary>SELECT-NEIGHBORS-SIMPLE (algorithm 3): the nearest candidates.</summary>
    Simple,
}
