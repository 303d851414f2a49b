using System.Runtime.CompilerServices;

namespace VectorIndex.Distance;

/// <summary>
/// A metric as a type: the graph's search and insert code is generic over <c>TDistance : struct, IDistance</c>,
/// so the JIT specialises it per metric and inlines the kernel (no delegate, no virtual call per distance).
/// </summary>
internal interface IDistance
{
    /// <summary>The distance between two runs of <paramref name="length"/> floats.</summary>
    static abstract float Compute(ref float a, ref float b, nuint length);
}

/// <summary><see cref="Metric.L2Squared"/>: <c>sum((a_i - b_i)^2)</c>.</summary>
internal readonly struct L2SquaredDistance : IDistance
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Compute(ref float a, ref float b, nuint length) => SumKernel.Sum<SquaredDifference>(ref a, ref b, length);
}

/// <summary><see cref="Metric.InnerProduct"/>, and <see cref="Metric.Cosine"/> on normalised vectors: <c>1 - dot(a, b)</c>.</summary>
internal readonly struct InnerProductDistance : IDistance
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Compute(ref float a, ref float b, nuint length) => 1f - SumKernel.Sum<Product>(ref a, ref b, length);
}
