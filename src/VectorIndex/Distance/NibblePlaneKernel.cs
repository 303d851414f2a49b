using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace VectorIndex.Distance;

/// <summary>
/// The 4-bit sums of the walk: a stored code (two nibbles per byte, low nibble first) against a query kept as two
/// planes of signed bytes at a finer resolution than the code's, <c>planes[i]</c> for the low nibble of byte i and
/// <c>planes[length + i]</c> for its high one (<see cref="Codes.ScalarQuantizer.EncodeQuery"/> writes them once per
/// search; asymmetric: only the stored side carries a 4-bit rounding error). Only the stored side is split per
/// distance; the operator (<see cref="INibblePlaneOperator"/>) turns a block into 16-bit pair sums (<c>vpmaddubsw</c>), small enough
/// that two blocks add up in 16 bits, and <c>vpmaddwd</c> widens them to 32 bits once per two blocks. The variants are
/// named as in <see cref="CodeKernel"/>; the sums are integers, so every variant is exact.
/// </summary>
internal static class NibblePlaneKernel
{
    /// <summary>The widest variant the hardware runs; <paramref name="planes"/> holds 2 x <paramref name="length"/> bytes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Sum<TOperator>(ref byte code, ref byte planes, nuint length)
        where TOperator : struct, INibblePlaneOperator
    {
        if (Vector512.IsHardwareAccelerated && Avx512BW.IsSupported && length >= (nuint)Vector512<byte>.Count)
        {
            return Vector512Unroll2<TOperator>(ref code, ref planes, length);
        }

        if (Vector256.IsHardwareAccelerated && Avx2.IsSupported && length >= (nuint)Vector256<byte>.Count)
        {
            return Vector256Unroll2<TOperator>(ref code, ref planes, length);
        }

        if (Vector128.IsHardwareAccelerated && Ssse3.IsSupported && length >= (nuint)Vector128<byte>.Count)
        {
            return Vector128Unroll2<TOperator>(ref code, ref planes, length);
        }

        return Scalar<TOperator>(ref code, ref planes, length);
    }

    public static int Scalar<TOperator>(ref byte code, ref byte planes, nuint length)
        where TOperator : struct, INibblePlaneOperator => Tail<TOperator>(ref code, ref planes, 0, length, 0);

    public static int Vector128Unroll2<TOperator>(ref byte code, ref byte planes, nuint length)
        where TOperator : struct, INibblePlaneOperator
    {
        const int W = 16;
        nuint i = 0;
        Vector128<int> sum = default;
        if (!Ssse3.IsSupported)
        {
            // No pmaddubsw (not x86): the operator widens to 32 bits itself.
            for (; i + W <= length; i += W)
            {
                sum += TOperator.TermsWidened(Vector128.LoadUnsafe(ref code, i), Vector128.LoadUnsafe(ref planes, i), Vector128.LoadUnsafe(ref planes, length + i));
            }

            return Tail<TOperator>(ref code, ref planes, i, length, Vector128.Sum(sum));
        }

        for (; i + (2 * W) <= length; i += 2 * W)
        {
            var s = Block128<TOperator>(ref code, ref planes, i, length)
                + Block128<TOperator>(ref code, ref planes, i + W, length);
            sum += Sse2.MultiplyAddAdjacent(s, Vector128<short>.One);
        }

        if (i + W <= length)
        {
            sum += Sse2.MultiplyAddAdjacent(Block128<TOperator>(ref code, ref planes, i, length), Vector128<short>.One);
            i += W;
        }

        return Tail<TOperator>(ref code, ref planes, i, length, Vector128.Sum(sum));
    }

    public static int Vector256Unroll2<TOperator>(ref byte code, ref byte planes, nuint length)
        where TOperator : struct, INibblePlaneOperator
    {
        if (!Avx2.IsSupported)
        {
            return Vector128Unroll2<TOperator>(ref code, ref planes, length);
        }

        const int W = 32;
        Vector256<int> sum = default;
        nuint i = 0;
        for (; i + (2 * W) <= length; i += 2 * W)
        {
            var s = Block256<TOperator>(ref code, ref planes, i, length)
                + Block256<TOperator>(ref code, ref planes, i + W, length);
            sum += Avx2.MultiplyAddAdjacent(s, Vector256<short>.One);
        }

        if (i + W <= length)
        {
            sum += Avx2.MultiplyAddAdjacent(Block256<TOperator>(ref code, ref planes, i, length), Vector256<short>.One);
            i += W;
        }

        return Tail<TOperator>(ref code, ref planes, i, length, Vector256.Sum(sum));
    }

    public static int Vector512Unroll2<TOperator>(ref byte code, ref byte planes, nuint length)
        where TOperator : struct, INibblePlaneOperator
    {
        if (!Avx512BW.IsSupported)
        {
            return Vector256Unroll2<TOperator>(ref code, ref planes, length);
        }

        const int W = 64;
        Vector512<int> sum = default;
        nuint i = 0;
        for (; i + (2 * W) <= length; i += 2 * W)
        {
            var s = Block512<TOperator>(ref code, ref planes, i, length)
                + Block512<TOperator>(ref code, ref planes, i + W, length);
            sum += Avx512BW.MultiplyAddAdjacent(s, Vector512<short>.One);
        }

        if (i + W <= length)
        {
            sum += Avx512BW.MultiplyAddAdjacent(Block512<TOperator>(ref code, ref planes, i, length), Vector512<short>.One);
            i += W;
        }

        return Tail<TOperator>(ref code, ref planes, i, length, Vector512.Sum(sum));
    }

    /// <summary>The operator's 16-bit terms of the 128-bit block at byte <paramref name="i"/>: the code's bytes and both planes' values for them.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<short> Block128<TOperator>(ref byte code, ref byte planes, nuint i, nuint length)
        where TOperator : struct, INibblePlaneOperator =>
        TOperator.Terms(Vector128.LoadUnsafe(ref code, i), Vector128.LoadUnsafe(ref planes, i), Vector128.LoadUnsafe(ref planes, length + i));

    /// <summary>The operator's 16-bit terms of the 256-bit block at byte <paramref name="i"/>: the code's bytes and both planes' values for them.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<short> Block256<TOperator>(ref byte code, ref byte planes, nuint i, nuint length)
        where TOperator : struct, INibblePlaneOperator =>
        TOperator.Terms(Vector256.LoadUnsafe(ref code, i), Vector256.LoadUnsafe(ref planes, i), Vector256.LoadUnsafe(ref planes, length + i));

    /// <summary>The operator's 16-bit terms of the 512-bit block at byte <paramref name="i"/>: the code's bytes and both planes' values for them.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<short> Block512<TOperator>(ref byte code, ref byte planes, nuint i, nuint length)
        where TOperator : struct, INibblePlaneOperator =>
        TOperator.Terms(Vector512.LoadUnsafe(ref code, i), Vector512.LoadUnsafe(ref planes, i), Vector512.LoadUnsafe(ref planes, length + i));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Tail<TOperator>(ref byte code, ref byte planes, nuint i, nuint length, int sum)
        where TOperator : struct, INibblePlaneOperator
    {
        for (; i < length; i++)
        {
            int c = Unsafe.Add(ref code, i);
            sum += TOperator.Term(c & 0xF, (sbyte)Unsafe.Add(ref planes, i)) + TOperator.Term(c >> 4, (sbyte)Unsafe.Add(ref planes, length + i));
        }

        return sum;
    }
}

/// <summary>
/// What <see cref="NibblePlaneKernel"/> sums per coordinate, a stored nibble against the query plane's value: the
/// vector forms give 16-bit pair sums of one block of code bytes and both planes, at most 16,383 per lane, so that two
/// blocks add up without overflow.
/// </summary>
internal interface INibblePlaneOperator
{
    /// <summary>The term of one coordinate: <paramref name="nibble"/> 0..15 as stored, <paramref name="plane"/> the query's value.</summary>
    static abstract int Term(int nibble, int plane);

    static abstract Vector128<short> Terms(Vector128<byte> code, Vector128<byte> low, Vector128<byte> high);

    static abstract Vector256<short> Terms(Vector256<byte> code, Vector256<byte> low, Vector256<byte> high);

    static abstract Vector512<short> Terms(Vector512<byte> code, Vector512<byte> low, Vector512<byte> high);

    /// <summary>The terms of one block in 32-bit lanes, without <c>pmaddubsw</c> (not x86).</summary>
    static abstract Vector128<int> TermsWidened(Vector128<byte> code, Vector128<byte> low, Vector128<byte> high);
}

/// <summary>
/// Unsigned nibbles (L2, cosine) against planes in quarter steps, -3..63: <c>(plane - 4 x nibble)²</c>. Four times a
/// nibble is split straight out of the byte (<c>(c &lt;&lt; 2) &amp; 0x3C</c>, <c>(c &gt;&gt; 2) &amp; 0x3C</c>); a
/// difference is at most 63, so <c>vpmaddubsw</c> of |d| with itself gives at most 2 x 63² = 7,938 per pair and a
/// block's two planes 15,876.
/// </summary>
internal readonly struct SquaredDifferenceU4 : INibblePlaneOperator
{
    public static int Term(int nibble, int plane) => (plane - (4 * nibble)) * (plane - (4 * nibble));

    public static Vector128<short> Terms(Vector128<byte> code, Vector128<byte> low, Vector128<byte> high)
    {
        var (dl, dh) = Differences(code, low, high);
        return Ssse3.MultiplyAddAdjacent(dl, dl.AsSByte()) + Ssse3.MultiplyAddAdjacent(dh, dh.AsSByte());
    }

    public static Vector256<short> Terms(Vector256<byte> code, Vector256<byte> low, Vector256<byte> high)
    {
        var mask = Vector256.Create((byte)0x3C);
        var dl = Vector256.Abs(low.AsSByte() - (Vector256.ShiftLeft(code.AsUInt16(), 2).AsByte() & mask).AsSByte()).AsByte();
        var dh = Vector256.Abs(high.AsSByte() - (Vector256.ShiftRightLogical(code.AsUInt16(), 2).AsByte() & mask).AsSByte()).AsByte();
        return Avx2.MultiplyAddAdjacent(dl, dl.AsSByte()) + Avx2.MultiplyAddAdjacent(dh, dh.AsSByte());
    }

    public static Vector512<short> Terms(Vector512<byte> code, Vector512<byte> low, Vector512<byte> high)
    {
        var mask = Vector512.Create((byte)0x3C);
        var dl = Vector512.Abs(low.AsSByte() - (Vector512.ShiftLeft(code.AsUInt16(), 2).AsByte() & mask).AsSByte()).AsByte();
        var dh = Vector512.Abs(high.AsSByte() - (Vector512.ShiftRightLogical(code.AsUInt16(), 2).AsByte() & mask).AsSByte()).AsByte();
        return Avx512BW.MultiplyAddAdjacent(dl, dl.AsSByte()) + Avx512BW.MultiplyAddAdjacent(dh, dh.AsSByte());
    }

    public static Vector128<int> TermsWidened(Vector128<byte> code, Vector128<byte> low, Vector128<byte> high)
    {
        var (dl, dh) = Differences(code, low, high);
        return CodeMath.SquaresWidened(dl) + CodeMath.SquaresWidened(dh);
    }

    private static (Vector128<byte> Low, Vector128<byte> High) Differences(Vector128<byte> code, Vector128<byte> low, Vector128<byte> high)
    {
        var mask = Vector128.Create((byte)0x3C);
        return (Vector128.Abs(low.AsSByte() - (Vector128.ShiftLeft(code.AsUInt16(), 2).AsByte() & mask).AsSByte()).AsByte(),
            Vector128.Abs(high.AsSByte() - (Vector128.ShiftRightLogical(code.AsUInt16(), 2).AsByte() & mask).AsSByte()).AsByte());
    }
}

/// <summary>
/// Signed nibbles (inner product; two's complement, -8..7, the codes use -7..7) against planes in eighth steps,
/// -127..127: <c>nibble x plane</c>. Each nibble is sign-extended in its byte (<c>(n ^ 8) - 8</c>), then
/// <c>vpmaddubsw</c> multiplies |nibble| by the plane carrying the nibble's sign (<c>vpsignb</c>; at 512 bits
/// <c>(p ^ m) - m</c>, m the nibble's sign): at most 2 x 8 x 127 = 2,032 per pair, 4,064 per block.
/// </summary>
internal readonly struct ProductS4 : INibblePlaneOperator
{
    public static int Term(int nibble, int plane) => ((nibble ^ 8) - 8) * plane;

    public static Vector128<short> Terms(Vector128<byte> code, Vector128<byte> low, Vector128<byte> high)
    {
        var (nl, nh) = Nibbles(code);
        return Ssse3.MultiplyAddAdjacent(Vector128.Abs(nl).AsByte(), Ssse3.Sign(low.AsSByte(), nl))
            + Ssse3.MultiplyAddAdjacent(Vector128.Abs(nh).AsByte(), Ssse3.Sign(high.AsSByte(), nh));
    }

    public static Vector256<short> Terms(Vector256<byte> code, Vector256<byte> low, Vector256<byte> high)
    {
        var nibble = Vector256.Create((byte)0xF);
        var eight = Vector256.Create((sbyte)8);
        var nl = ((code & nibble).AsSByte() ^ eight) - eight;
        var nh = ((Vector256.ShiftRightLogical(code.AsUInt16(), 4).AsByte() & nibble).AsSByte() ^ eight) - eight;
        return Avx2.MultiplyAddAdjacent(Vector256.Abs(nl).AsByte(), Avx2.Sign(low.AsSByte(), nl))
            + Avx2.MultiplyAddAdjacent(Vector256.Abs(nh).AsByte(), Avx2.Sign(high.AsSByte(), nh));
    }

    public static Vector512<short> Terms(Vector512<byte> code, Vector512<byte> low, Vector512<byte> high)
    {
        var nibble = Vector512.Create((byte)0xF);
        var eight = Vector512.Create((sbyte)8);
        var nl = ((code & nibble).AsSByte() ^ eight) - eight;
        var nh = ((Vector512.ShiftRightLogical(code.AsUInt16(), 4).AsByte() & nibble).AsSByte() ^ eight) - eight;

        // No vpsignb at 512 bits: the plane's sign flipped where the nibble is negative, (p ^ m) - m, m = n >> 7.
        var ml = Vector512.ShiftRightArithmetic(nl, 7);
        var mh = Vector512.ShiftRightArithmetic(nh, 7);
        return Avx512BW.MultiplyAddAdjacent(Vector512.Abs(nl).AsByte(), (low.AsSByte() ^ ml) - ml)
            + Avx512BW.MultiplyAddAdjacent(Vector512.Abs(nh).AsByte(), (high.AsSByte() ^ mh) - mh);
    }

    public static Vector128<int> TermsWidened(Vector128<byte> code, Vector128<byte> low, Vector128<byte> high)
    {
        var (nl, nh) = Nibbles(code);
        return CodeMath.MultiplyPairs(Vector128.WidenLower(nl), Vector128.WidenLower(low.AsSByte()))
            + CodeMath.MultiplyPairs(Vector128.WidenUpper(nl), Vector128.WidenUpper(low.AsSByte()))
            + CodeMath.MultiplyPairs(Vector128.WidenLower(nh), Vector128.WidenLower(high.AsSByte()))
            + CodeMath.MultiplyPairs(Vector128.WidenUpper(nh), Vector128.WidenUpper(high.AsSByte()));
    }

    private static (Vector128<sbyte> Low, Vector128<sbyte> High) Nibbles(Vector128<byte> code)
    {
        var nibble = Vector128.Create((byte)0xF);
        var eight = Vector128.Create((sbyte)8);
        return (((code & nibble).AsSByte() ^ eight) - eight,
            ((Vector128.ShiftRightLogical(code.AsUInt16(), 4).AsByte() & nibble).AsSByte() ^ eight) - eight);
    }
}
