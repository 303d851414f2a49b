using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace VectorIndex.Distance;

/// <summary>A sum kernel computing one metric's core sum over two equal-length spans.</summary>
internal delegate float SpanKernel(ReadOnlySpan<float> a, ReadOnlySpan<float> b);

/// <summary>
/// One implementation technique of the distance kernels, for tests and benchmarks (never the search path, which
/// calls <see cref="SumKernel.Sum{TOperator}"/> directly).
/// </summary>
/// <param name="Name">The technique, as named in <see cref="SumKernel"/>.</param>
/// <param name="MinLength">The shortest input the variant accepts.</param>
/// <param name="IsAccelerated">Whether the CPU and runtime run it in hardware; a variant that is not accelerated
/// still computes the right result, in software.</param>
/// <param name="SquaredL2">The squared Euclidean distance.</param>
/// <param name="Dot">The dot product.</param>
internal sealed record KernelVariant(string Name, int MinLength, bool IsAccelerated, SpanKernel SquaredL2, SpanKernel Dot)
{
    public override string ToString() => Name;
}

/// <summary>The registry of kernel variants (as nietras/Sep lists its parsers): every one, and which are accelerated here.</summary>
internal static class KernelVariants
{
    public static IReadOnlyList<KernelVariant> All { get; } =
    [
        new("ScalarUnroll4", 1, true,
            (a, b) => SumKernel.ScalarUnroll4<SquaredDifference>(ref Ref(a), ref Ref(b), (nuint)a.Length),
            (a, b) => SumKernel.ScalarUnroll4<Product>(ref Ref(a), ref Ref(b), (nuint)a.Length)),
        new("Vector128Unroll4", Vector128<float>.Count, Vector128.IsHardwareAccelerated,
            (a, b) => SumKernel.Vector128Unroll4<SquaredDifference>(ref Ref(a), ref Ref(b), (nuint)a.Length),
            (a, b) => SumKernel.Vector128Unroll4<Product>(ref Ref(a), ref Ref(b), (nuint)a.Length)),
        new("Vector256Unroll4", Vector256<float>.Count, Vector256.IsHardwareAccelerated,
            (a, b) => SumKernel.Vector256Unroll4<SquaredDifference>(ref Ref(a), ref Ref(b), (nuint)a.Length),
            (a, b) => SumKernel.Vector256Unroll4<Product>(ref Ref(a), ref Ref(b), (nuint)a.Length)),
        new("Vector512Unroll4", Vector512<float>.Count, Vector512.IsHardwareAccelerated,
            (a, b) => SumKernel.Vector512Unroll4<SquaredDifference>(ref Ref(a), ref Ref(b), (nuint)a.Length),
            (a, b) => SumKernel.Vector512Unroll4<Product>(ref Ref(a), ref Ref(b), (nuint)a.Length)),
        new("Dispatch", 1, true,
            (a, b) => SumKernel.Sum<SquaredDifference>(ref Ref(a), ref Ref(b), (nuint)a.Length),
            (a, b) => SumKernel.Sum<Product>(ref Ref(a), ref Ref(b), (nuint)a.Length)),
        new("TensorPrimitives", 1, Vector128.IsHardwareAccelerated,
            (a, b) =>
            {
                float d = TensorPrimitives.Distance(a, b);
                return d * d;
            },
            TensorPrimitives.Dot),
    ];

    /// <summary>
    /// The variant <see cref="SumKernel.Sum{TOperator}"/> runs for inputs of at least its <see cref="KernelVariant.MinLength"/>:
    /// the widest accelerated vector width, else the scalar loop.
    /// </summary>
    public static KernelVariant Widest =>
        All.First(v => v.Name == (Vector512.IsHardwareAccelerated ? "Vector512Unroll4"
            : Vector256.IsHardwareAccelerated ? "Vector256Unroll4"
            : Vector128.IsHardwareAccelerated ? "Vector128Unroll4"
            : "ScalarUnroll4"));

    /// <summary>The variants the hardware runs natively.</summary>
    public static IEnumerable<KernelVariant> Accelerated => All.Where(v => v.IsAccelerated);

    private static ref float Ref(ReadOnlySpan<float> span) => ref MemoryMarshal.GetReference(span);
}
