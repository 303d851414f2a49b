using VectorIndex.Distance;
using VectorIndex.Internal;
using VectorIndex.Storage;

namespace VectorIndex.Selection;

/// <summary>
/// The paper's two ways to pick a node's neighbours from candidates sorted nearest first. The candidates' distances
/// are to the base element q (the node being inserted, or the node whose overflowing list is being pruned).
/// </summary>
internal static unsafe class NeighborSelector
{
    /// <summary>Whichever of the two the options name; returns how many were written to <paramref name="kept"/>.</summary>
    public static int Select<TDistance>(
        NeighborSelection selection,
        NodeSegments segments,
        ReadOnlySpan<Candidate> sorted,
        int max,
        bool keepPrunedConnections,
        Span<Candidate> kept,
        Span<Candidate> discarded)
        where TDistance : struct, IDistance =>
        selection == NeighborSelection.Simple
            ? Simple(sorted, max, kept)
            : Heuristic<TDistance>(segments, sorted, max, keepPrunedConnections, kept, discarded);

    /// <summary>SELECT-NEIGHBORS-SIMPLE (algorithm 3): the <paramref name="max"/> nearest candidates.</summary>
    public static int Simple(ReadOnlySpan<Candidate> sorted, int max, Span<Candidate> kept)
    {
        int n = Math.Min(max, sorted.Length);
        sorted[..n].CopyTo(kept);
        return n;
    }

    /// <summary>
    /// SELECT-NEIGHBORS-HEURISTIC (algorithm 4): take candidates nearest first and keep one only if it is nearer to q
    /// than to every neighbour kept so far; with <paramref name="keepPrunedConnections"/>, fill the remaining room with
    /// the nearest discarded ones. (extendCandidates needs the graph and is done by the caller before sorting.)
    /// </summary>
    public static int Heuristic<TDistance>(
        NodeSegments segments,
        ReadOnlySpan<Candidate> sorted,
        int max,
        bool keepPrunedConnections,
        Span<Candidate> kept,
        Span<Candidate> discarded)
        where TDistance : struct, IDistance
    {
        nuint length = (nuint)segments.VectorStride;
        int keptCount = 0, discardedCount = 0;
        foreach (Candidate e in sorted)
        {
            if (keptCount >= max)
            {
                break;
            }

            float* ev = segments.Vector(e.Id);
            bool nearerToQ = true;
            for (int i = 0; i < keptCount; i++)
            {
                if (TDistance.Compute(ref *ev, ref *segments.Vector(kept[i].Id), length) < e.Distance)
                {
                    nearerToQ = false;
                    break;
                }
            }

            if (nearerToQ)
            {
                kept[keptCount++] = e;
            }
            else if (keepPrunedConnections)
            {
                discarded[discardedCount++] = e;
            }
        }

        for (int i = 0; i < discardedCount && keptCount < max; i++)
        {
            kept[keptCount++] = discarded[i];
        }

        return keptCount;
    }
}
