using System.Diagnostics;
using VectorIndex.Distance;
using VectorIndex.Internal;
using VectorIndex.Selection;
using VectorIndex.Storage;

namespace VectorIndex.Graph;

/// <summary>
/// Compaction, part 2: the reuse of the deleted nodes' slots, after the repair (HnswGraph.Repair.cs) unlinked them.
/// <list type="number">
/// <item><see cref="WaitForReaders"/>: searches that started before the repair may still hold deleted ids; the
/// slots are not touched until every such search has left the epoch.</item>
/// <item><see cref="Free"/>: the slots are cleared and flagged free.</item>
/// <item><see cref="MoveTailIntoHoles"/> and <see cref="ReleaseTail"/>: the nodes above the live count move into the
/// free slots below it, and the node count and storage shrink to the live nodes, so memory (and a saved file) is what a
/// fresh build of the live vectors takes.</item>
/// </list>
/// The caller keeps writers out for the whole of it (the index's write gate); searches go on.
/// </summary>
internal sealed unsafe partial class HnswGraph
{
    /// <summary>Whether the slot is free (its node was deleted and unlinked).</summary>
    public bool IsFree(int id) => (Volatile.Read(ref Segments.Flags(id)) & NodeFlags.Free) != 0;

    /// <summary>How many slots are free (see <see cref="FreeSlots"/>).</summary>
    public int FreeCount => FreeSlots().Length;

    /// <summary>
    /// The free slots, lowest first, read from the flags. Between a compaction's <see cref="Free"/> and its
    /// <see cref="ReleaseTail"/> only; otherwise none, unless a file listed some (files written before compactions
    /// shrank), which the next compaction closes.
    /// </summary>
    public int[] FreeSlots()
    {
        var slots = new List<int>();
        int n = NodeCount;
        for (int id = 0; id < n; id++)
        {
            if (IsFree(id))
            {
                slots.Add(id);
            }
        }

        return [.. slots];
    }

    /// <summary>Clears the slots of unlinked deleted nodes and flags them free. Call after <see cref="WaitForReaders"/>.</summary>
    public void Free(IReadOnlyList<int> deleted)
    {
        NodeSegments s = Segments;
        foreach (int id in deleted)
        {
            Debug.Assert(IsDeleted(id) && id != EntryPoint, "only deleted nodes, repaired out of every list and off the entry point, are freed");
            ClearSlot(s, id, NodeFlags.Deleted | NodeFlags.Free);
        }
    }

    /// <summary>Empties a slot no reader can reach any more: no links, no upper lists, no in-links, the given flags.</summary>
    private static void ClearSlot(NodeSegments s, int id, byte flags)
    {
        ref int record = ref *s.Layer0Record(id);
        LinkRecord.Lock(ref record);
        LinkRecord.Replace(ref record, []);
        LinkRecord.Unlock(ref record);
        s.Upper(id) = null;
        s.InDegree(id) = 0;
        Volatile.Write(ref s.Flags(id), flags);
    }

    /// <summary>
    /// Moves the nodes above the live count into the free slots below it, so the live nodes fill 0..live-1 and
    /// <see cref="ReleaseTail"/> can give the rest back. Each moved node is copied whole into its hole, hidden; every
    /// list that links to it (and the entry point) is redirected to the copy; then the original is hidden before the
    /// copy shows (<c>WriteResults</c> re-checks both; a search that read them on either side of the switch is handled
    /// by the index as a handover). Call after <see cref="Free"/>, with writers kept out.
    /// </summary>
    /// <param name="from">The slot each node came from: <c>from[i]</c> moved to the i-th slot returned.</param>
    /// <returns>The slots that received a node: its key now lives there.</returns>
    public int[] MoveTailIntoHoles(out int[] from)
    {
        int n = NodeCount;
        int[] free = FreeSlots();
        int live = n - free.Length;
        int holes = 0;
        while (holes < free.Length && free[holes] < live)
        {
            holes++;
        }

        if (holes == 0)
        {
            from = [];
            return [];
        }

        NodeSegments s = Segments;
        int[] to = free[..holes];
        from = new int[holes];
        var movedTo = new int[n - live];
        var links = new int[M0];
        for (int src = live, i = 0; src < n; src++)
        {
            movedTo[src - live] = -1;
            if (IsFree(src))
            {
                continue;
            }

            from[i] = src;
            int dst = to[i++];
            movedTo[src - live] = dst;
            new Span<float>(s.Vector(src), PaddedDimensions).CopyTo(new Span<float>(s.Vector(dst), PaddedDimensions));
            if (s.Codes is { } codes)
            {
                new Span<byte>(s.Code(src), codes.Stride).CopyTo(new Span<byte>(s.Code(dst), codes.Stride));
            }
            s.Key(dst) = s.Key(src);
            s.Upper(dst) = s.Upper(src); // shared until the original's slot is cleared: the same node's lists
            s.InDegree(dst) = s.InDegree(src); // every link to the original becomes one to the copy
            ref int record = ref *s.Layer0Record(dst);
            int count = ReadLinks(s, src, 0, links);
            LinkRecord.Lock(ref record);
            LinkRecord.Replace(ref record, links.AsSpan(0, count));
            LinkRecord.Unlock(ref record);
            Volatile.Write(ref s.Flags(dst), (byte)(LevelOf(src) | NodeFlags.Deleted));
        }

        for (int id = 0; id < live; id++)
        {
            for (int level = 0; level <= LevelOf(id); level++)
            {
                Redirect(s, id, level, live, movedTo, links);
            }
        }

        lock (_entryLock)
        {
            if (_entry >= 0 && (int)_entry >= live)
            {
                Volatile.Write(ref _entry, Pack(movedTo[(int)_entry - live], MaxLevel));
            }
        }

        for (int src = live; src < n; src++)
        {
            if (movedTo[src - live] >= 0)
            {
                // The original becomes a free slot (searches that still hold it read its upper lists through the
                // array it shares with the copy, never its level).
                Volatile.Write(ref s.Flags(src), NodeFlags.Deleted | NodeFlags.Free);
                SetDeleted(movedTo[src - live], false);
            }
        }

        return to;
    }

    /// <summary>
    /// After <see cref="MoveTailIntoHoles"/> (and the key map's update to the new slots): lowers the node count to the
    /// live nodes and releases the storage above them, each step once no reader can still see the state before it
    /// (one that holds the old count may still read the moved originals; one that holds the old segment snapshot may
    /// still read the dropped segments). Writers must be kept out.
    /// </summary>
    public void ReleaseTail()
    {
        // The moves left every free slot above the live nodes.
        int n = NodeCount, live = n;
        while (live > 0 && IsFree(live - 1))
        {
            live--;
        }

        if (live == n)
        {
            return;
        }

        Volatile.Write(ref _nodeCount, live);

        WaitForReaders();
        NodeSegments s = Segments;
        int keptCapacity = (int)Math.Min(n, ((long)live + s.Mask) >> s.Shift << s.Shift);
        for (int id = live; id < keptCapacity; id++)
        {
            ClearSlot(s, id, 0);
            s.Key(id) = 0;
        }

        Released released = _store.Shrink(live);
        WaitForReaders();
        _store.Release(released);
    }

    /// <summary>Rewrites the node's list on <paramref name="level"/> if it links to a node <see cref="MoveTailIntoHoles"/> moved.</summary>
    private void Redirect(NodeSegments segments, int id, int level, int live, int[] movedTo, int[] links)
    {
        ref int record = ref Record(segments, id, level);
        LinkRecord.Lock(ref record);
        try
        {
            ReadOnlySpan<int> current = LinkRecord.Locked(ref record, level == 0 ? M0 : M);
            if (!current.ContainsAnyInRange(live, int.MaxValue))
            {
                return;
            }

            for (int i = 0; i < current.Length; i++)
            {
                links[i] = current[i] < live ? current[i] : movedTo[current[i] - live];
            }

            LinkRecord.Replace(ref record, links.AsSpan(0, current.Length));
        }
        finally
        {
            LinkRecord.Unlock(ref record);
        }
    }
}
