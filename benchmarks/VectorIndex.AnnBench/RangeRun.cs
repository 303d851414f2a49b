using System.Diagnostics;
using System.Globalization;

namespace VectorIndex.AnnBench;

/// <summary>
/// Range search against exact range search, and batch search against a Parallel.For of single searches. The radii
/// are data-driven: for n in the list, the median over the queries of the distance to the n-th exact neighbour, so
/// about n vectors lie within each radius for a typical query.
/// </summary>
internal static class RangeRun
{
    private const int MaxQueries = 1_000;

    public static void MeasureRange(Dataset data, HnswIndex index, int[] neighbours, int[] efs, int repeat)
    {
        int queries = Math.Min(MaxQueries, data.QueryCount);
        using var exact = new BruteForceIndex(data.Dimensions, index.Metric);
        for (int i = 0; i < data.BaseCount; i++)
        {
            exact.Add((ulong)i, data.Base.AsSpan(i * data.Dimensions, data.Dimensions));
        }

        var inv = CultureInfo.InvariantCulture;
        Console.WriteLine("| about n inside | radius | mean inside (exact) | ef | recall | QPS 1 thread | exact scan QPS |");
        Console.WriteLine("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (int n in neighbours)
        {
            float[] nth = [.. Enumerable.Range(0, queries).Select(q => exact.Search(data.Query(q), n)[^1].Distance).Order()];
            float radius = nth[queries / 2];
            var clock = Stopwatch.StartNew();
            HashSet<ulong>[] truth = [.. Enumerable.Range(0, queries).Select(q => exact.SearchRange(data.Query(q), radius).Select(r => r.Key).ToHashSet())];
            double exactQps = queries / clock.Elapsed.TotalSeconds;
            long inside = truth.Sum(t => (long)t.Count);
            foreach (int ef in efs)
            {
                var options = new SearchOptions { Ef = ef };
                long hits = 0;
                for (int q = 0; q < queries; q++)
                {
                    hits += index.SearchRange(data.Query(q), radius, options).Count(r => truth[q].Contains(r.Key));
                }

                double best = 0;
                for (int r = 0; r < repeat; r++)
                {
                    clock.Restart();
                    for (int q = 0; q < queries; q++)
                    {
                        index.SearchRange(data.Query(q), radius, options);
                    }

                    best = Math.Max(best, queries / clock.Elapsed.TotalSeconds);
                }

                Console.WriteLine(string.Create(inv,
                    $"| {n} | {radius:G5} | {(double)inside / queries:F1} | {ef} | {(inside == 0 ? 1 : (double)hits / inside):F4} | {best:F0} | {exactQps:F0} |"));
            }
        }

        Console.WriteLine();
    }

    public static void MeasureBatch(Dataset data, HnswIndex index, int ef, int k, int repeat)
    {
        int rows = data.QueryCount;
        var options = new SearchOptions { Ef = ef };
        var results = new SearchResult[rows * k];
        var counts = new int[rows];
        double batch = 0, single = 0;
        for (int r = 0; r < repeat; r++)
        {
            var clock = Stopwatch.StartNew();
            index.SearchBatch(data.Queries, k, results, counts, options);
            batch = Math.Max(batch, rows / clock.Elapsed.TotalSeconds);

            clock.Restart();
            Parallel.For(0, rows, q => index.Search(data.Query(q), results.AsSpan(q * k, k), options));
            single = Math.Max(single, rows / clock.Elapsed.TotalSeconds);
        }

        Console.WriteLine($"| all cores ({Environment.ProcessorCount}), ef {ef}, k {k} | QPS |");
        Console.WriteLine("| --- | ---: |");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| SearchBatch | {batch:F0} |"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| Parallel.For of Search | {single:F0} |"));
        Console.WriteLine();
    }
}
