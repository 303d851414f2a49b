using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace VectorIndex.Distance;

/// <summary>
/// One accumulation step of an integer code kernel, <c>acc + f(a, b)</c> over whole vectors of code bytes, at every
/// width <see cref="CodeKernel"/> uses. f of two zero bytes must be 0: zero padding then adds nothing. The x86 paths
/// use <c>vpmaddwd</c> / <c>vpmaddubsw</c> (<c>MultiplyAddAdjacent</c>, in AVX2 without VNNI); elsewhere the lanes are
/// widened to 32 bits and multiplied.
/// </summary>
internal interface ICodeOperator
{
    /// <summary>f over one byte of each code (one 8-bit coordinate, or two 4-bit ones).</summary>
    static abstract int Accumulate(byte a, byte b, int acc);

    static abstract Vector128<int> Accumulate(Vector128<byte> a, Vector128<byte> b, Vector128<int> acc);

    static abstract Vector256<int> Accumulate(Vector256<byte> a, Vector256<byte> b, Vector256<int> acc);

    static abstract Vector512<int> Accumulate(Vector512<byte> a, Vector512<byte> b, Vector512<int> acc);
}

/// <summary>
/// Unsigned 8-bit codes, <c>acc + (a - b)^2</c>: bytes widened to 16 bits, subtracted, and squared-and-paired
/// into 32 bits by <c>vpmaddwd</c> (|a - b| &lt;= 255, so a pair sums to at most 130,050).
/// </summary>
internal readonly struct SquaredDifferenceU8 : ICodeOperator
{
    public static int Accumulate(byte a, byte b, int acc)
    {
        int d = a - b;
        return acc + (d * d);
    }

    public static Vector128<int> Accumulate(Vector128<byte> a, Vector128<byte> b, Vector128<int> acc)
    {
        var lo = Vector128.WidenLower(a).AsInt16() - Vector128.WidenLower(b).AsInt16();
        var hi = Vector128.WidenUpper(a).AsInt16() - Vector128.WidenUpper(b).AsInt16();
        return acc + CodeMath.SquarePairs(lo) + CodeMath.SquarePairs(hi);
    }

    public static Vector256<int> Accumulate(Vector256<byte> a, Vector256<byte> b, Vector256<int> acc)
    {
        var lo = Vector256.WidenLower(a).AsInt16() - Vector256.WidenLower(b).AsInt16();
        var hi = Vector256.WidenUpper(a).AsInt16() - Vector256.WidenUpper(b).AsInt16();
        return acc + CodeMath.MultiplyPairs(lo, lo) + CodeMath.MultiplyPairs(hi, hi);
    }

    public static Vector512<int> Accumulate(Vector512<byte> a, Vector512<byte> b, Vector512<int> acc)
    {
        var lo = Vector512.WidenLower(a).AsInt16() - Vector512.WidenLower(b).AsInt16();
        var hi = Vector512.WidenUpper(a).AsInt16() - Vector512.WidenUpper(b).AsInt16();
        return acc + CodeMath.MultiplyPairs(lo, lo) + CodeMath.MultiplyPairs(hi, hi);
    }
}

/// <summary>Signed 8-bit codes, <c>acc + a * b</c>: bytes sign-extended to 16 bits, multiplied and paired by <c>vpmaddwd</c>.</summary>
internal readonly struct ProductS8 : ICodeOperator
{
    public static int Accumulate(byte a, byte b, int acc) => acc + ((sbyte)a * (sbyte)b);

    public static Vector128<int> Accumulate(Vector128<byte> a, Vector128<byte> b, Vector128<int> acc)
    {
        Vector128<sbyte> sa = a.AsSByte(), sb = b.AsSByte();
        return acc + CodeMath.MultiplyPairs(Vector128.WidenLower(sa), Vector128.WidenLower(sb))
            + CodeMath.MultiplyPairs(Vector128.WidenUpper(sa), Vector128.WidenUpper(sb));
    }

    public static Vector256<int> Accumulate(Vector256<byte> a, Vector256<byte> b, Vector256<int> acc)
    {
        Vector256<sbyte> sa = a.AsSByte(), sb = b.AsSByte();
        return acc + CodeMath.MultiplyPairs(Vector256.WidenLower(sa), Vector256.WidenLower(sb))
            + CodeMath.MultiplyPairs(Vector256.WidenUpper(sa), Vector256.WidenUpper(sb));
    }

    public static Vector512<int> Accumulate(Vector512<byte> a, Vector512<byte> b, Vector512<int> acc)
    {
        Vector512<sbyte> sa = a.AsSByte(), sb = b.AsSByte();
        return acc + CodeMath.MultiplyPairs(Vector512.WidenLower(sa), Vector512.WidenLower(sb))
            + CodeMath.MultiplyPairs(Vector512.WidenUpper(sa), Vector512.WidenUpper(sb));
    }
}

/// <summary>
/// Signed 4-bit codes (two's complement nibbles, -8..7; two per byte, low nibble first), <c>acc + a * b</c> over both
/// nibbles: each nibble is sign-extended in its byte (<c>(n ^ 8) - 8</c>), then <c>vpmaddubsw</c> multiplies |a| by b
/// carrying a's sign (<c>vpsignb</c>), pairs into 16 bits, and <c>vpmaddwd</c> with ones pairs into 32.
/// </summary>
internal readonly struct ProductS4 : ICodeOperator
{
    public static int Accumulate(byte a, byte b, int acc) =>
        acc + (Low(a) * Low(b)) + (High(a) * High(b));

    public static Vector128<int> Accumulate(Vector128<byte> a, Vector128<byte> b, Vector128<int> acc)
    {
        var nibble = Vector128.Create((byte)0xF);
        var eight = Vector128.Create((sbyte)8);
        var alo = ((a & nibble).AsSByte() ^ eight) - eight;
        var blo = ((b & nibble).AsSByte() ^ eight) - eight;
        var ahi = (Vector128.ShiftRightLogical(a, 4).AsSByte() ^ eight) - eight;
        var bhi = (Vector128.ShiftRightLogical(b, 4).AsSByte() ^ eight) - eight;
        if (Ssse3.IsSupported)
        {
            var pairs = Ssse3.MultiplyAddAdjacent(Vector128.Abs(alo).AsByte(), Ssse3.Sign(blo, alo))
                + Ssse3.MultiplyAddAdjacent(Vector128.Abs(ahi).AsByte(), Ssse3.Sign(bhi, ahi));
            return acc + Sse2.MultiplyAddAdjacent(pairs, Vector128<short>.One);
        }

        return acc + CodeMath.MultiplyPairs(Vector128.WidenLower(alo), Vector128.WidenLower(blo))
            + CodeMath.MultiplyPairs(Vector128.WidenUpper(alo), Vector128.WidenUpper(blo))
            + CodeMath.MultiplyPairs(Vector128.WidenLower(ahi), Vector128.WidenLower(bhi))
            + CodeMath.MultiplyPairs(Vector128.WidenUpper(ahi), Vector128.WidenUpper(bhi));
    }

    public static Vector256<int> Accumulate(Vector256<byte> a, Vector256<byte> b, Vector256<int> acc)
    {
        var nibble = Vector256.Create((byte)0xF);
        var eight = Vector256.Create((sbyte)8);
        var alo = ((a & nibble).AsSByte() ^ eight) - eight;
        var blo = ((b & nibble).AsSByte() ^ eight) - eight;
        var ahi = (Vector256.ShiftRightLogical(a, 4).AsSByte() ^ eight) - eight;
        var bhi = (Vector256.ShiftRightLogical(b, 4).AsSByte() ^ eight) - eight;
        if (Avx2.IsSupported)
        {
            var pairs = Avx2.MultiplyAddAdjacent(Vector256.Abs(alo).AsByte(), Avx2.Sign(blo, alo))
                + Avx2.MultiplyAddAdjacent(Vector256.Abs(ahi).AsByte(), Avx2.Sign(bhi, ahi));
            return acc + Avx2.MultiplyAddAdjacent(pairs, Vector256<short>.One);
        }

        return acc + CodeMath.MultiplyPairs(Vector256.WidenLower(alo), Vector256.WidenLower(blo))
            + CodeMath.MultiplyPairs(Vector256.WidenUpper(alo), Vector256.WidenUpper(blo))
            + CodeMath.MultiplyPairs(Vector256.WidenLower(ahi), Vector256.WidenLower(bhi))
            + CodeMath.MultiplyPairs(Vector256.WidenUpper(ahi), Vector256.WidenUpper(bhi));
    }

    public static Vector512<int> Accumulate(Vector512<byte> a, Vector512<byte> b, Vector512<int> acc)
    {
        var nibble = Vector512.Create((byte)0xF);
        var eight = Vector512.Create((sbyte)8);
        var alo = ((a & nibble).AsSByte() ^ eight) - eight;
        var blo = ((b & nibble).AsSByte() ^ eight) - eight;
        var ahi = (Vector512.ShiftRightLogical(a, 4).AsSByte() ^ eight) - eight;
        var bhi = (Vector512.ShiftRightLogical(b, 4).AsSByte() ^ eight) - eight;

        // No vpsignb at 512 bits: b's sign flipped where a is negative by (b ^ m) - m, m = a >> 7 (all ones or zero).
        var mlo = Vector512.ShiftRightArithmetic(alo, 7);
        var mhi = Vector512.ShiftRightArithmetic(ahi, 7);
        var pairs = CodeMath.MultiplyUnsignedSigned(Vector512.Abs(alo).AsByte(), (blo ^ mlo) - mlo)
            + CodeMath.MultiplyUnsignedSigned(Vector512.Abs(ahi).AsByte(), (bhi ^ mhi) - mhi);
        return acc + CodeMath.MultiplyPairs(pairs, Vector512<short>.One);
    }

    private static int Low(byte b) => ((b & 0xF) ^ 8) - 8;

    private static int High(byte b) => ((b >> 4) ^ 8) - 8;
}

/// <summary>The pairwise multiply-adds of the code operators, on the instruction the CPU has or widened.</summary>
internal static class CodeMath
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> SquarePairs(Vector128<short> d) => MultiplyPairs(d, d);

    /// <summary><c>a[2i] * b[2i] + a[2i+1] * b[2i+1]</c> in 32 bits (<c>pmaddwd</c>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> MultiplyPairs(Vector128<short> a, Vector128<short> b)
    {
        if (Sse2.IsSupported)
        {
            return Sse2.MultiplyAddAdjacent(a, b);
        }

        var (alo, ahi) = Vector128.Widen(a);
        var (blo, bhi) = Vector128.Widen(b);
        return (alo * blo) + (ahi * bhi);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> MultiplyPairs(Vector256<short> a, Vector256<short> b)
    {
        if (Avx2.IsSupported)
        {
            return Avx2.MultiplyAddAdjacent(a, b);
        }

        var (alo, ahi) = Vector256.Widen(a);
        var (blo, bhi) = Vector256.Widen(b);
        return (alo * blo) + (ahi * bhi);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<int> MultiplyPairs(Vector512<short> a, Vector512<short> b)
    {
        if (Avx512BW.IsSupported)
        {
            return Avx512BW.MultiplyAddAdjacent(a, b);
        }

        var (alo, ahi) = Vector512.Widen(a);
        var (blo, bhi) = Vector512.Widen(b);
        return (alo * blo) + (ahi * bhi);
    }

    /// <summary><c>a[2i] * b[2i] + a[2i+1] * b[2i+1]</c> in 16 bits, a unsigned, b signed (<c>vpmaddubsw</c>; no saturation for the 4-bit ranges).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<short> MultiplyUnsignedSigned(Vector512<byte> a, Vector512<sbyte> b)
    {
        if (Avx512BW.IsSupported)
        {
            return Avx512BW.MultiplyAddAdjacent(a, b);
        }

        // Only the total is used, so which two products share a lane does not matter.
        var (alo, ahi) = Vector512.Widen(a);
        var (blo, bhi) = Vector512.Widen(b);
        return (alo.AsInt16() * blo) + (ahi.AsInt16() * bhi);
    }

    /// <summary>Squares of the bytes of <paramref name="d"/>, summed into 32-bit lanes (the widened fallback of <c>pmaddubsw</c> + <c>pmaddwd</c>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> SquaresWidened(Vector128<byte> d)
    {
        var (lo, hi) = Vector128.Widen(d);
        return MultiplyPairs(lo.AsInt16(), lo.AsInt16()) + MultiplyPairs(hi.AsInt16(), hi.AsInt16());
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> SquaresWidened(Vector256<byte> d)
    {
        var (lo, hi) = Vector256.Widen(d);
        return MultiplyPairs(lo.AsInt16(), lo.AsInt16()) + MultiplyPairs(hi.AsInt16(), hi.AsInt16());
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<int> SquaresWidened(Vector512<byte> d)
    {
        var (lo, hi) = Vector512.Widen(d);
        return MultiplyPairs(lo.AsInt16(), lo.AsInt16()) + MultiplyPairs(hi.AsInt16(), hi.AsInt16());
    }
}
