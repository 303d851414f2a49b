using BenchmarkDotNet.Attributes;

namespace VectorIndex.Benchmarks;

/// <summary>Search at fixed ef on a prebuilt index (recall printed next to the time), and insert throughput.</summary>
[MemoryDiagnoser]
public class SearchBenchmarks
{
    private const int N = 50_000;
    private const int Queries = 1_000;
    private HnswIndex _index = null!;
    private float[] _queries = [];
    private readonly SearchResult[] _results = new SearchResult[10];
    private SearchOptions _options = null!;

    [Params(128, 784)]
    public int Dimensions { get; set; }

    [Params(32, 128)]
    public int Ef { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        float[] data = Data.Clustered(N, Dimensions, 1);
        _queries = Data.Clustered(Queries, Dimensions, 2);
        _index = new HnswIndex(new HnswOptions { Dimensions = Dimensions });
        _index.AddRange(Data.Keys(N), data);
        _options = new SearchOptions { Ef = Ef };

        using var exact = new BruteForceIndex(Dimensions);
        for (int i = 0; i < N; i++)
        {
            exact.Add((ulong)i, data.AsSpan(i * Dimensions, Dimensions));
        }

        int hits = 0;
        for (int q = 0; q < 200; q++)
        {
            var truth = exact.Search(Query(q), 10).Select(r => r.Key).ToHashSet();
            hits += _index.Search(Query(q), 10, _options).Count(r => truth.Contains(r.Key));
        }

        Console.WriteLine($"// recall@10 at d = {Dimensions}, ef = {Ef}: {hits / 2000.0:F4}");
    }

    [GlobalCleanup]
    public void Cleanup() => _index.Dispose();

    /// <summary>1,000 queries, one thread, the allocation-free overload.</summary>
    [Benchmark(OperationsPerInvoke = Queries)]
    public int Search()
    {
        int found = 0;
        for (int q = 0; q < Queries; q++)
        {
            found += _index.Search(Query(q), _results, _options);
        }

        return found;
    }

    private ReadOnlySpan<float> Query(int q) => _queries.AsSpan(q * Dimensions, Dimensions);
}

/// <summary>Inserting 10,000 vectors into an empty index, one thread and all threads.</summary>
public class InsertBenchmarks
{
    private const int N = 10_000;
    private float[] _data = [];
    private ulong[] _keys = [];

    [Params(128)]
    public int Dimensions { get; set; }

    [Params(1, -1)]
    public int Threads { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _data = Data.Clustered(N, Dimensions, 3);
        _keys = Data.Keys(N);
    }

    [Benchmark(OperationsPerInvoke = N)]
    public int Insert()
    {
        using var index = new HnswIndex(new HnswOptions { Dimensions = Dimensions });
        index.AddRange(_keys, _data, Threads);
        return index.Count;
    }
}

internal static class Data
{
    public static ulong[] Keys(int n) => [.. Enumerable.Range(0, n).Select(i => (ulong)i)];

    public static float[] Clustered(int n, int d, int seed)
    {
        var centres = new Random(99);
        float[] centre = [.. Enumerable.Range(0, 100 * d).Select(_ => (float)((centres.NextDouble() * 2) - 1))];
        var random = new Random(seed);
        var data = new float[n * d];
        for (int row = 0; row < n; row++)
        {
            int c = random.Next(100);
            for (int j = 0; j < d; j++)
            {
                double g = Math.Sqrt(-2.0 * Math.Log(1.0 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
                data[(row * d) + j] = centre[(c * d) + j] + (float)(0.3 * g);
            }
        }

        return data;
    }
}
