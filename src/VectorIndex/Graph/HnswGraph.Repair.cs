using VectorIndex.Distance;
using VectorIndex.Internal;
using VectorIndex.Selection;
using VectorIndex.Storage;

namespace VectorIndex.Graph;

/// <summary>
/// Compaction, part 1: the repair that makes deleted nodes (removed or replaced) leave the graph.
/// <see cref="RepairAroundDeleted"/> rebuilds every live list that links to a deleted node from its live neighbours and
/// the live neighbours of its deleted ones, selected with the index's selection (the paper's heuristic by default) down
/// to capacity, in rounds that give the same graph on every run; a deleted entry point is replaced by a live node of
/// the top level; then no live list links to a deleted node, so no search that starts later can reach one, and
/// <see cref="ReconnectUnreachable()"/> links any live node left without a path from the entry point.
/// Part 2, the reuse of the slots, is HnswGraph.Relocate.cs. The caller keeps writers out for the whole of it (the
/// index's write gate); searches go on.
/// </summary>
internal sealed unsafe partial class HnswGraph
{
    /// <summary>The nodes that are deleted but still in the graph: what the next compaction unlinks.</summary>
    public List<int> DeletedNodes()
    {
        var deleted = new List<int>();
        int n = NodeCount;
        NodeSegments s = Segments;
        for (int id = 0; id < n; id++)
        {
            if ((s.Flags(id) & (NodeFlags.Deleted | NodeFlags.Free)) == NodeFlags.Deleted)
            {
                deleted.Add(id);
            }
        }

        return deleted;
    }

    /// <summary>
    /// Rebuilds every live list that links to a node in <paramref name="deleted"/> (on all layers, in parallel) and moves
    /// the entry point off a deleted node. Writers must be kept out by the caller.
    /// </summary>
    /// <param name="deleted">The deleted nodes to unlink.</param>
    /// <param name="maxDegreeOfParallelism">Threads to use; 0 or less means all cores.</param>
    /// <param name="cancellationToken">Checked between two rounds.</param>
    /// <param name="progress">Called after each round with the lists checked so far and the lists to check in all (a live node's list on each of its layers).</param>
    /// <returns>False when cancelled between two rounds: the graph is whole, and the deleted nodes still in it.</returns>
    public bool RepairAroundDeleted(
        IReadOnlyList<int> deleted, int maxDegreeOfParallelism, CancellationToken cancellationToken = default, Action<int, int>? progress = null) =>
        UsesL2
            ? RepairAroundDeleted<L2SquaredDistance>(deleted, maxDegreeOfParallelism, cancellationToken, progress)
            : RepairAroundDeleted<InnerProductDistance>(deleted, maxDegreeOfParallelism, cancellationToken, progress);

    /// <summary>
    /// Makes every live node reachable on layer 0 from the entry point again: a breadth-first pass marks what is
    /// reachable; each live node left over is linked from its nearest reachable node (found by a walk from the entry
    /// point, which only meets reachable nodes) and in turn marks what it reaches.
    /// </summary>
    private void ReconnectUnreachable<TDistance>(NodeSegments segments, bool[] isDeleted)
        where TDistance : struct, IDistance
    {
        int entry = EntryPoint;
        if (entry < 0)
        {
            return;
        }

        int n = isDeleted.Length;
        var reached = new bool[n];
        var pending = new Stack<int>();
        SearchScratch scratch = RentScratch();
        try
        {
            MarkReachable(segments, entry, reached, pending, scratch.Links);
            for (int id = 0; id < n; id++)
            {
                if (reached[id] || isDeleted[id] || IsFree(id))
                {
                    continue;
                }

                float* q = segments.Vector(id);
                StartLayerSearch(scratch, n, [new Candidate(Distance<TDistance>(q, segments.Vector(entry)), entry)], default(AnyNode), segments, M0);
                scratch.Visited.TryVisit(id);
                SearchLayer<FloatSpace<TDistance>, AnyNode, PlainWalk>(segments, new FloatSpace<TDistance>(q, PaddedDimensions, _prefetchLines), 0, M0, default, scratch);
                // Nearest first, link from each found node until one keeps the link (a full list may prune it away).
                ReadOnlySpan<Candidate> byDistance = scratch.Results.DrainAllNearestFirst(ref scratch.Insert.Candidates);
                for (int i = 0; i < byDistance.Length; i++)
                {
                    AddLink<TDistance>(byDistance[i].Id, 0, id, scratch);
                    if (LinksTo(segments, byDistance[i].Id, id, scratch.BridgeLinks))
                    {
                        break;
                    }
                }

                MarkReachable(segments, id, reached, pending, scratch.Links);
            }
        }
        finally
        {
            ReturnScratch(scratch);
        }
    }

    /// <summary>
    /// Links every node that has no path from the entry point on layer 0 from its nearest reachable node. The
    /// heuristic can cut a few nodes off during a build (a pair that each prune the other's other inbound links: seen
    /// under inner product, single-threaded too); a bulk add ends with this pass. Writers must be kept out.
    /// </summary>
    public void ReconnectUnreachable()
    {
        var none = new bool[NodeCount];
        if (UsesL2)
        {
            ReconnectUnreachable<L2SquaredDistance>(Segments, none);
        }
        else
        {
            ReconnectUnreachable<InnerProductDistance>(Segments, none);
        }
    }

    private bool LinksTo(NodeSegments segments, int from, int to, int[] links) =>
        links.AsSpan(0, ReadLinks(segments, from, 0, links)).Contains(to);

    private void MarkReachable(NodeSegments segments, int from, bool[] reached, Stack<int> pending, int[] links)
    {
        reached[from] = true;
        pending.Push(from);
        while (pending.TryPop(out int id))
        {
            int count = ReadLinks(segments, id, 0, links);
            foreach (int e in links.AsSpan(0, count))
            {
                if (!reached[e])
                {
                    reached[e] = true;
                    pending.Push(e);
                }
            }
        }
    }

    private bool RepairAroundDeleted<TDistance>(
        IReadOnlyList<int> deleted, int maxDegreeOfParallelism, CancellationToken cancellationToken, Action<int, int>? progress)
        where TDistance : struct, IDistance
    {
        int n = NodeCount;
        var isDeleted = new bool[n];
        foreach (int id in deleted)
        {
            isDeleted[id] = true;
        }

        int lists = 0, checkedLists = 0;
        for (int id = 0; id < n && progress is not null; id++)
        {
            lists += !isDeleted[id] && !IsFree(id) ? LevelOf(id) + 1 : 0;
        }

        NodeSegments segments = Segments;
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = maxDegreeOfParallelism <= 0 ? Environment.ProcessorCount : maxDegreeOfParallelism };
        var repair = new RepairRound(M0);
        for (int level = MaxLevel; level >= 0; level--)
        {
            var onLevel = new List<int>();
            for (int id = 0; id < n; id++)
            {
                if (!isDeleted[id] && !IsFree(id) && LevelOf(id) >= level)
                {
                    onLevel.Add(id);
                }
            }

            for (int first = 0; first < onLevel.Count; first += RepairRound.Size)
            {
                if (cancellationToken.IsCancellationRequested)
                {
                    // Between two rounds the graph is whole: the lists rebuilt so far no longer link to deleted nodes,
                    // the others still do, and deleted nodes still route. They stay deleted and pending; the in-degrees
                    // are recounted with their lists, and every node is made reachable again.
                    RecountInDegrees();
                    ReconnectUnreachable<TDistance>(segments, new bool[n]);
                    return false;
                }

                repair.Run<TDistance>(this, segments, onLevel, first, level, isDeleted, parallel);
                checkedLists += Math.Min(RepairRound.Size, onLevel.Count - first);
                progress?.Invoke(checkedLists, lists);
            }
        }

        // Only now, with every list repaired, may the entry point leave a deleted node: until then that node still
        // routes searches, and a repair cancelled between rounds leaves it where it was, on the top layer.
        MoveEntryOffDeleted(isDeleted);

        // The orphan guard of AddLink counts layer-0 in-links: recount them from the repaired lists, without the
        // deleted nodes' lists, which are about to be cleared.
        RecountInDegrees(isDeleted);

        // Rebuilt lists can leave a few live nodes, or small groups of them, with no path from the entry point.
        ReconnectUnreachable<TDistance>(segments, isDeleted);
        return true;
    }

    /// <summary>A live node of the highest level becomes the entry point when the current one is deleted; none when nothing lives.</summary>
    private void MoveEntryOffDeleted(bool[] isDeleted)
    {
        lock (_entryLock)
        {
            int ep = (int)_entry;
            if (_entry < 0 || !isDeleted[ep])
            {
                return;
            }

            int best = -1, bestLevel = -1;
            for (int id = 0; id < isDeleted.Length; id++)
            {
                if (!isDeleted[id] && !IsFree(id) && LevelOf(id) > bestLevel)
                {
                    best = id;
                    bestLevel = LevelOf(id);
                }
            }

            Volatile.Write(ref _entry, best < 0 ? -1 : Pack(best, bestLevel));
        }
    }

    /// <summary>
    /// The new list of <paramref name="id"/> on <paramref name="level"/> if it links to a deleted node, else -1: the
    /// candidates are the live nodes within two hops on the same layer (its neighbours and theirs, through deleted and
    /// live ones alike), selected down to capacity with the pruned ones filling what room is left. Measured on the
    /// churn test (remove half, add as many, remove a quarter): two hops through deleted neighbours only left recall
    /// 0.02-0.03 below a fresh build; through all neighbours it matches the fresh build, at up to M0 x M0 distances per
    /// rebuilt list. Only reads the graph.
    /// </summary>
    private int RebuildList<TDistance>(NodeSegments segments, int id, int level, bool[] isDeleted, SearchScratch scratch, Span<int> rebuilt)
        where TDistance : struct, IDistance
    {
        int capacity = level == 0 ? M0 : M;
        ReadOnlySpan<int> current = scratch.Links.AsSpan(0, ReadLinks(segments, id, level, scratch.Links));
        bool touched = false;
        foreach (int e in current)
        {
            touched |= isDeleted[e];
        }

        if (!touched)
        {
            return -1;
        }

        SelectionBuffers buffers = scratch.Prune;
        VisitedSet seen = scratch.Visited;
        seen.Reset(isDeleted.Length);
        seen.TryVisit(id);
        float* self = segments.Vector(id);
        int count = 0;
        foreach (int e in current)
        {
            if (!seen.TryVisit(e))
            {
                continue;
            }

            if (!isDeleted[e])
            {
                SelectionBuffers.Ensure(ref buffers.Candidates, count + 1)[count++] = new Candidate(Distance<TDistance>(self, segments.Vector(e)), e);
            }

            int bridged = ReadLinks(segments, e, level, scratch.BridgeLinks);
            foreach (int f in scratch.BridgeLinks.AsSpan(0, bridged))
            {
                if (!isDeleted[f] && !IsFree(f) && seen.TryVisit(f))
                {
                    SelectionBuffers.Ensure(ref buffers.Candidates, count + 1)[count++] = new Candidate(Distance<TDistance>(self, segments.Vector(f)), f);
                }
            }
        }

        buffers.EnsureAll(count);
        Span<Candidate> all = buffers.Candidates.AsSpan(0, count);
        all.Sort(default(ByDistance));
        int kept = NeighborSelector.Select<TDistance>(Selection, segments, all, capacity, keepPrunedConnections: true, buffers.Kept, buffers.Discarded);
        for (int i = 0; i < kept; i++)
        {
            rebuilt[i] = buffers.Kept[i].Id;
        }

        return kept;
    }

    /// <summary>
    /// One round of the repair over up to <see cref="Size"/> nodes of one layer. It gives the same graph however the
    /// threads are scheduled (so the seed's promise of the same graph from the same single-threaded calls holds):
    /// <list type="number">
    /// <item>in parallel, each touched list is rebuilt into a buffer from the graph as the last round left it (reads
    /// only);</item>
    /// <item>in node order, on one thread, the rebuilt lists replace the old ones;</item>
    /// <item>each link a list gained gets its reverse, as an insert would: in parallel over the receiving lists, each
    /// taking its new links in node order. The orphan guard is off here, as it reads in-degrees that other lists change
    /// meanwhile; the in-degrees are recounted and unreachable nodes relinked after the last round.</item>
    /// </list>
    /// </summary>
    private sealed class RepairRound(int maxLinks)
    {
        public const int Size = 4096;

        private readonly int[] _lists = new int[Size * maxLinks];
        private readonly int[] _counts = new int[Size];
        private readonly List<long> _reverse = [];
        private readonly List<int> _receivers = [];

        public void Run<TDistance>(HnswGraph graph, NodeSegments segments, List<int> ids, int first, int level, bool[] isDeleted, ParallelOptions parallel)
            where TDistance : struct, IDistance
        {
            int count = Math.Min(Size, ids.Count - first);
            int capacity = level == 0 ? graph.M0 : graph.M;
            Parallel.For(0, count, parallel, graph.RentScratch, (i, _, scratch) =>
            {
                _counts[i] = graph.RebuildList<TDistance>(segments, ids[first + i], level, isDeleted, scratch, _lists.AsSpan(i * capacity, capacity));
                return scratch;
            }, graph.ReturnScratch);

            // Receiver in the high half, giver in the low: sorted, each receiver's new links come together, in node order.
            _reverse.Clear();
            for (int i = 0; i < count; i++)
            {
                if (_counts[i] >= 0)
                {
                    int id = ids[first + i];
                    ReadOnlySpan<int> rebuilt = _lists.AsSpan(i * capacity, _counts[i]);
                    ref int record = ref graph.Record(segments, id, level);
                    LinkRecord.Lock(ref record);
                    foreach (int e in rebuilt)
                    {
                        if (!LinkRecord.Locked(ref record, capacity).Contains(e))
                        {
                            _reverse.Add(((long)e << 32) | (uint)id);
                        }
                    }

                    LinkRecord.Replace(ref record, rebuilt);
                    LinkRecord.Unlock(ref record);
                }
            }

            _reverse.Sort();
            _receivers.Clear();
            for (int i = 0; i < _reverse.Count; i++)
            {
                if (i == 0 || _reverse[i] >> 32 != _reverse[i - 1] >> 32)
                {
                    _receivers.Add(i);
                }
            }

            _receivers.Add(_reverse.Count);
            Parallel.For(0, _receivers.Count - 1, parallel, graph.RentScratch, (r, _, scratch) =>
            {
                for (int i = _receivers[r]; i < _receivers[r + 1]; i++)
                {
                    long link = _reverse[i];
                    graph.AddLink<TDistance>((int)(link >> 32), level, (int)link, scratch, orphanGuard: false);
                }

                return scratch;
            }, graph.ReturnScratch);
        }
    }
}
