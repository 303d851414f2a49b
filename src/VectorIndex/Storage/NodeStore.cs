using System.Runtime.InteropServices;
using VectorIndex.Codes;
using VectorIndex.Persistence;

namespace VectorIndex.Storage;

/// <summary>
/// Owns the per-node storage of a graph in fixed-size segments: the vectors (one 64-byte-aligned native slab per
/// segment), the layer-0 link records (one native block per segment, fixed stride), keys, flags and upper-layer
/// records. Growing adds segments and publishes a new <see cref="NodeSegments"/> snapshot; nothing is ever copied
/// or moved, so readers are never stalled by growth. A quantised store, once trained, also keeps one block of codes
/// per segment (<see cref="InstallCodes"/>), allocated with the segment from then on.
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
        _segments = new NodeSegments(SegmentShift(vectorStride, initialCapacity), vectorStride, layer0Stride, [], [], [], [], [], []);
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
        int vectorStride, int layer0Stride, byte* vectors, byte* layer0, int count, ulong[] keys, byte[] flags, int[]?[] upper,
        ScalarQuantizer? quantizer = null, byte* codes = null)
    {
        int shift = SegmentShift(vectorStride, count);
        int perSegment = 1 << shift;
        int segmentCount = (int)(((long)count + perSegment - 1) >> shift);
        var vectorSegments = new nint[segmentCount];
        var layer0Segments = new nint[segmentCount];
        var keySegments = new ulong[segmentCount][];
        var flagSegments = new byte[segmentCount][];
        var upperSegments = new int[]?[segmentCount][];
        var inDegree = new int[segmentCount][];
        var codeSegments = new nint[segmentCount];
        for (int seg = 0; seg < segmentCount; seg++)
        {
            int first = seg << shift;
            int n = Math.Min(perSegment, count - first);
            if (quantizer is not null)
            {
                codeSegments[seg] = (nint)(codes + ((long)first * quantizer.CodeBytes));
            }

            vectorSegments[seg] = (nint)(vectors + ((long)first * vectorStride * sizeof(float)));
            layer0Segments[seg] = (nint)(layer0 + ((long)first * layer0Stride * sizeof(int)));
            keySegments[seg] = keys.AsSpan(first, n).ToArray();
            flagSegments[seg] = flags.AsSpan(first, n).ToArray();
            upperSegments[seg] = upper.AsSpan(first, n).ToArray();
            inDegree[seg] = new int[n];
        }

        return new NodeStore(new NodeSegments(
            shift, vectorStride, layer0Stride, vectorSegments, layer0Segments, keySegments, flagSegments, upperSegments, inDegree,
            quantizer is null ? null : new CodeBlocks(quantizer, codeSegments)));
    }

    /// <summary>
    /// Segments of about 4 MiB of vectors: small enough for small indexes, large enough to be few. When the store is
    /// made (or first grown) for 256 MiB of vectors or more, 16 MiB: then a segment's layer-0 records and codes fill
    /// whole 2 MiB pages too (see <see cref="AllocZeroed"/>), which a walk over a large index needs more than it needs
    /// the last segment's slack (at most 1/16 of the vectors). Measured on a million 128-d vectors: docs/benchmarks.md.
    /// </summary>
    private static int SegmentShift(int vectorStride, long expectedCount)
    {
        long vectorBytes = (long)vectorStride * sizeof(float);
        long target = expectedCount * vectorBytes >= (256L << 20) ? 16L << 20 : 4L << 20;
        int perSegment = Math.Clamp((int)Math.Min(int.MaxValue, target / vectorBytes), 256, 1 << 16);
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
            if (old.Vectors.Length == 0 && old.Codes is null && SegmentShift(old.VectorStride, count) != old.Shift)
            {
                // Nothing allocated yet: the first growth (a bulk add into an empty index) picks the segment size.
                old = new NodeSegments(SegmentShift(old.VectorStride, count), old.VectorStride, old.Layer0Stride, [], [], [], [], [], []);
            }

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
            CodeBlocks? codes = old.Codes is { } c ? new CodeBlocks(c.Quantizer, [.. c.Blocks, .. new nint[need - have]]) : null;
            for (int s = have; s < need; s++)
            {
                if (codes is not null)
                {
                    codes.Blocks[s] = AllocZeroed(CodeBlockBytes(old, codes.Stride));
                }

                vectors[s] = AllocZeroed(VectorBlockBytes(old));
                layer0[s] = AllocZeroed(Layer0BlockBytes(old));
                keys[s] = new ulong[perSegment];
                flags[s] = new byte[perSegment];
                upper[s] = new int[]?[perSegment];
                inDegree[s] = new int[perSegment];
            }

            _segments = new NodeSegments(old.Shift, old.VectorStride, old.Layer0Stride, vectors, layer0, keys, flags, upper, inDegree, codes);
        }
    }

    /// <summary>
    /// Codes nodes 0..<paramref name="count"/>-1 with <paramref name="quantizer"/> into new blocks and publishes them
    /// with it. The caller keeps writers out. Returns the blocks of the codes replaced (none on the first training),
    /// which the caller frees with <see cref="Release"/> once no reader can hold the old snapshot.
    /// </summary>
    /// <remarks>With <paramref name="encode"/> false the new blocks stay zeroed, for a reader to fill.</remarks>
    public Released InstallCodes(ScalarQuantizer quantizer, int count, bool encode = true)
    {
        if (!_ownsMemory)
        {
            throw new InvalidOperationException("A memory-mapped index cannot be re-coded.");
        }

        lock (_growLock)
        {
            NodeSegments old = _segments;
            var blocks = new nint[old.Vectors.Length];
            for (int s = 0; s < blocks.Length; s++)
            {
                blocks[s] = AllocZeroed(CodeBlockBytes(old, quantizer.CodeBytes));
            }

            NodeSegments coded = old.WithCodes(new CodeBlocks(quantizer, blocks));
            if (encode)
            {
                Parallel.For(0, count, id => quantizer.Encode(coded.Vector(id), coded.Code(id)));
            }

            _segments = coded;
            return old.Codes is { } c ? new Released(c.Blocks, c.Blocks.Length * (long)CodeBlockBytes(old, c.Stride)) : default;
        }
    }

    /// <summary>
    /// Drops the segments no node below <paramref name="count"/> lives in: publishes the smaller snapshot and returns
    /// their native blocks, which the caller frees with <see cref="Release"/> once no reader can hold the old snapshot.
    /// </summary>
    public Released Shrink(int count)
    {
        lock (_growLock)
        {
            NodeSegments old = _segments;
            int keep = (int)(((long)count + old.Mask) >> old.Shift);
            if (!_ownsMemory || keep >= old.Vectors.Length)
            {
                return default;
            }

            CodeBlocks? codes = old.Codes;
            nint[] released = [.. old.Vectors.AsSpan(keep), .. old.Layer0.AsSpan(keep), .. codes is null ? [] : codes.Blocks.AsSpan(keep)];
            long bytes = (old.Vectors.Length - keep)
                * (long)(VectorBlockBytes(old) + Layer0BlockBytes(old) + (codes is null ? 0 : CodeBlockBytes(old, codes.Stride)));
            _segments = new NodeSegments(
                old.Shift, old.VectorStride, old.Layer0Stride, old.Vectors[..keep], old.Layer0[..keep], old.Keys[..keep],
                old.FlagSegments[..keep], old.UpperSegments[..keep], old.InDegreeSegments[..keep],
                codes is null ? null : new CodeBlocks(codes.Quantizer, codes.Blocks[..keep]));
            return new Released(released, bytes);
        }
    }

    /// <summary>Frees native blocks <see cref="Shrink"/> or <see cref="InstallCodes"/> returned.</summary>
    public void Release(Released released)
    {
        foreach (nint p in released.Blocks ?? [])
        {
            NativeMemory.AlignedFree((void*)p);
        }

        Interlocked.Add(ref _nativeBytes, -released.Bytes);
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

            foreach (nint p in s.Codes?.Blocks ?? [])
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

    private static nuint CodeBlockBytes(NodeSegments s, int codeStride) => (nuint)(s.Mask + 1) * (nuint)codeStride;

    private nint AllocZeroed(nuint bytes)
    {
        // Blocks of 2 MiB or more (the vectors of a segment) start on a huge page and ask for huge pages: measured on
        // a million 128-d vectors, see docs/benchmarks.md. Cleared after the advice, so the first touch maps them.
        bool huge = bytes >= PageAdvice.HugePageBytes && OperatingSystem.IsLinux();
        void* p = NativeMemory.AlignedAlloc(bytes, huge ? (nuint)PageAdvice.HugePageBytes : Alignment);
        if (huge)
        {
            PageAdvice.RequestHugePages(p, bytes);
        }

        NativeMemory.Clear(p, bytes);
        Interlocked.Add(ref _nativeBytes, (long)bytes);
        return (nint)p;
    }
}

/// <summary>Native blocks taken out of a published snapshot, to free once no reader can hold it, and their size.</summary>
internal readonly record struct Released(nint[]? Blocks, long Bytes);
