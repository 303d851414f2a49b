using System.Diagnostics;
using VectorIndex.Storage;

namespace VectorIndex.Graph;

/// <summary>
/// A whole graph copied out of one index and into another, empty one: <c>HnswIndex.AddFrom</c>'s merged index takes
/// the other's links as they are instead of building them again (which is what inserting costs), and a bulk add into
/// an empty index takes the graph it built aside, renumbered in <see cref="LocalityOrder"/>.
/// </summary>
internal sealed unsafe partial class HnswGraph
{
    /// <summary>Every node of a graph whose nodes are all live: keys, levels, padded vectors and lists, by id.</summary>
    /// <param name="Keys">The key of node i.</param>
    /// <param name="Levels">The top layer of node i.</param>
    /// <param name="Vectors">Node i's padded vector at <c>i * PaddedDimensions</c>.</param>
    /// <param name="Lists">Node i's list on layer l at <c>Lists[i][l]</c>.</param>
    /// <param name="Entry">The packed entry point.</param>
    internal sealed record Copy(ulong[] Keys, byte[] Levels, float[] Vectors, int[][][] Lists, long Entry);

    /// <summary>
    /// Copies the whole graph, or returns null when a node is removed, replaced or free (a pending compaction): its
    /// lists would lead to nodes the copy leaves out. The caller keeps writers out.
    /// </summary>
    public Copy? CopyWhole()
    {
        int n = NodeCount;
        NodeSegments s = Segments;
        for (int id = 0; id < n; id++)
        {
            if (IsDeleted(id))
            {
                return null;
            }
        }

        var keys = new ulong[n];
        var levels = new byte[n];
        var vectors = new float[(long)n * PaddedDimensions];
        var lists = new int[n][][];
        var buffer = new int[M0];
        for (int id = 0; id < n; id++)
        {
            keys[id] = s.Key(id);
            int level = LevelOf(id);
            levels[id] = (byte)level;
            new ReadOnlySpan<float>(s.Vector(id), PaddedDimensions).CopyTo(vectors.AsSpan(id * PaddedDimensions, PaddedDimensions));
            lists[id] = new int[level + 1][];
            for (int l = 0; l <= level; l++)
            {
                lists[id][l] = buffer.AsSpan(0, ReadLinks(s, id, l, buffer)).ToArray();
            }
        }

        return new Copy(keys, levels, vectors, lists, Volatile.Read(ref _entry));
    }

    /// <summary>
    /// Fills this empty graph with <paramref name="copy"/> (a graph of the same M): every node stored hidden with its
    /// lists, then the count, then the entry point, so a search sees either the empty graph or the whole one (the
    /// nodes show once the key map publishes them). The caller keeps writers out.
    /// </summary>
    public void Take(Copy copy)
    {
        int n = copy.Keys.Length;
        NodeSegments s = Prepare(n);
        for (int id = 0; id < n; id++)
        {
            int level = copy.Levels[id];
            StoreHidden(s, id, copy.Keys[id], level, copy.Vectors.AsSpan(id * PaddedDimensions, PaddedDimensions));
            for (int l = 0; l <= level; l++)
            {
                StoreList(s, id, l, copy.Lists[id][l]);
            }
        }

        Show(n, copy.Entry);
    }

    /// <summary>
    /// The order <see cref="TakeInOrder"/> stores <paramref name="source"/>'s nodes in, so that nodes near each other in
    /// space are near each other in memory. From the top layer down, every node of a layer is grouped under a node of
    /// the layer above that links to it (its hub: the hub first, then the nodes its list holds, in that order; a node no
    /// hub links to joins the group of its first neighbour that has one), and the groups follow their hubs' order; the
    /// top layer is one group under the entry point. Node <c>order[i]</c> becomes node i. A walk then finds a list's
    /// neighbours in a few runs of nearby records instead of anywhere in the index (ids are otherwise in insertion
    /// order); measured in docs/benchmarks.md.
    /// </summary>
    public static int[] LocalityOrder(HnswGraph source)
    {
        NodeSegments s = source.Segments;
        int n = source.NodeCount;
        if (n == 0)
        {
            return [];
        }

        var links = new int[source.M0];
        var hub = new int[n]; // the position of a node's hub in the order of the layer above
        var arrival = new int[n]; // when it joined its group
        int[] ordered = [source.EntryPoint];
        for (int layer = source.MaxLevel; layer >= 0; layer--)
        {
            Array.Fill(hub, -1);
            int arrived = 0;
            for (int h = 0; h < ordered.Length; h++)
            {
                hub[ordered[h]] = h;
                arrival[ordered[h]] = arrived++;
            }

            for (int h = 0; h < ordered.Length; h++)
            {
                foreach (int to in links.AsSpan(0, source.ReadLinks(s, ordered[h], layer, links)))
                {
                    if (hub[to] < 0)
                    {
                        (hub[to], arrival[to]) = (h, arrived++);
                    }
                }
            }

            // The rest join a neighbour's group, a sweep at a time. A sweep reads lists only of the nodes still
            // ungrouped, and a node joins as soon as an earlier node of the same sweep has: most nodes are a hop or two
            // from a hub, and since levels are drawn independently of the data, hubs are a random 1/M of the layer,
            // so even a path-like layer (one-dimensional data) needs about M log n sweeps of cheap checks.
            var members = new List<int>();
            for (int id = 0; id < n; id++)
            {
                if (source.LevelOf(id) >= layer)
                {
                    members.Add(id);
                }
            }

            for (bool joined = true; joined;)
            {
                joined = false;
                foreach (int id in members)
                {
                    if (hub[id] < 0)
                    {
                        foreach (int to in links.AsSpan(0, source.ReadLinks(s, id, layer, links)))
                        {
                            if (hub[to] >= 0)
                            {
                                (hub[id], arrival[id], joined) = (hub[to], arrived++, true);
                                break;
                            }
                        }
                    }
                }
            }

            // Nodes no list leads to (none after a bulk add's reconnection) go last.
            long[] groupAndArrival = [.. members.Select(id => hub[id] < 0 ? long.MaxValue : ((long)hub[id] << 32) | (uint)arrival[id])];
            ordered = [.. members];
            Array.Sort(groupAndArrival, ordered);
        }

        return ordered;
    }

    /// <summary>
    /// Fills this empty graph with the nodes of <paramref name="source"/> (a graph of the same options whose nodes are
    /// all live and that no writer changes meanwhile), node <c>order[i]</c> becoming node i, ids in every list and
    /// the entry point renumbered to match; published as <see cref="Take"/> publishes. The level generator goes on
    /// from where the source's stopped. The caller keeps writers out.
    /// </summary>
    public void TakeInOrder(HnswGraph source, int[] order)
    {
        Debug.Assert(source.PaddedDimensions == PaddedDimensions && source.M == M, "the same shape");
        int n = order.Length;
        var newId = new int[n];
        for (int id = 0; id < n; id++)
        {
            newId[order[id]] = id;
        }

        NodeSegments s = Prepare(n), from = source.Segments;
        var links = new int[M0];
        for (int id = 0; id < n; id++)
        {
            int old = order[id];
            int level = source.LevelOf(old);
            StoreHidden(s, id, from.Key(old), level, new ReadOnlySpan<float>(from.Vector(old), PaddedDimensions));
            for (int l = 0; l <= level; l++)
            {
                Span<int> list = links.AsSpan(0, source.ReadLinks(from, old, l, links));
                for (int i = 0; i < list.Length; i++)
                {
                    list[i] = newId[list[i]];
                }

                StoreList(s, id, l, list);
            }
        }

        _levels.Restore(source.LevelState);
        long entry = source.PackedEntry;
        Show(n, Pack(newId[(int)entry], (int)(entry >> 32)));
    }

    /// <summary>Storage for <paramref name="n"/> nodes in this empty graph.</summary>
    private NodeSegments Prepare(int n)
    {
        Debug.Assert(NodeCount == 0 && !Frozen, "only an empty, writable graph takes a whole graph");
        lock (_allocLock)
        {
            _store.EnsureCapacity(n);
        }

        return _store.Segments;
    }

    /// <summary>Writes node <paramref name="id"/>'s vector (and code), key and level, hidden: nobody links it yet.</summary>
    private void StoreHidden(NodeSegments s, int id, ulong key, int level, ReadOnlySpan<float> paddedVector)
    {
        paddedVector.CopyTo(new Span<float>(s.Vector(id), PaddedDimensions));
        s.Quantizer?.Encode(s.Vector(id), s.Code(id)); // an index emptied after its codes were fitted keeps them
        s.Key(id) = key;
        s.Upper(id) = level == 0 ? null : new int[level * _upperStride];
        Volatile.Write(ref s.Flags(id), (byte)(level | NodeFlags.Deleted));
    }

    private void StoreList(NodeSegments s, int id, int level, ReadOnlySpan<int> list)
    {
        ref int record = ref Record(s, id, level);
        LinkRecord.Lock(ref record);
        LinkRecord.Replace(ref record, list);
        LinkRecord.Unlock(ref record);
    }

    /// <summary>The count, then the in-degrees, then the entry point: a search sees no node before all are stored.</summary>
    private void Show(int n, long entry)
    {
        lock (_allocLock)
        {
            Volatile.Write(ref _nodeCount, n);
        }

        RecountInDegrees();
        lock (_entryLock)
        {
            Volatile.Write(ref _entry, entry);
        }
    }
}
