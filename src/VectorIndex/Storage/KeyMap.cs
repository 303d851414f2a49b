using System.Diagnostics;
using VectorIndex.Graph;
using VectorIndex.Internal;

namespace VectorIndex.Storage;

/// <summary>
/// The owner of the public keys: which node is each live key's (a dictionary under one short lock), the per-key
/// stripes that order an <c>Add</c> and a <c>Remove</c> of the same key, the live and pending-removal counts, and the
/// one protocol for moving a key to another node (a replacement's new vector, a compaction's relocation).
/// <para>
/// Under <see cref="HnswOptions.MultipleVectorsPerKey"/> a key owns a list of live nodes instead of one (in the
/// order they were added): an add appends a node and hides none (no handover), a remove hides them all, and a
/// relocation rewrites the moved entries in place.
/// </para>
/// <para>
/// Moving a key is a handover: the old node is hidden, then the new one shown. A search reads the two flags at
/// different moments, so during a handover it can miss the key (both read hidden) or meet it twice (the old node read
/// before the hide, the new after the show). Every handover is counted when it begins and when it ends; a search that
/// one overlapped checks its answer (see <see cref="HandoverStamp"/>). Nothing else in the index sequences a key.
/// </para>
/// </summary>
internal sealed class KeyMap
{
    private const int StripeCount = 256;

    private readonly HnswGraph _graph;
    private readonly Lock _lock = new();
    private readonly Lock[] _stripes = CreateStripes();

    // Null until first use for a read-only (mapped) index, so that opening one stays fast; then built from the flags.
    // Null as well under MultipleVectorsPerKey, where _lists holds every key's nodes instead.
    private Dictionary<ulong, int>? _ids;
    private readonly Dictionary<ulong, List<int>>? _lists;
    private int _count;

    // Live nodes: the live keys' vectors (equal to _count unless several vectors per key are kept).
    private int _vectors;

    // Removed or replaced nodes still linked in the graph: what the next compaction unlinks.
    private int _pending;

    private long _handoversBegun;
    private long _handoversEnded;

    public KeyMap(HnswGraph graph, Dictionary<ulong, int>? ids, int count)
    {
        _graph = graph;
        _ids = ids;
        _count = count;
        _vectors = count;
        _pending = graph.NodeCount - count - graph.FreeCount;
    }

    /// <summary>A map that keeps every vector added under a key (<see cref="HnswOptions.MultipleVectorsPerKey"/>), built from the graph's live nodes.</summary>
    private KeyMap(HnswGraph graph, Dictionary<ulong, List<int>> lists, int liveNodes)
    {
        _graph = graph;
        _lists = lists;
        _count = lists.Count;
        _vectors = liveNodes;
        _pending = graph.NodeCount - liveNodes - graph.FreeCount;
    }

    /// <summary>The map of an index that keeps several vectors per key, from the live nodes of <paramref name="graph"/> (lowest id first).</summary>
    public static KeyMap WithMultipleVectors(HnswGraph graph)
    {
        var lists = new Dictionary<ulong, List<int>>();
        int live = 0;
        for (int id = 0; id < graph.NodeCount; id++)
        {
            if (!graph.IsDeleted(id))
            {
                ulong key = graph.KeyOf(id);
                if (!lists.TryGetValue(key, out List<int>? nodes))
                {
                    lists.Add(key, nodes = new List<int>(1));
                }

                nodes.Add(id);
                live++;
            }
        }

        return new KeyMap(graph, lists, live);
    }

    /// <summary>Whether a key owns a list of nodes rather than one (<see cref="HnswOptions.MultipleVectorsPerKey"/>).</summary>
    public bool MultipleVectors => _lists is not null;

    /// <summary>Live keys.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>Live nodes: the vectors of the live keys (<see cref="Count"/> unless several vectors per key are kept).</summary>
    public int VectorCount => _lists is null ? Volatile.Read(ref _count) : Volatile.Read(ref _vectors);

    /// <summary>Removed or replaced nodes still linked in the graph.</summary>
    public int PendingRemovals => Volatile.Read(ref _pending);

    /// <summary>The lock that orders the writes of one key (an add and a remove of it never interleave).</summary>
    public Lock StripeOf(ulong key) => _stripes[(int)((key * 0x9E3779B97F4A7C15UL) >> 56) & (StripeCount - 1)];

    public bool Contains(ulong key)
    {
        if (_lists is not null)
        {
            lock (_lock)
            {
                return _lists.ContainsKey(key);
            }
        }

        Dictionary<ulong, int> ids = Ids();
        lock (_lock)
        {
            return ids.ContainsKey(key);
        }
    }

    /// <summary>The key's live node (its first, when it has several). A compaction may move it unless the caller keeps compactions out.</summary>
    public bool TryGetNode(ulong key, out int id)
    {
        if (_lists is not null)
        {
            lock (_lock)
            {
                bool found = _lists.TryGetValue(key, out List<int>? nodes);
                id = found ? nodes![0] : -1;
                return found;
            }
        }

        Dictionary<ulong, int> ids = Ids();
        lock (_lock)
        {
            return ids.TryGetValue(key, out id);
        }
    }

    /// <summary>The key's live nodes, in the order they were added (one at most unless several vectors per key are kept). A compaction may move them unless the caller keeps compactions out.</summary>
    public int[] NodesOf(ulong key)
    {
        if (_lists is null)
        {
            return TryGetNode(key, out int id) ? [id] : [];
        }

        lock (_lock)
        {
            return _lists.TryGetValue(key, out List<int>? nodes) ? [.. nodes] : [];
        }
    }

    /// <summary>
    /// Makes <paramref name="id"/> (allocated, linked and still hidden) the live node of <paramref name="key"/>: shown,
    /// and the key's previous node, if any, hidden first (a handover) and counted for the next compaction. Under
    /// <see cref="MultipleVectors"/> the node is added to the key's nodes instead, and none is hidden. The caller
    /// holds the key's stripe.
    /// </summary>
    public void Publish(ulong key, int id)
    {
        Debug.Assert(_graph.IsDeleted(id), "a node is published hidden, then shown");
        if (_lists is not null)
        {
            lock (_lock)
            {
                if (_lists.TryGetValue(key, out List<int>? nodes))
                {
                    nodes.Add(id);
                }
                else
                {
                    _lists.Add(key, [id]);
                    _count++;
                }

                _vectors++;
            }

            _graph.SetDeleted(id, false);
            return;
        }

        int previous;
        lock (_lock)
        {
            previous = _ids!.TryGetValue(key, out int old) ? old : -1;
            if (previous >= 0)
            {
                Interlocked.Increment(ref _handoversBegun);
            }
            else
            {
                _count++;
            }

            _ids[key] = id;
        }

        if (previous < 0)
        {
            _graph.SetDeleted(id, false);
            return;
        }

        try
        {
            _graph.SetDeleted(previous, true);
            Interlocked.Increment(ref _pending);
            _graph.SetDeleted(id, false);
        }
        finally
        {
            Interlocked.Increment(ref _handoversEnded);
        }
    }

    /// <summary>Hides the key's node (all of them, under <see cref="MultipleVectors"/>) and counts them for the next compaction. The caller holds the key's stripe.</summary>
    public bool Remove(ulong key)
    {
        if (_lists is not null)
        {
            List<int>? nodes;
            lock (_lock)
            {
                if (!_lists.Remove(key, out nodes))
                {
                    return false;
                }

                _count--;
                _vectors -= nodes.Count;
            }

            foreach (int node in nodes)
            {
                _graph.SetDeleted(node, true);
            }

            Interlocked.Add(ref _pending, nodes.Count);
            return true;
        }

        int id;
        lock (_lock)
        {
            if (!_ids!.Remove(key, out id))
            {
                return false;
            }

            _count--;
        }

        _graph.SetDeleted(id, true);
        Interlocked.Increment(ref _pending);
        return true;
    }

    /// <summary>
    /// A compaction's relocation, as one handover: the graph moves its last live nodes into the free slots below them
    /// and each moved key then maps to its new node. Writers must be kept out; searches go on.
    /// </summary>
    public void RelocateTail()
    {
        Interlocked.Increment(ref _handoversBegun);
        try
        {
            int[] moved = _graph.MoveTailIntoHoles(out int[] from);
            lock (_lock)
            {
                for (int i = 0; i < moved.Length; i++)
                {
                    int id = moved[i];
                    if (_lists is null)
                    {
                        _ids![_graph.KeyOf(id)] = id;
                    }
                    else
                    {
                        List<int> nodes = _lists[_graph.KeyOf(id)];
                        nodes[nodes.IndexOf(from[i])] = id;
                    }
                }
            }
        }
        finally
        {
            Interlocked.Increment(ref _handoversEnded);
        }
    }

    /// <summary>After a compaction unlinked them, no removed node is pending.</summary>
    public void ClearPending() => Volatile.Write(ref _pending, 0);

    /// <summary>The handovers begun so far when none is under way, else -1. Ended is read first: if it equals begun, none ran at that moment.</summary>
    public long HandoverStamp()
    {
        long ended = Volatile.Read(ref _handoversEnded);
        long begun = Volatile.Read(ref _handoversBegun);
        return ended == begun ? begun : -1;
    }

    /// <summary>Whether no handover was under way at <paramref name="stamp"/> and none has begun since.</summary>
    public bool NoHandoverSince(long stamp) => stamp >= 0 && Volatile.Read(ref _handoversBegun) == stamp;

    /// <summary>Spins until no handover is under way.</summary>
    public void WaitForHandovers()
    {
        var spin = default(SpinWait);
        while (HandoverStamp() < 0)
        {
            spin.SpinOnce();
        }
    }

    /// <summary>The nodes of the allowed keys that are present, in the scratch's id buffer.</summary>
    public ReadOnlySpan<int> NodesOf(IReadOnlySet<ulong> allowed, SearchScratch scratch)
    {
        if (_lists is not null)
        {
            return ListedNodesOf(allowed, scratch);
        }

        Dictionary<ulong, int> ids = Ids();
        int n = 0;
        lock (_lock)
        {
            int[] buffer = SelectionBuffers.Ensure(ref scratch.Ids, Math.Min(allowed.Count, ids.Count));
            foreach (ulong key in allowed)
            {
                if (n < buffer.Length && ids.TryGetValue(key, out int id))
                {
                    buffer[n++] = id;
                }
            }
        }

        return scratch.Ids.AsSpan(0, n);
    }

    /// <summary>Every node of the allowed keys that are present (<see cref="MultipleVectors"/>), in the scratch's id buffer.</summary>
    private ReadOnlySpan<int> ListedNodesOf(IReadOnlySet<ulong> allowed, SearchScratch scratch)
    {
        int n = 0;
        lock (_lock)
        {
            int needed = 0;
            foreach (ulong key in allowed)
            {
                needed += _lists!.TryGetValue(key, out List<int>? nodes) ? nodes.Count : 0;
            }

            int[] buffer = SelectionBuffers.Ensure(ref scratch.Ids, needed);
            foreach (ulong key in allowed)
            {
                if (_lists!.TryGetValue(key, out List<int>? nodes))
                {
                    nodes.CopyTo(buffer, n);
                    n += nodes.Count;
                }
            }
        }

        return scratch.Ids.AsSpan(0, n);
    }

    /// <summary>The live keys at one moment (a copy taken under the map's lock).</summary>
    public ulong[] Keys()
    {
        if (_lists is not null)
        {
            lock (_lock)
            {
                return [.. _lists.Keys];
            }
        }

        Dictionary<ulong, int> ids = Ids();
        lock (_lock)
        {
            return [.. ids.Keys];
        }
    }

    /// <summary>The map from each live key to its node, built from the flags when a node was not yet asked (a mapped file).</summary>
    private Dictionary<ulong, int> Ids()
    {
        if (Volatile.Read(ref _ids) is { } ids)
        {
            return ids;
        }

        lock (_lock)
        {
            if (_ids is null)
            {
                int n = _graph.NodeCount;
                var keys = new ulong[n];
                var flags = new byte[n];
                for (int id = 0; id < n; id++)
                {
                    keys[id] = _graph.KeyOf(id);
                    flags[id] = _graph.IsDeleted(id) ? NodeFlags.Deleted : (byte)0;
                }

                Volatile.Write(ref _ids, Build(keys, flags));
            }

            return _ids;
        }
    }

    /// <summary>The map from each live key to its node; two live nodes with one key mean a corrupted file.</summary>
    public static Dictionary<ulong, int> Build(ReadOnlySpan<ulong> keys, ReadOnlySpan<byte> flags)
    {
        var ids = new Dictionary<ulong, int>(keys.Length);
        for (int id = 0; id < keys.Length; id++)
        {
            if ((flags[id] & NodeFlags.Deleted) == 0 && !ids.TryAdd(keys[id], id))
            {
                throw new InvalidDataException($"Not a valid VectorIndex index: key {keys[id]} is stored live twice (nodes {ids[keys[id]]} and {id}).");
            }
        }

        return ids;
    }

    private static Lock[] CreateStripes()
    {
        var stripes = new Lock[StripeCount];
        for (int i = 0; i < stripes.Length; i++)
        {
            stripes[i] = new Lock();
        }

        return stripes;
    }
}
