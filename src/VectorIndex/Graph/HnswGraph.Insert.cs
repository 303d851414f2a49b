using System.Diagnostics;
using VectorIndex.Distance;
using VectorIndex.Internal;
using VectorIndex.Selection;
using VectorIndex.Storage;

namespace VectorIndex.Graph;

/// <summary>INSERT (algorithm 1) and the linking it does: the write side of the graph.</summary>
internal sealed unsafe partial class HnswGraph
{
    /// <summary>
    /// INSERT: descend greedily to the node's level, then on each layer from there down to 0 run SEARCH-LAYER with
    /// efConstruction, select M neighbours and write them into the node's own list, seeding the next layer with this
    /// layer's results. Only then is the node published, layer 0 first: each selected neighbour gets the reverse link
    /// (re-pruning any list that overflows). A node above the top level becomes the entry point.
    /// </summary>
    /// <remarks>
    /// Why publish bottom-up: a walk that reaches a node on layer L descends through it to layer L-1 and below. Were
    /// the node linked top-down (as the paper writes it), a walk could reach it on layer 1 while its layer-0 list is
    /// still empty and end there: an insert that did so linked itself to that one far node, and was then unreachable
    /// in practice (seen as self-search misses after multi-threaded builds). Publishing layer 0 first means every
    /// node a walk can reach on layer L already has all its lists from L down to 0. A node that raises the top level
    /// holds <c>_entryLock</c> for its whole insert (as hnswlib holds its global lock), so two such nodes never miss
    /// each other on the new layers.
    /// </remarks>
    private void Insert<TDistance>(int id, int level, SearchScratch scratch)
        where TDistance : struct, IDistance
    {
        long entry = Volatile.Read(ref _entry);
        if (entry >= 0 && level <= (int)(entry >> 32))
        {
            Link<TDistance>(id, level, entry, scratch);
            return;
        }

        lock (_entryLock)
        {
            entry = Volatile.Read(ref _entry);
            if (entry >= 0)
            {
                Link<TDistance>(id, level, entry, scratch);
            }

            if (entry < 0 || level > (int)(entry >> 32))
            {
                Volatile.Write(ref _entry, Pack(id, level));
            }
        }
    }

    /// <summary>The body of INSERT from the entry point <paramref name="entry"/> read by the caller.</summary>
    private void Link<TDistance>(int id, int level, long entry, SearchScratch scratch)
        where TDistance : struct, IDistance
    {
        // Storage first: the entry point and every id in a published list is below this snapshot's capacity. Nodes
        // allocated after this insert began are visited too (once some list links them they are fully written):
        // an insert that could not see newer nodes linked itself to older ones only, and lost its inbound links
        // when those lists were re-pruned around the newer nodes.
        NodeSegments segments = Segments;
        int limit = segments.Capacity;
        float* q = segments.Vector(id);
        int top = (int)(entry >> 32);
        var space = new FloatSpace<TDistance>(q, PaddedDimensions, _prefetchLines);
        Candidate nearest = Descend(segments, space, entry, level, limit, scratch.Links);

        SelectionBuffers buffers = scratch.Insert;
        buffers.EnsureAll(EfConstruction);
        buffers.Candidates[0] = nearest;
        int entryCount = 1;
        int linkedTop = Math.Min(top, level);
        for (int lc = linkedTop; lc >= 0; lc--)
        {
            StartLayerSearch(scratch, limit, buffers.Candidates.AsSpan(0, entryCount), default(AnyNode), segments, EfConstruction);
            scratch.Visited.TryVisit(id); // other inserts may already link to this node: never link it to itself
            SearchLayer<FloatSpace<TDistance>, AnyNode, PlainWalk>(segments, space, lc, EfConstruction, default, scratch);

            // W, nearest first.
            int found = scratch.Results.Count;
            buffers.EnsureAll(found);
            for (int i = found - 1; i >= 0; i--)
            {
                buffers.Candidates[i] = scratch.Results.Pop();
            }

            int candidateCount = ExtendCandidates ? Extend<TDistance>(segments, q, id, lc, limit, found, scratch) : found;
            int keptCount = NeighborSelector.Select<TDistance>(
                Selection, segments, buffers.Candidates.AsSpan(0, candidateCount), M, KeepPrunedConnections, buffers.Kept, buffers.Discarded);

            // The node's own list: nobody reaches the node on this layer before the reverse links below.
            for (int i = 0; i < keptCount; i++)
            {
                AddLink<TDistance>(id, lc, buffers.Kept[i].Id, scratch);
            }

            entryCount = Math.Min(candidateCount, EfConstruction);
        }

        // Publish, layer 0 first. The own list of layer lc is read back before anything links the node on lc, so it
        // is still the selection (afterwards other inserts may append to it and re-prune it).
        int[] own = scratch.Links;
        for (int lc = 0; lc <= linkedTop; lc++)
        {
            int count = ReadLinks(segments, id, lc, own);
            for (int i = 0; i < count; i++)
            {
                AddLink<TDistance>(own[i], lc, id, scratch);
            }
        }
    }

    /// <summary>
    /// extendCandidates of algorithm 4: adds the neighbours (on layer <paramref name="level"/>) of the
    /// <paramref name="found"/> candidates, then sorts all nearest first. Returns the new candidate count.
    /// </summary>
    private int Extend<TDistance>(NodeSegments segments, float* q, int self, int level, int limit, int found, SearchScratch scratch)
        where TDistance : struct, IDistance
    {
        SelectionBuffers buffers = scratch.Insert;
        VisitedSet seen = scratch.Visited;
        seen.Reset(limit);
        seen.TryVisit(self);
        for (int i = 0; i < found; i++)
        {
            seen.TryVisit(buffers.Candidates[i].Id);
        }

        int count = found;
        for (int i = 0; i < found; i++)
        {
            int linkCount = ReadLinks(segments, buffers.Candidates[i].Id, level, scratch.Links);
            for (int j = 0; j < linkCount; j++)
            {
                int a = scratch.Links[j];
                if (seen.TryVisit(a))
                {
                    SelectionBuffers.Ensure(ref buffers.Candidates, count + 1)[count++] =
                        new Candidate(Distance<TDistance>(q, segments.Vector(a)), a);
                }
            }
        }

        buffers.EnsureAll(count);
        buffers.Candidates.AsSpan(0, count).Sort(default(ByDistance));
        return count;
    }

    /// <summary>
    /// Adds the link <paramref name="from"/> -&gt; <paramref name="to"/> on <paramref name="level"/>. When the list is
    /// full, the list plus the new link are re-pruned to capacity with the configured selection, with
    /// <paramref name="from"/> as the base element (the paper's "shrink connections"). With
    /// <paramref name="orphanGuard"/>, layer 0 keeps in-degrees and never drops a node's last inbound link.
    /// </summary>
    private void AddLink<TDistance>(int from, int level, int to, SearchScratch scratch, bool orphanGuard = true)
        where TDistance : struct, IDistance
    {
        int capacity = level == 0 ? M0 : M;
        ref int record = ref Record(Segments, from, level);
        LinkRecord.Lock(ref record);
        try
        {
            // The snapshot after the lock: the list may link to nodes allocated after the caller took its snapshot
            // (their storage was published before they were linked, and the lock orders this read after that link).
            NodeSegments segments = Segments;
            Debug.Assert(from < segments.Capacity && to < segments.Capacity, "both ends of a link have storage");
            ReadOnlySpan<int> current = LinkRecord.Locked(ref record, capacity);
            if (current.Contains(to))
            {
                return;
            }

            if (current.Length < capacity)
            {
                LinkRecord.Append(ref record, to);
                if (level == 0 && orphanGuard)
                {
                    Interlocked.Increment(ref segments.InDegree(to));
                }

                return;
            }

            // Readers keep reading the old list while this is computed; only Replace makes them retry.
            SelectionBuffers buffers = scratch.Prune;
            buffers.EnsureAll(capacity + 1);
            float* baseVector = segments.Vector(from);
            for (int i = 0; i < current.Length; i++)
            {
                buffers.Candidates[i] = new Candidate(Distance<TDistance>(baseVector, segments.Vector(current[i])), current[i]);
            }

            buffers.Candidates[capacity] = new Candidate(Distance<TDistance>(baseVector, segments.Vector(to)), to);
            Span<Candidate> all = buffers.Candidates.AsSpan(0, capacity + 1);
            all.Sort(default(ByDistance));
            int kept = NeighborSelector.Select<TDistance>(
                Selection, segments, all, capacity, KeepPrunedConnections, buffers.Kept, buffers.Discarded);
            if (level == 0 && orphanGuard)
            {
                kept = KeepLastInboundLinks(segments, all, current, to, buffers.Kept.AsSpan(0, capacity), kept, scratch);
            }

            for (int i = 0; i < kept; i++)
            {
                buffers.Ids[i] = buffers.Kept[i].Id;
            }

            if (level == 0 && orphanGuard)
            {
                if (buffers.Ids.AsSpan(0, kept).Contains(to))
                {
                    Interlocked.Increment(ref segments.InDegree(to));
                }

                foreach (int old in current)
                {
                    if (!buffers.Ids.AsSpan(0, kept).Contains(old) && !TryDropInbound(segments, old, scratch))
                    {
                        // Another list dropped its other inbound link meanwhile: this is its last one, keep it.
                        kept = KeepInstead(segments, buffers.Ids, kept, capacity, old, scratch);
                    }
                }
            }

            Span<int> next = buffers.Ids.AsSpan(0, kept);
            LinkRecord.Replace(ref record, next);
        }
        finally
        {
            LinkRecord.Unlock(ref record);
        }
    }

    /// <summary>
    /// The heuristic may drop a node's last inbound link on layer 0, leaving it unreachable (a known weakness of
    /// hnswlib). A dropped neighbour that nobody else links to (or a new node no list has accepted yet) is kept
    /// instead: in a free slot, or in place of the furthest kept neighbour that other nodes still link to. Returns the
    /// new kept count.
    /// </summary>
    private int KeepLastInboundLinks(
        NodeSegments segments, ReadOnlySpan<Candidate> all, ReadOnlySpan<int> current, int added, Span<Candidate> kept, int keptCount, SearchScratch scratch)
    {
        foreach (Candidate c in all)
        {
            // An existing neighbour this list may drop, or the new node that no list has accepted yet.
            bool orphaned = c.Id == added ? Volatile.Read(ref segments.InDegree(c.Id)) == 0 : !CanSpareInbound(segments, c.Id, scratch);
            if (!orphaned || IndexOf(kept[..keptCount], c.Id) >= 0)
            {
                continue;
            }

            if (keptCount < kept.Length)
            {
                kept[keptCount++] = c;
                continue;
            }

            for (int i = keptCount - 1; i >= 0; i--)
            {
                int replaced = kept[i].Id;
                bool otherwiseLinked = current.Contains(replaced) ? CanSpareInbound(segments, replaced, scratch) : Volatile.Read(ref segments.InDegree(replaced)) > 0;
                if (otherwiseLinked)
                {
                    kept[i] = c;
                    break;
                }
            }
        }

        return keptCount;
    }

    /// <summary>
    /// Whether <paramref name="id"/> can lose one inbound layer-0 link and stay reachable, as far as in-degrees tell:
    /// it has another, and that other is not only the link back from a neighbour whose one inbound link is from
    /// <paramref name="id"/> (such a pair would keep each other's count at one and be cut off together; seen under
    /// inner product, where two long vectors cover each other in every other list).
    /// </summary>
    private bool CanSpareInbound(NodeSegments segments, int id, SearchScratch scratch)
    {
        int v = Volatile.Read(ref segments.InDegree(id));
        return v > 2 || (v == 2 && !PairedOnlyWithItsOwn(segments, id, scratch));
    }

    /// <summary>Whether a neighbour of <paramref name="id"/> has <paramref name="id"/> as its one inbound link and links back.</summary>
    private bool PairedOnlyWithItsOwn(NodeSegments segments, int id, SearchScratch scratch)
    {
        int[] mine = scratch.BridgeLinks, theirs = scratch.Rejected;
        int count = ReadLinks(segments, id, 0, mine);
        for (int i = 0; i < count; i++)
        {
            int x = mine[i];
            if ((uint)x < (uint)segments.Capacity && Volatile.Read(ref segments.InDegree(x)) == 1 &&
                theirs.AsSpan(0, ReadLinks(segments, x, 0, theirs)).Contains(id))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Takes one inbound layer-0 link away from <paramref name="id"/> unless it cannot spare it (see
    /// <see cref="CanSpareInbound"/>): a compare-and-swap, so two lists pruning the same node at once cannot both drop
    /// what they each saw as "one of two" links.
    /// </summary>
    private bool TryDropInbound(NodeSegments segments, int id, SearchScratch scratch)
    {
        ref int inDegree = ref segments.InDegree(id);
        while (true)
        {
            int v = Volatile.Read(ref inDegree);
            if (v <= 1 || (v == 2 && PairedOnlyWithItsOwn(segments, id, scratch)))
            {
                return false;
            }

            if (Interlocked.CompareExchange(ref inDegree, v - 1, v) == v)
            {
                return true;
            }
        }
    }

    /// <summary>
    /// Puts <paramref name="orphan"/> back into the pruned list <paramref name="ids"/>: in a free slot, or in place of
    /// the furthest kept neighbour that can spare this inbound link. Returns the list's new length.
    /// </summary>
    private int KeepInstead(NodeSegments segments, int[] ids, int count, int capacity, int orphan, SearchScratch scratch)
    {
        if (count < capacity)
        {
            ids[count] = orphan;
            return count + 1;
        }

        for (int i = count - 1; i >= 0; i--)
        {
            if (TryDropInbound(segments, ids[i], scratch))
            {
                ids[i] = orphan;
                return count;
            }
        }

        // Every kept neighbour is someone's last link too: nothing can be spared, and the orphan's link goes.
        Interlocked.Decrement(ref segments.InDegree(orphan));
        return count;
    }

    private static int IndexOf(ReadOnlySpan<Candidate> candidates, int id)
    {
        for (int i = 0; i < candidates.Length; i++)
        {
            if (candidates[i].Id == id)
            {
                return i;
            }
        }

        return -1;
    }

    private static long Pack(int id, int level) => ((long)level << 32) | (uint)id;
}
