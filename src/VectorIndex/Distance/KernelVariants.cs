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

/// <summary>
/// An integer code kernel over two byte spans of equal length, except the 4-bit ones, whose second span is the query's
/// two planes (<see cref="NibblePlaneKernel"/>), twice as long as the first.
/// </summary>
internal delegate int CodeSpanKernel(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b);

/// <summary>One technique of the code kernels, with its four operators (tests and benchmarks only).</summary>
/// <param name="Name">The technique, as named in <see cref="CodeKernel"/>.</param>
/// <param name="IsAccelerated">Whether the CPU runs it in hardware.</param>
/// <param name="SquaredL2U8">Unsigned 8-bit squared distance.</param>
/// <param name="DotS8">Signed 8-bit dot product.</param>
/// <param name="SquaredL2U4">Unsigned 4-bit squared distance (two codes per byte) against a query's two planes (quarter steps, -3..63).</param>
/// <param name="DotS4">Signed 4-bit dot product (two codes per byte) against a query's two planes (eighth steps, -127..127).</param>
internal sealed record CodeKernelVariant(
    string Name, bool IsAccelerated, CodeSpanKernel SquaredL2U8, CodeSpanKernel DotS8, CodeSpanKernel SquaredL2U4, CodeSpanKernel DotS4)
{
    public override string ToString() => Name;
}

/// <summary>The registry of code kernel variants: every one, and which are accelerated here.</summary>
internal static class CodeKernelVariants
{
    public static IReadOnlyList<CodeKernelVariant> All { get; } =
    [
        Variant("Scalar", true, static (ref byte a, ref byte b, nuint n, Op op) => op switch
        {
            Op.L2U8 => CodeKernel.Scalar<SquaredDifferenceU8>(ref a, ref b, n),
            Op.DotS8 => CodeKernel.Scalar<ProductS8>(ref a, ref b, n),
            Op.L2U4 => NibblePlaneKernel.Scalar<SquaredDifferenceU4>(ref a, ref b, n),
            _ => NibblePlaneKernel.Scalar<ProductS4>(ref a, ref b, n),
        }),
        Variant("Vector128Unroll2", Vector128.IsHardwareAccelerated, static (ref byte a, ref byte b, nuint n, Op op) => op switch
        {
            Op.L2U8 => CodeKernel.Vector128Unroll2<SquaredDifferenceU8>(ref a, ref b, n),
            Op.DotS8 => CodeKernel.Vector128Unroll2<ProductS8>(ref a, ref b, n),
            Op.L2U4 => NibblePlaneKernel.Vector128Unroll2<SquaredDifferenceU4>(ref a, ref b, n),
            _ => NibblePlaneKernel.Vector128Unroll2<ProductS4>(ref a, ref b, n),
        }),
        Variant("Vector256Unroll2", Vector256.IsHardwareAccelerated, static (ref byte a, ref byte b, nuint n, Op op) => op switch
        {
            Op.L2U8 => CodeKernel.Vector256Unroll2<SquaredDifferenceU8>(ref a, ref b, n),
            Op.DotS8 => CodeKernel.Vector256Unroll2<ProductS8>(ref a, ref b, n),
            Op.L2U4 => NibblePlaneKernel.Vector256Unroll2<SquaredDifferenceU4>(ref a, ref b, n),
            _ => NibblePlaneKernel.Vector256Unroll2<ProductS4>(ref a, ref b, n),
        }),
        Variant("Vector512Unroll2", Vector512.IsHardwareAccelerated, static (ref byte a, ref byte b, nuint n, Op op) => op switch
        {
            Op.L2U8 => CodeKernel.Vector512Unroll2<SquaredDifferenceU8>(ref a, ref b, n),
            Op.DotS8 => CodeKernel.Vector512Unroll2<ProductS8>(ref a, ref b, n),
            Op.L2U4 => NibblePlaneKernel.Vector512Unroll2<SquaredDifferenceU4>(ref a, ref b, n),
            _ => NibblePlaneKernel.Vector512Unroll2<ProductS4>(ref a, ref b, n),
        }),
        Variant("Dispatch", true, static (ref byte a, ref byte b, nuint n, Op op) => op switch
        {
            Op.L2U8 => CodeKernel.Sum<SquaredDifferenceU8>(ref a, ref b, n),
            Op.DotS8 => CodeKernel.Sum<ProductS8>(ref a, ref b, n),
            Op.L2U4 => NibblePlaneKernel.Sum<SquaredDifferenceU4>(ref a, ref b, n),
            _ => NibblePlaneKernel.Sum<ProductS4>(ref a, ref b, n),
        }),
    ];

    /// <summary>The variants the hardware runs natively.</summary>
    public static IEnumerable<CodeKernelVariant> Accelerated => All.Where(v => v.IsAccelerated);

    private delegate int Raw(ref byte a, ref byte b, nuint length, Op op);

    private enum Op
    {
        L2U8,
        DotS8,
        L2U4,
        DotS4,
    }

    private static CodeKernelVariant Variant(string name, bool accelerated, Raw raw)
    {
        CodeSpanKernel Of(Op op) => (a, b) => raw(ref MemoryMarshal.GetReference(a), ref MemoryMarshal.GetReference(b), (nuint)a.Length, op);
        return new(name, accelerated, Of(Op.L2U8), Of(Op.DotS8), Of(Op.L2U4), Of(Op.DotS4));
    }
}
