using System.Runtime.InteropServices;

namespace VectorIndex.Storage;

/// <summary>
/// Owns the per-node storage of a graph in fixed-size segments: the vectors (one 64-byte-aligned native slab per
/// segment), the layer-0 link records (one native block per segment, fixed stride), keys, flags and upper-layer
/// records. Growing adds segments and publishes a new <see cref="NodeSegments"/> snapshot; nothing is ever copied
/// or moved, so readers are never stalled by growth.
/// </summary>
internal sealed unsafe class NodeStore : IDisposable
{
    private const int Alignment = 64;
    private readonly Lock _growLock = new();
    private volatile NodeSegments _segments;
    private long _nativeBytes;

    // False when the vectors and layer-0 records live in memory someone else owns (a mapped file): never freed here.
    private readonly bool _ownsMemory = true;

    public NodeStore(int vectorStride, int layer0Stride, int initialCapacity)
    {
        _segments = new NodeSegments(SegmentShift(vectorStride), vectorStride, layer0Stride, [], [], [], [], [], []);
        EnsureCapacity(initialCapacity);
    }

    private NodeStore(NodeSegments segments)
    {
        _segments = segments;
        _ownsMemory = false;
    }

    /// <summary>
    /// Storage whose vectors and layer-0 records stay where they are, in one contiguous run each (a memory-mapped
    /// file), and whose small per-node arrays are the given ones. It cannot grow.
    /// </summary>
    public static NodeStore OverExternal(
        int vectorStride, int layer0Stride, byte* vectors, byte* layer0, int count, ulong[] keys, byte[] flags, int[]?[] upper)
    {
        int shift = SegmentShift(vectorStride);
        int perSegment = 1 << shift;
        int segmentCount = (int)(((long)count + perSegment - 1) >> shift);
        var vectorSegments = new nint[segmentCount];
        var layer0Segments = new nint[segmentCount];
        var keySegments = new ulong[segmentCount][];
        var flagSegments = new byte[segmentCount][];
        var upperSegments = new int[]?[segmentCount][];
        var inDegree = new int[segmentCount][];
        for (int seg = 0; seg < segmentCount; seg++)
        {
            int first = seg << shift;
            int n = Math.Min(perSegment, count - first);
            vectorSegments[seg] = (nint)(vectors + ((long)first * vectorStride * sizeof(float)));
            layer0Segments[seg] = (nint)(layer0 + ((long)first * layer0Stride * sizeof(int)));
            keySegments[seg] = keys.AsSpan(first, n).ToArray();
            flagSegments[seg] = flags.AsSpan(first, n).ToArray();
            upperSegments[seg] = upper.AsSpan(first, n).ToArray();
            inDegree[seg] = new int[n];
        }

        return new NodeStore(new NodeSegments(
            shift, vectorStride, layer0Stride, vectorSegments, layer0Segments, keySegments, flagSegments, upperSegments, inDegree));
    }

    // Segments of about 4 MiB of vectors: small enough for small indexes, large enough to be few.
    private static int SegmentShift(int vectorStride)
    {
        int perSegment = Math.Clamp((int)Math.Min(int.MaxValue, (4L << 20) / ((long)vectorStride * sizeof(float))), 256, 1 << 16);
        return 31 - int.LeadingZeroCount(perSegment);
    }

    public NodeSegments Segments => _segments;

    /// <summary>Native bytes held by the vector and layer-0 segments.</summary>
    public long NativeBytes => Interlocked.Read(ref _nativeBytes);

    /// <summary>Makes sure nodes 0..<paramref name="count"/>-1 have storage (zeroed when new).</summary>
    public void EnsureCapacity(int count)
    {
        if (count <= _segments.Capacity)
        {
            return;
        }

        if (!_ownsMemory)
        {
            throw new InvalidOperationException("A memory-mapped index cannot grow.");
        }

        lock (_growLock)
        {
            NodeSegments old = _segments;
            int have = old.Vectors.Length;
            int need = (int)(((long)count + old.Mask) >> old.Shift);
            if (need <= have)
            {
                return;
            }

            int perSegment = 1 << old.Shift;
            var vectors = new nint[need];
            var layer0 = new nint[need];
            var keys = new ulong[need][];
            var flags = new byte[need][];
            var upper = new int[]?[need][];
            var inDegree = new int[need][];
            old.Vectors.CopyTo(vectors, 0);
            old.Layer0.CopyTo(layer0, 0);
            old.Keys.CopyTo(keys, 0);
            old.FlagSegments.CopyTo(flags, 0);
            old.UpperSegments.CopyTo(upper, 0);
            old.InDegreeSegments.CopyTo(inDegree, 0);
            for (int s = have; s < need; s++)
            {
                vectors[s] = AllocZeroed(VectorBlockBytes(old));
                layer0[s] = AllocZeroed(Layer0BlockBytes(old));
                keys[s] = new ulong[perSegment];
                flags[s] = new byte[perSegment];
                upper[s] = new int[]?[perSegment];
                inDegree[s] = new int[perSegment];
            }

            _segments = new NodeSegments(old.Shift, old.VectorStride, old.Layer0Stride, vectors, layer0, keys, flags, upper, inDegree);
        }
    }

    /// <summary>
    /// Drops the segments no node below <paramref name="count"/> lives in: publishes the smaller snapshot and returns
    /// their native blocks, which the caller frees with <see cref="Release"/> once no reader can hold the old snapshot.
    /// </summary>
    public nint[] Shrink(int count)
    {
        lock (_growLock)
        {
            NodeSegments old = _segments;
            int keep = (int)(((long)count + old.Mask) >> old.Shift);
            if (!_ownsMemory || keep >= old.Vectors.Length)
            {
                return [];
            }

            nint[] released = [.. old.Vectors.AsSpan(keep), .. old.Layer0.AsSpan(keep)];
            _segments = new NodeSegments(
                old.Shift, old.VectorStride, old.Layer0Stride, old.Vectors[..keep], old.Layer0[..keep], old.Keys[..keep],
                old.FlagSegments[..keep], old.UpperSegments[..keep], old.InDegreeSegments[..keep]);
            return released;
        }
    }

    /// <summary>Frees native blocks <see cref="Shrink"/> returned.</summary>
    public void Release(nint[] blocks)
    {
        if (blocks.Length == 0)
        {
            return;
        }

        NodeSegments s = _segments;
        long bytes = (blocks.Length / 2) * (long)(VectorBlockBytes(s) + Layer0BlockBytes(s));
        foreach (nint p in blocks)
        {
            NativeMemory.AlignedFree((void*)p);
        }

        Interlocked.Add(ref _nativeBytes, -bytes);
    }

    public void Dispose()
    {
        lock (_growLock)
        {
            NodeSegments s = _segments;
            if (!_ownsMemory)
            {
                _segments = new NodeSegments(s.Shift, s.VectorStride, s.Layer0Stride, [], [], [], [], [], []);
                return;
            }

            foreach (nint p in s.Vectors)
            {
                NativeMemory.AlignedFree((void*)p);
            }

            foreach (nint p in s.Layer0)
            {
                NativeMemory.AlignedFree((void*)p);
            }

            _segments = new NodeSegments(s.Shift, s.VectorStride, s.Layer0Stride, [], [], [], [], [], []);
            _nativeBytes = 0;
        }
    }

    // The native blocks of one segment: its vectors, and its layer-0 records.
    private static nuint VectorBlockBytes(NodeSegments s) => (nuint)(s.Mask + 1) * (nuint)s.VectorStride * sizeof(float);

    private static nuint Layer0BlockBytes(NodeSegments s) => (nuint)(s.Mask + 1) * (nuint)s.Layer0Stride * sizeof(int);

    private nint AllocZeroed(nuint bytes)
    {
        void* p = NativeMemory.AlignedAlloc(bytes, Alignment);
        NativeMemory.Clear(p, bytes);
        Interlocked.Add(ref _nativeBytes, (long)bytes);
        return (nint)p;
    }
}
