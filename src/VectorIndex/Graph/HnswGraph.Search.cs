using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;
using VectorIndex.Codes;
using VectorIndex.Distance;
using VectorIndex.Internal;
using VectorIndex.Storage;

namespace VectorIndex.Graph;

/// <summary>K-NN-SEARCH (algorithm 5) and SEARCH-LAYER (algorithm 2): the read side of the graph.</summary>
internal sealed unsafe partial class HnswGraph
{
    /// <summary>
    /// K-NN-SEARCH: greedy descent from the entry point to layer 1, then SEARCH-LAYER on layer 0 with
    /// <paramref name="ef"/> (at least the destination's length). The query is <c>scratch.Query</c>, padded and
    /// normalised by the caller. With <paramref name="bridgeRejected"/>, layer 0 is walked by
    /// the bridging walk (for selective filters). Writes the nearest accepted nodes, nearest first,
    /// and returns how many.
    /// <para>
    /// With <paramref name="rerank"/> &gt;= 0 and codes in the snapshot, the walk measures codes (<see cref="SearchCodes"/>)
    /// and the best <paramref name="rerank"/> of its results get their exact distance; with -1, or before the codes
    /// are trained, it measures the float vectors.
    /// </para>
    /// </summary>
    public int Search<TDistance, TFilter>(SearchScratch scratch, int ef, TFilter filter, bool bridgeRejected, int rerank, Span<SearchResult> destination)
        where TDistance : struct, IDistance
        where TFilter : struct, INodeFilter
    {
        // Read in this order: the entry point is a node below the count, and every node below the count has
        // storage in the segment snapshot taken after it.
        long entry = Volatile.Read(ref _entry);
        if (entry < 0)
        {
            return 0;
        }

        int limit = NodeCount;
        NodeSegments segments = Segments;
        ef = Math.Max(ef, destination.Length);
        fixed (float* q = scratch.Query)
        {
            if (rerank >= 0 && segments.Quantizer is { } quantizer)
            {
                return SearchCodes<TDistance, TFilter>(segments, quantizer, scratch, q, entry, limit, ef, filter, bridgeRejected, rerank, destination);
            }

            Walk(segments, new FloatSpace<TDistance>(q, PaddedDimensions, _prefetchLines), scratch, entry, limit, ef, filter, bridgeRejected);
        }

        return WriteResults(segments, scratch.Results.MoveTo(ref scratch.Found), destination);
    }

    /// <summary>
    /// The quantised K-NN-SEARCH: walks the codes (<see cref="WalkCodes"/>), then re-ranks: the best
    /// <paramref name="rerank"/> live results (at least k) get their exact float distance and the k nearest by it are
    /// written. With <paramref name="rerank"/> 0, the walk's order and code distances are written.
    /// </summary>
    private int SearchCodes<TDistance, TFilter>(
        NodeSegments segments, ScalarQuantizer quantizer, SearchScratch scratch, float* q, long entry, int limit, int ef, TFilter filter,
        bool bridgeRejected, int rerank, Span<SearchResult> destination)
        where TDistance : struct, IDistance
        where TFilter : struct, INodeFilter
    {
        WalkCodes(segments, quantizer, scratch, q, entry, limit, ef, filter, bridgeRejected);
        Span<Candidate> found = scratch.Results.MoveTo(ref scratch.Found);
        return rerank == 0
            ? WriteResults(segments, found, destination)
            : WriteResults(segments, Rerank<TDistance>(segments, scratch, q, found, Math.Max(rerank, destination.Length)), destination);
    }

    /// <summary>Codes the query with the snapshot's quantiser and walks the codes (greedy descent and layer 0); leaves W in <c>scratch.Results</c>.</summary>
    private void WalkCodes<TFilter>(
        NodeSegments segments, ScalarQuantizer quantizer, SearchScratch scratch, float* q, long entry, int limit, int ef, TFilter filter, bool bridgeRejected)
        where TFilter : struct, INodeFilter
    {
        fixed (byte* qc = scratch.QueryCode)
        {
            quantizer.EncodeQuery(q, qc);
            int length = quantizer.CodeBytes;
            (float factor, float bias) = (quantizer.Factor, quantizer.Bias);
            switch (quantizer.Kind, quantizer.Signed)
            {
                case (Quantization.Int8, false):
                    Walk(segments, new CodeSpace<OperatorSum<SquaredDifferenceU8>>(qc, length, factor, bias), scratch, entry, limit, ef, filter, bridgeRejected);
                    break;
                case (Quantization.Int8, true):
                    Walk(segments, new CodeSpace<OperatorSum<ProductS8>>(qc, length, factor, bias), scratch, entry, limit, ef, filter, bridgeRejected);
                    break;
                case (_, false):
                    Walk(segments, new CodeSpace<NibblePlaneSum<SquaredDifferenceU4>>(qc, length, factor, bias), scratch, entry, limit, ef, filter, bridgeRejected);
                    break;
                default:
                    Walk(segments, new CodeSpace<NibblePlaneSum<ProductS4>>(qc, length, factor, bias), scratch, entry, limit, ef, filter, bridgeRejected);
                    break;
            }
        }
    }

    /// <summary>
    /// The <paramref name="want"/> live nodes of <paramref name="found"/> (W, unsorted) nearest by code distance, with
    /// their exact float distances, nearest first by them. Their vectors are all loaded at once before measuring.
    /// </summary>
    private Span<Candidate> Rerank<TDistance>(NodeSegments segments, SearchScratch scratch, float* q, Span<Candidate> found, int want)
        where TDistance : struct, IDistance
    {
        want = Math.Min(found.Length, want);
        Candidate[] exact = SelectionBuffers.Ensure(ref scratch.Reranked, want);
        int n = 0, selected = 0;
        for (int i = 0; i < found.Length && n < want; i++)
        {
            if (i == selected)
            {
                // The nearest of the rest, as many as are still wanted (more only when hidden nodes were skipped).
                NearestSelection.Select(found[i..], want - n);
                selected = i + Math.Min(want - n, found.Length - i);
            }

            int id = found[i].Id;
            if ((Volatile.Read(ref segments.Flags(id)) & NodeFlags.Deleted) == 0)
            {
                exact[n++] = found[i];
                WalkSpace.Prefetch(segments.Vector(id), _prefetchLines);
            }
        }

        for (int i = 0; i < n; i++)
        {
            int id = exact[i].Id;
            exact[i] = new Candidate(Distance<TDistance>(q, segments.Vector(id)), id);
        }

        // Insertion sort: the walk's order is close to the exact one, and Span.Sort would box its comparer.
        for (int i = 1; i < n; i++)
        {
            Candidate c = exact[i];
            int j = i - 1;
            for (; j >= 0 && default(ByDistance).Compare(exact[j], c) > 0; j--)
            {
                exact[j + 1] = exact[j];
            }

            exact[j + 1] = c;
        }

        return exact.AsSpan(0, n);
    }

    /// <summary>The greedy descent to layer 1 and SEARCH-LAYER on layer 0, in <paramref name="space"/>; leaves W in <c>scratch.Results</c>.</summary>
    private void Walk<TSpace, TFilter>(
        NodeSegments segments, TSpace space, SearchScratch scratch, long entry, int limit, int ef, TFilter filter, bool bridgeRejected)
        where TSpace : struct, IWalkSpace
        where TFilter : struct, INodeFilter
    {
        Candidate nearest = Descend(segments, space, entry, 0, limit, scratch.Links);
        StartLayerSearch(scratch, limit, [nearest], filter, segments, ef);
        if (bridgeRejected)
        {
            SearchLayer<TSpace, TFilter, BridgingWalk>(segments, space, 0, ef, filter, scratch);
        }
        else
        {
            SearchLayer<TSpace, TFilter, PlainWalk>(segments, space, 0, ef, filter, scratch);
        }
    }

    /// <summary>
    /// Range search: every accepted node within <paramref name="radius"/> the walk can find, in
    /// <c>scratch.InRange</c> (unsorted; the caller sorts and checks the flags again). The greedy descent is K-NN-SEARCH's;
    /// on layer 0 a candidate within the radius is always expanded, and one beyond it only while it is among the
    /// <paramref name="ef"/> nearest met so far (SEARCH-LAYER's rule), so the walk follows the radius's region wherever
    /// it extends and then stops as a search of breadth ef would. Approximate as the graph is: a node within the radius
    /// that is reachable only through nodes beyond it, and beyond the ef nearest, is missed.
    /// </summary>
    /// <returns>How many nodes were found.</returns>
    public int RangeSearch<TDistance, TFilter>(SearchScratch scratch, float radius, int ef, TFilter filter, CancellationToken cancellationToken)
        where TDistance : struct, IDistance
        where TFilter : struct, INodeFilter
    {
        long entry = Volatile.Read(ref _entry);
        if (entry < 0)
        {
            return 0;
        }

        int limit = NodeCount;
        NodeSegments segments = Segments;
        int found = 0;
        fixed (float* q = scratch.Query)
        {
            Candidate nearest = Descend(segments, new FloatSpace<TDistance>(q, PaddedDimensions, _prefetchLines), entry, 0, limit, scratch.Links);

            StartLayerSearch(scratch, limit, [nearest], filter, segments, ef);
            if (nearest.Distance <= radius && filter.Accept(segments, nearest.Id))
            {
                SelectionBuffers.Ensure(ref scratch.InRange, 1)[found++] = nearest;
            }

            BinaryHeap<NearestFirst> candidates = scratch.Candidates;
            BinaryHeap<FurthestFirst> results = scratch.Results;
            int[] links = scratch.Links;
            int[] reached = scratch.Reached;
            while (candidates.Count > 0)
            {
                Candidate c = candidates.Pop();
                if (c.Distance > radius && results.Count >= ef && c.Distance > results.Top.Distance)
                {
                    break;
                }

                cancellationToken.ThrowIfCancellationRequested();
                if (candidates.Count > 0)
                {
                    Prefetch(segments.Layer0Record(candidates.Top.Id));
                }

                int count = ReadLinks(segments, c.Id, 0, links);
                int n = 0;
                for (int j = 0; j < count; j++)
                {
                    int e = links[j];
                    if (scratch.Visited.TryVisit(e))
                    {
                        reached[n++] = e;
                        WalkSpace.Prefetch(segments.Vector(e), _prefetchLines);
                    }
                }

                for (int j = 0; j < n; j++)
                {
                    int e = reached[j];
                    float d = Distance<TDistance>(q, segments.Vector(e));
                    bool within = d <= radius;
                    if (within || results.Count < ef || d < results.Top.Distance)
                    {
                        candidates.Push(d, e);
                        if (filter.Accept(segments, e))
                        {
                            results.Push(d, e);
                            if (results.Count > ef)
                            {
                                results.Pop();
                            }

                            if (within)
                            {
                                SelectionBuffers.Ensure(ref scratch.InRange, found + 1)[found++] = new Candidate(d, e);
                            }
                        }
                    }
                }
            }
        }

        return found;
    }

    /// <summary>
    /// The exact answer: every node below the count the filter accepts, scanned with the kernel. The plan for a filter
    /// that passes very few nodes, and the fallback when the graph walk finds fewer results than asked (a filter or
    /// removals that reject most nodes), so the API's promise "fewer than k only when fewer than k pass" holds.
    /// </summary>
    public int ExactSearch<TDistance, TFilter>(SearchScratch scratch, TFilter filter, Span<SearchResult> destination)
        where TDistance : struct, IDistance
        where TFilter : struct, INodeFilter
    {
        int limit = NodeCount;
        NodeSegments segments = Segments;
        scratch.Results.Clear();
        fixed (float* q = scratch.Query)
        {
            for (int id = 0; id < limit; id++)
            {
                if (filter.Accept(segments, id))
                {
                    Offer(scratch.Results, destination.Length, Distance<TDistance>(q, segments.Vector(id)), id);
                }
            }
        }

        return WriteResults(segments, scratch.Results.MoveTo(ref scratch.Found), destination);
    }

    /// <summary>The exact answer among the nodes <paramref name="ids"/> (a caller's allowed keys): those the filter accepts.</summary>
    public int ExactSearch<TDistance, TFilter>(SearchScratch scratch, ReadOnlySpan<int> ids, TFilter filter, Span<SearchResult> destination)
        where TDistance : struct, IDistance
        where TFilter : struct, INodeFilter
    {
        int limit = NodeCount;
        NodeSegments segments = Segments;
        scratch.Results.Clear();
        fixed (float* q = scratch.Query)
        {
            foreach (int id in ids)
            {
                if ((uint)id < (uint)limit && filter.Accept(segments, id))
                {
                    Offer(scratch.Results, destination.Length, Distance<TDistance>(q, segments.Vector(id)), id);
                }
            }
        }

        return WriteResults(segments, scratch.Results.MoveTo(ref scratch.Found), destination);
    }

    /// <summary>
    /// The share of live nodes the filter accepts, estimated from up to <paramref name="samples"/> nodes spread over
    /// the ids by a golden-ratio sequence (no periodic key pattern aliases with it). Deterministic for a given node
    /// count, so the same search on the same index takes the same plan. 1 when no sampled node is live.
    /// </summary>
    public double EstimatePassRate<TFilter>(TFilter filter, int samples = 128)
        where TFilter : struct, INodeFilter
    {
        int n = NodeCount;
        NodeSegments segments = Segments;
        int live = 0, accepted = 0;
        for (int i = 1; i <= samples && i <= n; i++)
        {
            int id = (int)(((((ulong)i * 0x9E3779B97F4A7C15UL) >> 32) * (uint)n) >> 32);
            if ((Volatile.Read(ref segments.Flags(id)) & NodeFlags.Deleted) != 0)
            {
                continue;
            }

            live++;
            accepted += filter.Accept(segments, id) ? 1 : 0;
        }

        // Half a hit when none was seen: "rare", not "impossible".
        return live == 0 ? 1 : Math.Max(accepted, 0.5) / live;
    }

    private static void Offer(BinaryHeap<FurthestFirst> results, int k, float distance, int id)
    {
        if (results.Count < k)
        {
            results.Push(distance, id);
        }
        else if (distance < results.Top.Distance)
        {
            results.ReplaceTop(distance, id);
        }
    }

    /// <summary>
    /// Writes the keys of the nearest live nodes of <paramref name="found"/> (all of W, or the re-ranked best of it),
    /// nearest first. <paramref name="found"/> need not be sorted: it is sorted as far as it is read.
    /// </summary>
    private static int WriteResults(NodeSegments segments, Span<Candidate> found, Span<SearchResult> destination)
    {
        // A node hidden since it was met gives its place to the next one.
        int written = 0, sorted = 0;
        for (int i = 0; i < found.Length && written < destination.Length; i++)
        {
            if (i == sorted)
            {
                int want = destination.Length - written;
                NearestSelection.SortNearest(found[i..], want);
                sorted = i + Math.Min(want, found.Length - i);
            }

            // Checked again at the end: a node that a compaction moved (or a key an add replaced) may have been met
            // under its old and its new id. The old one is hidden before the new one shows, so read after the switch
            // only the new one counts; a read of each on either side of it is the index's to fix (a handover).
            int id = found[i].Id;
            if ((Volatile.Read(ref segments.Flags(id)) & NodeFlags.Deleted) == 0)
            {
                destination[written++] = new SearchResult(segments.Key(id), found[i].Distance);
            }
        }

        return written;
    }

    /// <summary>Starts SEARCH-LAYER from the entry points <paramref name="entries"/>: v, C and W of algorithm 2.</summary>
    private static void StartLayerSearch<TFilter>(
        SearchScratch scratch, int limit, ReadOnlySpan<Candidate> entries, TFilter filter, NodeSegments segments, int ef)
        where TFilter : struct, INodeFilter
    {
        scratch.Visited.Reset(limit);
        scratch.Candidates.Clear();
        scratch.Results.Clear();
        foreach (Candidate c in entries)
        {
            scratch.Visited.TryVisit(c.Id);
            scratch.Candidates.Push(c.Distance, c.Id);
            if (filter.Accept(segments, c.Id))
            {
                scratch.Results.Push(c.Distance, c.Id);
                if (scratch.Results.Count > ef)
                {
                    scratch.Results.Pop();
                }
            }
        }
    }

    /// <summary>
    /// SEARCH-LAYER (algorithm 2), from the state <see cref="StartLayerSearch"/> left in <paramref name="scratch"/>:
    /// expand the nearest candidate until it is further than the furthest of the <paramref name="ef"/> results. Only
    /// nodes the filter accepts enter the results.
    /// <para>
    /// <typeparamref name="TWalk"/> says what a rejected neighbour does. <see cref="PlainWalk"/>: it is measured and
    /// routes the walk like any other (the paper's algorithm). <see cref="BridgingWalk"/> (layer 0, for selective
    /// filters, after ACORN-1, Patel et al., SIGMOD 2024): it is neither measured nor a candidate; the walk looks
    /// through it to its own neighbours and takes the accepted ones, up to M0 per expansion, so no distance is spent
    /// on nodes that cannot be results and the accepted nodes stay connected through the rejected ones.
    /// </para>
    /// <para>
    /// Each expansion starts all its loads at once so the cache misses overlap: the next candidate's list, then the
    /// vectors of the neighbours it will measure (and, bridging, the lists of the rejected ones, then the vectors
    /// behind them), and only then the distances. The visited set refuses ids at or past its limit (nodes newer than
    /// this search, or garbage in an unverified mapped file): those are never touched, not even by a prefetch.
    /// </para>
    /// </summary>
    private void SearchLayer<TSpace, TFilter, TWalk>(NodeSegments segments, TSpace space, int level, int ef, TFilter filter, SearchScratch scratch)
        where TSpace : struct, IWalkSpace
        where TFilter : struct, INodeFilter
        where TWalk : struct, ILayerWalk
    {
        Debug.Assert(level == 0 || !TWalk.LooksThroughRejected, "the bridging walk runs on layer 0");
        BinaryHeap<NearestFirst> candidates = scratch.Candidates;
        BinaryHeap<FurthestFirst> results = scratch.Results;
        VisitedSet visited = scratch.Visited;
        int[] links = scratch.Links;
        int[] reached = scratch.Reached;
        int[] rejected = scratch.Rejected;
        int[] bridge = scratch.BridgeLinks;

        while (candidates.Count > 0)
        {
            Candidate c = candidates.Pop();
            if (results.Count >= ef && c.Distance > results.Top.Distance)
            {
                break;
            }

            // The next candidate's list is read after this expansion (unless it finds nearer ones): load it meanwhile.
            if (level == 0 && candidates.Count > 0)
            {
                Prefetch(segments.Layer0Record(candidates.Top.Id));
            }

            int count = ReadLinks(segments, c.Id, level, links);
            int n = 0, r = 0;
            for (int j = 0; j < count; j++)
            {
                int e = links[j];
                if (!visited.TryVisit(e))
                {
                    continue;
                }

                if (!TWalk.LooksThroughRejected || filter.Accept(segments, e))
                {
                    reached[n++] = e;
                    space.Prefetch(segments, e);
                }
                else
                {
                    // Rejected: marked visited above, so its list is looked through once per search.
                    rejected[r++] = e;
                    Prefetch(segments.Layer0Record(e));
                }
            }

            if (TWalk.LooksThroughRejected)
            {
                for (int j = 0; j < r && n < reached.Length; j++)
                {
                    int bridged = ReadLinks(segments, rejected[j], 0, bridge);
                    for (int i = 0; i < bridged && n < reached.Length; i++)
                    {
                        int f = bridge[i];
                        if ((uint)f < (uint)visited.Limit && filter.Accept(segments, f) && visited.TryVisit(f))
                        {
                            reached[n++] = f;
                            space.Prefetch(segments, f);
                        }
                    }
                }
            }

            for (int j = 0; j < n; j++)
            {
                int e = reached[j];
                float d = space.Distance(segments, e);
                if (results.Count < ef || d < results.Top.Distance)
                {
                    // A candidate nearer than every other is the next to expand: load its list during the rest of
                    // this expansion (the one prefetched above is no longer next).
                    if (level == 0 && (candidates.Count == 0 || d < candidates.Top.Distance))
                    {
                        Prefetch(segments.Layer0Record(e));
                    }

                    candidates.Push(d, e);

                    // The bridging walk reached accepted nodes only. A full W drops its furthest for the nearer one.
                    if (TWalk.LooksThroughRejected || filter.Accept(segments, e))
                    {
                        if (results.Count < ef)
                        {
                            results.Push(d, e);
                        }
                        else
                        {
                            results.ReplaceTop(d, e);
                        }
                    }
                }
            }
        }
    }

    /// <summary>
    /// The greedy descent of K-NN-SEARCH and INSERT: from the packed <paramref name="entry"/> point down to layer
    /// <paramref name="level"/> (exclusive of the layers at and below it), SEARCH-LAYER with ef = 1 on each layer above.
    /// </summary>
    private Candidate Descend<TSpace>(NodeSegments segments, TSpace space, long entry, int level, int limit, int[] links)
        where TSpace : struct, IWalkSpace
    {
        int ep = (int)entry;
        var nearest = new Candidate(space.Distance(segments, ep), ep);
        for (int lc = (int)(entry >> 32); lc > level; lc--)
        {
            nearest = GreedyClosest(segments, space, nearest, lc, limit, links);
        }

        return nearest;
    }

    /// <summary>SEARCH-LAYER with ef = 1 on an upper layer, as a plain greedy walk: move to a nearer neighbour until none is.</summary>
    private Candidate GreedyClosest<TSpace>(NodeSegments segments, TSpace space, Candidate current, int level, int limit, int[] links)
        where TSpace : struct, IWalkSpace
    {
        bool moved = true;
        while (moved)
        {
            moved = false;
            int count = ReadLinks(segments, current.Id, level, links);
            for (int j = 0; j < count; j++)
            {
                int e = links[j];
                if ((uint)e >= (uint)limit)
                {
                    continue; // added after this walk started
                }

                float d = space.Distance(segments, e);
                if (d < current.Distance)
                {
                    current = new Candidate(d, e);
                    moved = true;
                }
            }
        }

        return current;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Prefetch(void* p)
    {
        if (Sse.IsSupported)
        {
            Sse.Prefetch0(p);
            Sse.Prefetch0((byte*)p + 64);
        }
    }
}
