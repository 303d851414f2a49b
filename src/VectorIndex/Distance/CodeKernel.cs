using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace VectorIndex.Distance;

/// <summary>
/// <c>sum(f(a_i, b_i))</c> over two runs of code bytes, in 32-bit integers, one method per technique (as
/// <see cref="SumKernel"/> for floats): <see cref="Vector512Unroll2"/>, <see cref="Vector256Unroll2"/>,
/// <see cref="Vector128Unroll2"/> (two accumulators, a one-vector loop, then the last bytes one by one) and
/// <see cref="Scalar"/>. <see cref="Sum{TOperator}"/> picks the widest accelerated width at JIT time. The index pads
/// every code to a multiple of 64 bytes with zeros, so on the search path the byte-by-byte tail never runs.
/// </summary>
internal static class CodeKernel
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Sum<TOperator>(ref byte a, ref byte b, nuint length)
        where TOperator : struct, ICodeOperator
    {
        if (Vector512.IsHardwareAccelerated && length >= (nuint)Vector512<byte>.Count)
        {
            return Vector512Unroll2<TOperator>(ref a, ref b, length);
        }

        if (Vector256.IsHardwareAccelerated && length >= (nuint)Vector256<byte>.Count)
        {
            return Vector256Unroll2<TOperator>(ref a, ref b, length);
        }

        if (Vector128.IsHardwareAccelerated && length >= (nuint)Vector128<byte>.Count)
        {
            return Vector128Unroll2<TOperator>(ref a, ref b, length);
        }

        return Scalar<TOperator>(ref a, ref b, length);
    }

    public static int Scalar<TOperator>(ref byte a, ref byte b, nuint length)
        where TOperator : struct, ICodeOperator => Tail<TOperator>(ref a, ref b, 0, length, 0);

    public static int Vector128Unroll2<TOperator>(ref byte a, ref byte b, nuint length)
        where TOperator : struct, ICodeOperator
    {
        const int W = 16;
        Vector128<int> s0 = default, s1 = default;
        nuint i = 0;
        for (; i + (2 * W) <= length; i += 2 * W)
        {
            s0 = TOperator.Accumulate(Vector128.LoadUnsafe(ref a, i), Vector128.LoadUnsafe(ref b, i), s0);
            s1 = TOperator.Accumulate(Vector128.LoadUnsafe(ref a, i + W), Vector128.LoadUnsafe(ref b, i + W), s1);
        }

        for (; i + W <= length; i += W)
        {
            s0 = TOperator.Accumulate(Vector128.LoadUnsafe(ref a, i), Vector128.LoadUnsafe(ref b, i), s0);
        }

        return Tail<TOperator>(ref a, ref b, i, length, Vector128.Sum(s0 + s1));
    }

    public static int Vector256Unroll2<TOperator>(ref byte a, ref byte b, nuint length)
        where TOperator : struct, ICodeOperator
    {
        const int W = 32;
        Vector256<int> s0 = default, s1 = default;
        nuint i = 0;
        for (; i + (2 * W) <= length; i += 2 * W)
        {
            s0 = TOperator.Accumulate(Vector256.LoadUnsafe(ref a, i), Vector256.LoadUnsafe(ref b, i), s0);
            s1 = TOperator.Accumulate(Vector256.LoadUnsafe(ref a, i + W), Vector256.LoadUnsafe(ref b, i + W), s1);
        }

        for (; i + W <= length; i += W)
        {
            s0 = TOperator.Accumulate(Vector256.LoadUnsafe(ref a, i), Vector256.LoadUnsafe(ref b, i), s0);
        }

        return Tail<TOperator>(ref a, ref b, i, length, Vector256.Sum(s0 + s1));
    }

    public static int Vector512Unroll2<TOperator>(ref byte a, ref byte b, nuint length)
        where TOperator : struct, ICodeOperator
    {
        const int W = 64;
        Vector512<int> s0 = default, s1 = default;
        nuint i = 0;
        for (; i + (2 * W) <= length; i += 2 * W)
        {
            s0 = TOperator.Accumulate(Vector512.LoadUnsafe(ref a, i), Vector512.LoadUnsafe(ref b, i), s0);
            s1 = TOperator.Accumulate(Vector512.LoadUnsafe(ref a, i + W), Vector512.LoadUnsafe(ref b, i + W), s1);
        }

        for (; i + W <= length; i += W)
        {
            s0 = TOperator.Accumulate(Vector512.LoadUnsafe(ref a, i), Vector512.LoadUnsafe(ref b, i), s0);
        }

        return Tail<TOperator>(ref a, ref b, i, length, Vector512.Sum(s0 + s1));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Tail<TOperator>(ref byte a, ref byte b, nuint i, nuint length, int sum)
        where TOperator : struct, ICodeOperator
    {
        for (; i < length; i++)
        {
            sum = TOperator.Accumulate(Unsafe.Add(ref a, i), Unsafe.Add(ref b, i), sum);
        }

        return sum;
    }
}
