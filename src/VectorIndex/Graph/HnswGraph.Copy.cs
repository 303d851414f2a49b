using System.Diagnostics;
using VectorIndex.Storage;

namespace VectorIndex.Graph;

/// <summary>
/// A whole graph copied out of one index and into another, empty one (<c>HnswIndex.AddFrom</c>): the merged index
/// takes the other's links as they are instead of building them again, which is what inserting costs.
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
        Debug.Assert(NodeCount == 0 && !Frozen, "only an empty, writable graph takes a copy");
        int n = copy.Keys.Length;
        lock (_allocLock)
        {
            _store.EnsureCapacity(n);
        }

        NodeSegments s = _store.Segments;
        for (int id = 0; id < n; id++)
        {
            int level = copy.Levels[id];
            copy.Vectors.AsSpan(id * PaddedDimensions, PaddedDimensions).CopyTo(new Span<float>(s.Vector(id), PaddedDimensions));
            s.Quantizer?.Encode(s.Vector(id), s.Code(id)); // an index emptied after its codes were fitted keeps them
            s.Key(id) = copy.Keys[id];
            s.Upper(id) = level == 0 ? null : new int[level * _upperStride];
            Volatile.Write(ref s.Flags(id), (byte)(level | NodeFlags.Deleted));
            for (int l = 0; l <= level; l++)
            {
                ref int record = ref Record(s, id, l);
                LinkRecord.Lock(ref record);
                LinkRecord.Replace(ref record, copy.Lists[id][l]);
                LinkRecord.Unlock(ref record);
            }
        }

        lock (_allocLock)
        {
            Volatile.Write(ref _nodeCount, n);
        }

        RecountInDegrees();
        lock (_entryLock)
        {
            Volatile.Write(ref _entry, copy.Entry);
        }
    }
}
