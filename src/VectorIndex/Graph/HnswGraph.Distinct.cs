using VectorIndex.Codes;
using VectorIndex.Distance;
using VectorIndex.Internal;
using VectorIndex.Storage;

namespace VectorIndex.Graph;

/// <summary>
/// The searches of an index that keeps several vectors per key (<see cref="HnswOptions.MultipleVectorsPerKey"/>):
/// the same walk and scan as HnswGraph.Search.cs, answering each key once, at its nearest node.
/// </summary>
internal sealed unsafe partial class HnswGraph
{
    /// <summary>
    /// K-NN-SEARCH as <see cref="Search{TDistance, TFilter}"/>, with W of breadth <paramref name="ef"/>, written
    /// nearest first with every key once (at its nearest node in W). <paramref name="met"/> is how many nodes W
    /// held: when it is below <paramref name="ef"/>, a wider walk would find no more. Under a trained quantisation
    /// (<paramref name="rerank"/> &gt;= 0) the walk measures codes and every node of W gets its exact distance before
    /// the keys are picked.
    /// </summary>
    public int SearchDistinct<TDistance, TFilter>(
        SearchScratch scratch, int ef, TFilter filter, bool bridgeRejected, int rerank, Span<SearchResult> destination, out int met)
        where TDistance : struct, IDistance
        where TFilter : struct, INodeFilter
    {
        long entry = Volatile.Read(ref _entry);
        met = 0;
        if (entry < 0)
        {
            return 0;
        }

        int limit = NodeCount;
        NodeSegments segments = Segments;
        fixed (float* q = scratch.Query)
        {
            ScalarQuantizer? quantizer = rerank >= 0 ? segments.Quantizer : null;
            if (quantizer is not null)
            {
                WalkCodes(segments, quantizer, scratch, q, entry, limit, ef, filter, bridgeRejected);
            }
            else
            {
                Walk(segments, new FloatSpace<TDistance>(q, PaddedDimensions, _prefetchLines), scratch, entry, limit, ef, filter, bridgeRejected);
            }

            met = scratch.Results.Count;
            Span<Candidate> nearestFirst = scratch.Results.DrainAllNearestFirst(ref scratch.Found);
            return WriteDistinct(segments, quantizer is null ? nearestFirst : Rerank<TDistance>(segments, scratch, q, nearestFirst, nearestFirst.Length), destination);
        }
    }

    /// <summary>The exact answer with every key once: each accepted node below the count is scanned, and a key keeps its nearest node.</summary>
    public int ExactSearchDistinct<TDistance, TFilter>(SearchScratch scratch, TFilter filter, Span<SearchResult> destination)
        where TDistance : struct, IDistance
        where TFilter : struct, INodeFilter
    {
        int limit = NodeCount;
        NodeSegments segments = Segments;
        var best = new DistinctBest(SelectionBuffers.Ensure(ref scratch.InRange, destination.Length), destination.Length);
        fixed (float* q = scratch.Query)
        {
            for (int id = 0; id < limit; id++)
            {
                if (filter.Accept(segments, id))
                {
                    best.Offer(segments, Distance<TDistance>(q, segments.Vector(id)), id);
                }
            }
        }

        return WriteDistinct(segments, best.SortedNearestFirst(), destination);
    }

    /// <summary>As <see cref="ExactSearchDistinct{TDistance, TFilter}(SearchScratch, TFilter, Span{SearchResult})"/> among the nodes <paramref name="ids"/>.</summary>
    public int ExactSearchDistinct<TDistance, TFilter>(SearchScratch scratch, ReadOnlySpan<int> ids, TFilter filter, Span<SearchResult> destination)
        where TDistance : struct, IDistance
        where TFilter : struct, INodeFilter
    {
        int limit = NodeCount;
        NodeSegments segments = Segments;
        var best = new DistinctBest(SelectionBuffers.Ensure(ref scratch.InRange, destination.Length), destination.Length);
        fixed (float* q = scratch.Query)
        {
            foreach (int id in ids)
            {
                if ((uint)id < (uint)limit && filter.Accept(segments, id))
                {
                    best.Offer(segments, Distance<TDistance>(q, segments.Vector(id)), id);
                }
            }
        }

        return WriteDistinct(segments, best.SortedNearestFirst(), destination);
    }

    /// <summary>
    /// Writes the nodes (nearest first) still live, each key once at its first (nearest) node, up to the destination's
    /// length. A repeat is found by a look over the keys written so far: k is small next to the walk's cost.
    /// </summary>
    private static int WriteDistinct(NodeSegments segments, ReadOnlySpan<Candidate> nearestFirst, Span<SearchResult> destination)
    {
        int written = 0;
        for (int i = 0; i < nearestFirst.Length && written < destination.Length; i++)
        {
            int id = nearestFirst[i].Id;
            if ((Volatile.Read(ref segments.Flags(id)) & NodeFlags.Deleted) != 0)
            {
                continue;
            }

            ulong key = segments.Key(id);
            bool repeated = false;
            for (int j = 0; j < written && !repeated; j++)
            {
                repeated = destination[j].Key == key;
            }

            if (!repeated)
            {
                destination[written++] = new SearchResult(key, nearestFirst[i].Distance);
            }
        }

        return written;
    }

    /// <summary>
    /// The k nearest nodes of distinct keys met so far: an unsorted array with its furthest entry tracked. A node of a key
    /// already held replaces that key's entry when nearer; otherwise a node enters only when nearer than the furthest, which
    /// it evicts. So the end result is the k keys of smallest nearest-node distance (a key evicted was beaten by k others).
    /// </summary>
    private ref struct DistinctBest(Candidate[] buffer, int k)
    {
        private readonly Candidate[] _items = buffer;
        private int _count;
        private int _furthest;

        public void Offer(NodeSegments segments, float distance, int id)
        {
            if (_count == k && distance >= _items[_furthest].Distance)
            {
                return;
            }

            ulong key = segments.Key(id);
            for (int i = 0; i < _count; i++)
            {
                if (segments.Key(_items[i].Id) == key)
                {
                    if (distance < _items[i].Distance)
                    {
                        _items[i] = new Candidate(distance, id);
                        FindFurthest();
                    }

                    return;
                }
            }

            if (_count < k)
            {
                _items[_count++] = new Candidate(distance, id);
            }
            else
            {
                _items[_furthest] = new Candidate(distance, id);
            }

            FindFurthest();
        }

        /// <summary>The entries, nearest first (ties by id). An insertion sort: k is small, and Span.Sort boxes its comparer.</summary>
        public readonly ReadOnlySpan<Candidate> SortedNearestFirst()
        {
            Span<Candidate> items = _items.AsSpan(0, _count);
            for (int i = 1; i < items.Length; i++)
            {
                Candidate c = items[i];
                int j = i - 1;
                while (j >= 0 && default(ByDistance).Compare(items[j], c) > 0)
                {
                    items[j + 1] = items[j];
                    j--;
                }

                items[j + 1] = c;
            }

            return items;
        }

        private void FindFurthest()
        {
            _furthest = 0;
            for (int i = 1; i < _count; i++)
            {
                if (_items[i].Distance > _items[_furthest].Distance)
                {
                    _furthest = i;
                }
            }
        }
    }
}
