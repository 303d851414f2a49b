using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace VectorIndex.Distance;

/// <summary>
/// <c>sum(f(a_i, b_i))</c> over two float runs, one method per technique:
/// <list type="bullet">
/// <item><see cref="Vector512Unroll4"/>, <see cref="Vector256Unroll4"/>, <see cref="Vector128Unroll4"/>:
/// four independent accumulators (hides the FMA latency), a one-vector loop, then a masked tail that reloads the
/// last full vector and zeroes the lanes already summed;</item>
/// <item><see cref="ScalarUnroll4"/>: four scalar accumulators, the fallback and the reference shape.</item>
/// </list>
/// <see cref="Sum{TOperator}"/> picks the widest accelerated width; the check is a JIT-time constant, so the
/// dispatch costs nothing. The index pads stored vectors and queries to a multiple of 16 floats with zeros,
/// so on the search path the tails never run.
/// </summary>
internal static class SumKernel
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sum<TOperator>(ref float a, ref float b, nuint length)
        where TOperator : struct, ISumOperator
    {
        if (Vector512.IsHardwareAccelerated && length >= (nuint)Vector512<float>.Count)
        {
            return Vector512Unroll4<TOperator>(ref a, ref b, length);
        }

        if (Vector256.IsHardwareAccelerated && length >= (nuint)Vector256<float>.Count)
        {
            return Vector256Unroll4<TOperator>(ref a, ref b, length);
        }

        if (Vector128.IsHardwareAccelerated && length >= (nuint)Vector128<float>.Count)
        {
            return Vector128Unroll4<TOperator>(ref a, ref b, length);
        }

        return ScalarUnroll4<TOperator>(ref a, ref b, length);
    }

    public static float ScalarUnroll4<TOperator>(ref float a, ref float b, nuint length)
        where TOperator : struct, ISumOperator
    {
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        nuint i = 0;
        for (; i + 4 <= length; i += 4)
        {
            s0 = TOperator.Accumulate(Unsafe.Add(ref a, i), Unsafe.Add(ref b, i), s0);
            s1 = TOperator.Accumulate(Unsafe.Add(ref a, i + 1), Unsafe.Add(ref b, i + 1), s1);
            s2 = TOperator.Accumulate(Unsafe.Add(ref a, i + 2), Unsafe.Add(ref b, i + 2), s2);
            s3 = TOperator.Accumulate(Unsafe.Add(ref a, i + 3), Unsafe.Add(ref b, i + 3), s3);
        }

        for (; i < length; i++)
        {
            s0 = TOperator.Accumulate(Unsafe.Add(ref a, i), Unsafe.Add(ref b, i), s0);
        }

        return (s0 + s1) + (s2 + s3);
    }

    /// <summary>Requires <paramref name="length"/> &gt;= 4.</summary>
    public static float Vector128Unroll4<TOperator>(ref float a, ref float b, nuint length)
        where TOperator : struct, ISumOperator
    {
        const int W = 4;
        Vector128<float> s0 = default, s1 = default, s2 = default, s3 = default;
        nuint i = 0;
        for (; i + (4 * W) <= length; i += 4 * W)
        {
            s0 = TOperator.Accumulate(Vector128.LoadUnsafe(ref a, i), Vector128.LoadUnsafe(ref b, i), s0);
            s1 = TOperator.Accumulate(Vector128.LoadUnsafe(ref a, i + W), Vector128.LoadUnsafe(ref b, i + W), s1);
            s2 = TOperator.Accumulate(Vector128.LoadUnsafe(ref a, i + (2 * W)), Vector128.LoadUnsafe(ref b, i + (2 * W)), s2);
            s3 = TOperator.Accumulate(Vector128.LoadUnsafe(ref a, i + (3 * W)), Vector128.LoadUnsafe(ref b, i + (3 * W)), s3);
        }

        for (; i + W <= length; i += W)
        {
            s0 = TOperator.Accumulate(Vector128.LoadUnsafe(ref a, i), Vector128.LoadUnsafe(ref b, i), s0);
        }

        if (i < length)
        {
            // Reload the last full vector; lanes below `i` were summed already and are masked to zero.
            nuint last = length - W;
            var keep = Vector128.GreaterThanOrEqual(Vector128<int>.Indices, Vector128.Create((int)(i - last))).AsSingle();
            s1 = TOperator.Accumulate(
                Vector128.ConditionalSelect(keep, Vector128.LoadUnsafe(ref a, last), default),
                Vector128.ConditionalSelect(keep, Vector128.LoadUnsafe(ref b, last), default),
                s1);
        }

        return Vector128.Sum((s0 + s1) + (s2 + s3));
    }

    /// <summary>Requires <paramref name="length"/> &gt;= 8.</summary>
    public static float Vector256Unroll4<TOperator>(ref float a, ref float b, nuint length)
        where TOperator : struct, ISumOperator
    {
        const int W = 8;
        Vector256<float> s0 = default, s1 = default, s2 = default, s3 = default;
        nuint i = 0;
        for (; i + (4 * W) <= length; i += 4 * W)
        {
            s0 = TOperator.Accumulate(Vector256.LoadUnsafe(ref a, i), Vector256.LoadUnsafe(ref b, i), s0);
            s1 = TOperator.Accumulate(Vector256.LoadUnsafe(ref a, i + W), Vector256.LoadUnsafe(ref b, i + W), s1);
            s2 = TOperator.Accumulate(Vector256.LoadUnsafe(ref a, i + (2 * W)), Vector256.LoadUnsafe(ref b, i + (2 * W)), s2);
            s3 = TOperator.Accumulate(Vector256.LoadUnsafe(ref a, i + (3 * W)), Vector256.LoadUnsafe(ref b, i + (3 * W)), s3);
        }

        for (; i + W <= length; i += W)
        {
            s0 = TOperator.Accumulate(Vector256.LoadUnsafe(ref a, i), Vector256.LoadUnsafe(ref b, i), s0);
        }

        if (i < length)
        {
            nuint last = length - W;
            var keep = Vector256.GreaterThanOrEqual(Vector256<int>.Indices, Vector256.Create((int)(i - last))).AsSingle();
            s1 = TOperator.Accumulate(
                Vector256.ConditionalSelect(keep, Vector256.LoadUnsafe(ref a, last), default),
                Vector256.ConditionalSelect(keep, Vector256.LoadUnsafe(ref b, last), default),
                s1);
        }

        return Vector256.Sum((s0 + s1) + (s2 + s3));
    }

    /// <summary>Requires <paramref name="length"/> &gt;= 16.</summary>
    public static float Vector512Unroll4<TOperator>(ref float a, ref float b, nuint length)
        where TOperator : struct, ISumOperator
    {
        const int W = 16;
        Vector512<float> s0 = default, s1 = default, s2 = default, s3 = default;
        nuint i = 0;
        for (; i + (4 * W) <= length; i += 4 * W)
        {
            s0 = TOperator.Accumulate(Vector512.LoadUnsafe(ref a, i), Vector512.LoadUnsafe(ref b, i), s0);
            s1 = TOperator.Accumulate(Vector512.LoadUnsafe(ref a, i + W), Vector512.LoadUnsafe(ref b, i + W), s1);
            s2 = TOperator.Accumulate(Vector512.LoadUnsafe(ref a, i + (2 * W)), Vector512.LoadUnsafe(ref b, i + (2 * W)), s2);
            s3 = TOperator.Accumulate(Vector512.LoadUnsafe(ref a, i + (3 * W)), Vector512.LoadUnsafe(ref b, i + (3 * W)), s3);
        }

        for (; i + W <= length; i += W)
        {
            s0 = TOperator.Accumulate(Vector512.LoadUnsafe(ref a, i), Vector512.LoadUnsafe(ref b, i), s0);
        }

        if (i < length)
        {
            nuint last = length - W;
            var keep = Vector512.GreaterThanOrEqual(Vector512<int>.Indices, Vector512.Create((int)(i - last))).AsSingle();
            s1 = TOperator.Accumulate(
                Vector512.ConditionalSelect(keep, Vector512.LoadUnsafe(ref a, last), default),
                Vector512.ConditionalSelect(keep, Vector512.LoadUnsafe(ref b, last), default),
                s1);
        }

        return Vector512.Sum((s0 + s1) + (s2 + s3));
    }
}
