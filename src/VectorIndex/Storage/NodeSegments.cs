using System.Diagnostics;
using System.Runtime.CompilerServices;
using VectorIndex.Codes;

namespace VectorIndex.Storage;

/// <summary>
/// An immutable snapshot of <see cref="NodeStore"/>'s segment directories. Segments never move once allocated, so a
/// search takes one snapshot and uses it throughout: growth publishes a new snapshot without touching this one.
/// Node <c>id</c> lives in segment <c>id &gt;&gt; Shift</c> at slot <c>id &amp; Mask</c>. Under a quantisation, once
/// trained, a snapshot also carries the quantiser and one block of codes per segment: a search that took the
/// snapshot codes its query with that quantiser and measures those codes, whatever a refit publishes meanwhile.
/// </summary>
internal sealed unsafe class NodeSegments(
    int shift, int vectorStride, int layer0Stride, nint[] vectors, nint[] layer0, ulong[][] keys, byte[][] flags, int[]?[][] upper, int[][] inDegree,
    CodeBlocks? codes = null)
{
    public readonly int Shift = shift;
    public readonly int Mask = (1 << shift) - 1;
    public readonly int VectorStride = vectorStride;
    public readonly int Layer0Stride = layer0Stride;
    public readonly nint[] Vectors = vectors;
    public readonly nint[] Layer0 = layer0;
    public readonly ulong[][] Keys = keys;
    public readonly byte[][] FlagSegments = flags;
    public readonly int[]?[][] UpperSegments = upper;
    public readonly int[][] InDegreeSegments = inDegree;

    /// <summary>The quantiser and its code blocks (one per segment), or null: not quantised, or not trained yet.</summary>
    public readonly CodeBlocks? Codes = codes;

    /// <summary>The quantiser of <see cref="Codes"/>, or null.</summary>
    public ScalarQuantizer? Quantizer => Codes?.Quantizer;

    /// <summary>How many nodes the allocated segments hold.</summary>
    public int Capacity => Vectors.Length << Shift;

    /// <summary>The node's vector: <see cref="VectorStride"/> floats, 64-byte aligned, zero-padded past the dimensions.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float* Vector(int id)
    {
        // The kernels read VectorStride floats from here unchecked: the id must have storage in this snapshot.
        Debug.Assert((uint)id < (uint)Capacity, "a node id within this snapshot's storage");
        return (float*)Vectors[id >> Shift] + ((nint)(id & Mask) * VectorStride);
    }

    /// <summary>The node's layer-0 link record (see <c>Graph/LinkRecord</c>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int* Layer0Record(int id)
    {
        Debug.Assert((uint)id < (uint)Capacity, "a node id within this snapshot's storage");
        return (int*)Layer0[id >> Shift] + ((nint)(id & Mask) * Layer0Stride);
    }

    /// <summary>The node's code: <see cref="ScalarQuantizer.CodeBytes"/> bytes, 64-byte aligned. Only when <see cref="Codes"/> is set.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public byte* Code(int id)
    {
        Debug.Assert(Codes is not null && (uint)id < (uint)Capacity, "a quantised snapshot and a node id within its storage");
        return (byte*)Codes!.Blocks[id >> Shift] + ((nint)(id & Mask) * Codes.Stride);
    }

    /// <summary>The same directories with other codes (or none).</summary>
    public NodeSegments WithCodes(CodeBlocks? codes) =>
        new(Shift, VectorStride, Layer0Stride, Vectors, Layer0, Keys, FlagSegments, UpperSegments, InDegreeSegments, codes);

    public ref ulong Key(int id) => ref Keys[id >> Shift][id & Mask];

    /// <summary>The node's flags: its level in <see cref="NodeFlags.LevelMask"/>, and <see cref="NodeFlags.Deleted"/>.</summary>
    public ref byte Flags(int id) => ref FlagSegments[id >> Shift][id & Mask];

    /// <summary>The node's link records for layers 1..level, one after another; null for a layer-0-only node.</summary>
    public ref int[]? Upper(int id) => ref UpperSegments[id >> Shift][id & Mask];

    /// <summary>How many layer-0 lists link to the node; kept so that pruning never leaves a node unreachable.</summary>
    public ref int InDegree(int id) => ref InDegreeSegments[id >> Shift][id & Mask];
}

/// <summary>A quantiser and the blocks of codes it made, one per storage segment (<see cref="Stride"/> bytes per node).</summary>
internal sealed class CodeBlocks(ScalarQuantizer quantizer, nint[] blocks)
{
    public readonly ScalarQuantizer Quantizer = quantizer;
    public readonly nint[] Blocks = blocks;
    public readonly int Stride = quantizer.CodeBytes;
}

/// <summary>The bits of a node's flag byte.</summary>
internal static class NodeFlags
{
    public const byte LevelMask = 0x3F;

    /// <summary>Not a result: removed, replaced by a newer vector, or not yet fully inserted. It still routes searches.</summary>
    public const byte Deleted = 0x80;

    /// <summary>With <see cref="Deleted"/>: unlinked by a compaction, the slot is on the free list (level bits 0). Not stored in files, whose free-slot section says it.</summary>
    public const byte Free = 0x40;
}
