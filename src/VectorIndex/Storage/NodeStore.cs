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

    public NodeStore(int vectorStride, int layer0Stride, int initialCapacity)
    {
        // Segments of about 4 MiB of vectors: small enough for small indexes, large enough to be few.
        int perSegment = Math.Clamp((int)Math.Min(int.MaxValue, (4L << 20) / (vectorStride * sizeof(float))), 256, 1 << 16);
        int shift = 31 - int.LeadingZeroCount(perSegment);
        _segments = new NodeSegments(shift, vectorStride, layer0Stride, [], [], [], [], [], []);
        EnsureCapacity(initialCapacity);
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
                vectors[s] = AllocZeroed((nuint)perSegment * (nuint)old.VectorStride * sizeof(float));
                layer0[s] = AllocZeroed((nuint)perSegment * (nuint)old.Layer0Stride * sizeof(int));
                keys[s] = new ulong[perSegment];
                flags[s] = new byte[perSegment];
                upper[s] = new int[]?[perSegment];
                inDegree[s] = new int[perSegment];
            }

            _segments = new NodeSegments(old.Shift, old.VectorStride, old.Layer0Stride, vectors, layer0, keys, flags, upper, inDegree);
        }
    }

    public void Dispose()
    {
        lock (_growLock)
        {
            NodeSegments s = _segments;
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

    private nint AllocZeroed(nuint bytes)
    {
        void* p = NativeMemory.AlignedAlloc(bytes, Alignment);
        NativeMemory.Clear(p, bytes);
        Interlocked.Add(ref _nativeBytes, (long)bytes);
        return (nint)p;
    }
}
