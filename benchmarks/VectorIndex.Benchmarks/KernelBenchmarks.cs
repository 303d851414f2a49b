using BenchmarkDotNet.Attributes;
using VectorIndex.Distance;

namespace VectorIndex.Benchmarks;

/// <summary>
/// Every kernel variant this CPU runs natively (see <c>KernelVariants</c>), TensorPrimitives and a plain scalar
/// loop, per metric, at the lengths of common embeddings and datasets, plus an odd length that exercises tails.
/// </summary>
[MemoryDiagnoser]
public class KernelBenchmarks
{
    private float[] _a = [];
    private float[] _b = [];
    private KernelVariant _variant = null!;

    [Params(96, 128, 784, 1536, 1001)]
    public int Length { get; set; }

    [ParamsSource(nameof(Variants))]
    public string Variant { get; set; } = "";

    public static IEnumerable<string> Variants() =>
        KernelVariants.Accelerated.Select(v => v.Name).Append("NaiveScalarLoop");

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(1);
        _a = [.. Enumerable.Range(0, Length).Select(_ => (float)random.NextDouble())];
        _b = [.. Enumerable.Range(0, Length).Select(_ => (float)random.NextDouble())];
        _variant = KernelVariants.All.SingleOrDefault(v => v.Name == Variant)
            ?? new KernelVariant("NaiveScalarLoop", 1, true, NaiveL2, NaiveDot);
    }

    [Benchmark]
    public float SquaredL2() => _variant.SquaredL2(_a, _b);

    [Benchmark]
    public float Dot() => _variant.Dot(_a, _b);

    private static float NaiveL2(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        float sum = 0;
        for (int i = 0; i < a.Length; i++)
        {
            float d = a[i] - b[i];
            sum += d * d;
        }

        return sum;
    }

    private static float NaiveDot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        float sum = 0;
        for (int i = 0; i < a.Length; i++)
        {
            sum += a[i] * b[i];
        }

        return sum;
    }
}
