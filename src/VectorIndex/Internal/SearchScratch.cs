namespace VectorIndex.Internal;

/// <summary>
/// Everything one search or insert needs besides the graph, reused across calls through <see cref="ScratchPool"/>
/// so the hot path allocates nothing: the visited set, the two queues of SEARCH-LAYER, a copy buffer for one
/// neighbour list, the padded (and, for cosine, normalised) query, and the neighbour-selection buffers.
/// </summary>
internal sealed class SearchScratch(int paddedDimensions, int maxLinks, int ef, int codeBytes = 0)
{
    public VisitedSet Visited { get; } = new();

    /// <summary>C of SEARCH-LAYER: nearest first.</summary>
    public BinaryHeap<NearestFirst> Candidates { get; } = new(ef * 2);

    /// <summary>W of SEARCH-LAYER: furthest first, at most ef.</summary>
    public BinaryHeap<FurthestFirst> Results { get; } = new(ef + 1);

    /// <summary>The neighbour list being expanded, copied out of the graph (so a concurrent writer cannot tear it).</summary>
    public int[] Links { get; } = new int[maxLinks];

    /// <summary>A second neighbour list: the list of a rejected neighbour that a filtered walk looks through.</summary>
    public int[] BridgeLinks { get; } = new int[maxLinks];

    /// <summary>The accepted nodes one expansion of a filtered walk reaches, before their distances are computed.</summary>
    public int[] Reached { get; } = new int[maxLinks];

    /// <summary>The rejected neighbours one expansion of a filtered walk looks through.</summary>
    public int[] Rejected { get; } = new int[maxLinks];

    /// <summary>W drained nearest first, before the final check of the flags; grown on demand.</summary>
    public Candidate[] Found = [];

    /// <summary>The keys of an answer, sorted to find repeats (only after a handover overlapped the search); grown on demand.</summary>
    public ulong[] Keys = [];

    /// <summary>The nodes a range search found within its radius; grown on demand.</summary>
    public Candidate[] InRange = [];

    /// <summary>Node ids of an exact scan over a caller's allowed keys; grown on demand.</summary>
    public int[] Ids = [];

    /// <summary>The query, zero-padded to the index's stride; pinned so the kernels can take its address.</summary>
    public float[] Query { get; } = GC.AllocateArray<float>(paddedDimensions, pinned: true);

    /// <summary>The query's code under a quantisation (empty otherwise); pinned, for the code kernels.</summary>
    public byte[] QueryCode { get; } = GC.AllocateArray<byte>(2 * codeBytes, pinned: true); // unsigned 4-bit: two query planes

    /// <summary>The walk's best results with their exact distances, for the re-rank; grown on demand.</summary>
    public Candidate[] Reranked = [];

    /// <summary>Selecting the neighbours of a node being inserted.</summary>
    public SelectionBuffers Insert { get; } = new();

    /// <summary>Re-pruning a neighbour's overflowing list (runs while <see cref="Insert"/>'s selection is in use).</summary>
    public SelectionBuffers Prune { get; } = new();
}

/// <summary>The arrays of one neighbour selection; grown on demand, never shrunk.</summary>
internal sealed class SelectionBuffers
{
    public Candidate[] Candidates = [];
    public Candidate[] Kept = [];
    public Candidate[] Discarded = [];
    public int[] Ids = [];

    /// <summary>Returns <paramref name="array"/>, grown to at least <paramref name="length"/> elements (contents kept).</summary>
    public static T[] Ensure<T>(ref T[] array, int length)
    {
        if (array.Length < length)
        {
            Array.Resize(ref array, Math.Max(length, array.Length * 2));
        }

        return array;
    }

    /// <summary>Sizes every array for a selection from <paramref name="candidates"/> candidates.</summary>
    public void EnsureAll(int candidates)
    {
        Ensure(ref Candidates, candidates);
        Ensure(ref Kept, candidates);
        Ensure(ref Discarded, candidates);
        Ensure(ref Ids, candidates);
    }
}

/// <summary>Orders candidates nearest first (ties by id, so selection is deterministic).</summary>
internal readonly struct ByDistance : IComparer<Candidate>
{
    public int Compare(Candidate x, Candidate y)
    {
        int c = x.Distance.CompareTo(y.Distance);
        return c != 0 ? c : x.Id.CompareTo(y.Id);
    }
}
