using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace VectorIndex.Distance;

/// <summary>
/// One accumulation step of the 8-bit code kernel, <c>acc + f(a, b)</c> over whole vectors of code bytes, at every
/// width <see cref="CodeKernel"/> uses (the 4-bit sums have their own kernel, <see cref="NibblePlaneKernel"/>). f of
/// two zero bytes must be 0: zero padding then adds nothing. The x86 paths use <c>vpmaddwd</c>
/// (<c>MultiplyAddAdjacent</c>, in AVX2 without VNNI); elsewhere the lanes are widened to 32 bits and multiplied.
/// </summary>
internal interface ICodeOperator
{
    /// <summary>f over one byte of each code (one 8-bit coordinate).</summary>
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
