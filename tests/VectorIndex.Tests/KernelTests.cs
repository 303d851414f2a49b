using VectorIndex.Distance;

namespace VectorIndex.Tests;

/// <summary>
/// Every kernel variant this CPU runs natively, at every length 1..300 and at unaligned offsets, against a
/// double-precision scalar reference. CI runs this class again with AVX2 and with all hardware intrinsics off,
/// so the fallbacks are covered too.
/// </summary>
public sealed class KernelTests
{
    private const int MaxLength = 300;

    public static TheoryData<string> Variants()
    {
        var data = new TheoryData<string>();
        foreach (KernelVariant v in KernelVariants.Accelerated)
        {
            data.Add(v.Name);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public void Squared_l2_matches_the_double_reference_at_every_length(string name)
    {
        KernelVariant variant = KernelVariants.All.Single(v => v.Name == name);
        ForEveryLength(variant, (a, b) => variant.SquaredL2(a, b), ReferenceSquaredL2);
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public void Dot_matches_the_double_reference_at_every_length(string name)
    {
        KernelVariant variant = KernelVariants.All.Single(v => v.Name == name);
        ForEveryLength(variant, (a, b) => variant.Dot(a, b), ReferenceDot);
    }

    [Fact]
    public void The_metric_types_the_graph_uses_match_the_reference()
    {
        ForEveryLength(
            KernelVariants.All[0],
            (a, b) => L2SquaredDistance.Compute(ref Ref(a), ref Ref(b), (nuint)a.Length),
            ReferenceSquaredL2);
        ForEveryLength(
            KernelVariants.All[0],
            (a, b) => InnerProductDistance.Compute(ref Ref(a), ref Ref(b), (nuint)a.Length),
            (a, b) => (1.0 - ReferenceDot(a, b).Value, ReferenceDot(a, b).Magnitude + 1));
    }

    [Fact]
    public void The_dispatch_runs_the_widest_accelerated_variant()
    {
        // Each width sums in its own order, so equal bits at every length say which loop ran.
        KernelVariant widest = KernelVariants.Widest;
        KernelVariant dispatch = KernelVariants.All.Single(v => v.Name == "Dispatch");
        widest.IsAccelerated.Should().BeTrue();
        var random = new Random(8);
        float[] a = [.. Enumerable.Range(0, MaxLength).Select(_ => (float)((random.NextDouble() * 4) - 2))];
        float[] b = [.. Enumerable.Range(0, MaxLength).Select(_ => (float)((random.NextDouble() * 4) - 2))];
        for (int length = widest.MinLength; length <= MaxLength; length++)
        {
            ReadOnlySpan<float> x = a.AsSpan(0, length), y = b.AsSpan(0, length);
            BitConverter.SingleToInt32Bits(dispatch.SquaredL2(x, y)).Should().Be(
                BitConverter.SingleToInt32Bits(widest.SquaredL2(x, y)), $"squared L2 at length {length} runs {widest.Name}");
            BitConverter.SingleToInt32Bits(dispatch.Dot(x, y)).Should().Be(
                BitConverter.SingleToInt32Bits(widest.Dot(x, y)), $"dot at length {length} runs {widest.Name}");
        }
    }

    [Fact]
    public void The_registry_lists_the_scalar_fallback_and_the_dispatch_as_always_available()
    {
        KernelVariants.Accelerated.Select(v => v.Name).Should().Contain(["ScalarUnroll4", "Dispatch"]);
        KernelVariants.All.Select(v => v.Name).Should().OnlyHaveUniqueItems();
    }

    private delegate float Kernel(ReadOnlySpan<float> a, ReadOnlySpan<float> b);

    private delegate (double Value, double Magnitude) Reference(ReadOnlySpan<float> a, ReadOnlySpan<float> b);

    private static void ForEveryLength(KernelVariant variant, Kernel kernel, Reference reference)
    {
        var random = new Random(7);
        float[] a = new float[MaxLength + 3];
        float[] b = new float[MaxLength + 3];
        for (int i = 0; i < a.Length; i++)
        {
            a[i] = (float)((random.NextDouble() * 4) - 2);
            b[i] = (float)((random.NextDouble() * 4) - 2);
        }

        for (int length = Math.Max(1, variant.MinLength); length <= MaxLength; length++)
        {
            for (int offset = 0; offset < 3; offset++)
            {
                ReadOnlySpan<float> x = a.AsSpan(offset, length);
                ReadOnlySpan<float> y = b.AsSpan(3 - offset, length);
                (double expected, double magnitude) = reference(x, y);
                double actual = kernel(x, y);
                Math.Abs(actual - expected).Should().BeLessThanOrEqualTo(
                    1e-5 * magnitude,
                    $"{variant.Name} at length {length}, offset {offset}: expected {expected}, got {actual}");
            }
        }
    }

    private static (double Value, double Magnitude) ReferenceSquaredL2(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double sum = 0;
        for (int i = 0; i < a.Length; i++)
        {
            double d = (double)a[i] - b[i];
            sum += d * d;
        }

        return (sum, sum + 1e-3);
    }

    private static (double Value, double Magnitude) ReferenceDot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double sum = 0;
        double magnitude = 0;
        for (int i = 0; i < a.Length; i++)
        {
            sum += (double)a[i] * b[i];
            magnitude += Math.Abs((double)a[i] * b[i]);
        }

        return (sum, magnitude + 1e-3);
    }

    private static ref float Ref(ReadOnlySpan<float> span) => ref System.Runtime.InteropServices.MemoryMarshal.GetReference(span);
}
