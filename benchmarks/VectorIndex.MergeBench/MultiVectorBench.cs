using System.Diagnostics;
using VectorIndex;

namespace VectorIndex.MergeBench;

/// <summary>
/// The cost of MultipleVectorsPerKey: the same vectors as one key per vector, and as `per` vectors per key (chunks of a
/// document near each other). QPS best of 5 passes over 500 queries on one thread, recall@10 of keys against the exact
/// per-key minimum (200 queries).
/// </summary>
internal static class MultiVectorBench
{
    public static void Run(int per)
    {
        int n = 30_000, d = 128;
        var random = new Random(7);
        int docs = n / per;
        var data = new float[n * d];
        for (int doc = 0; doc < docs; doc++)
        {
            var centre = new float[d];
            for (int j = 0; j < d; j++) centre[j] = (float)((random.NextDouble() * 2) - 1);
            for (int c = 0; c < per; c++)
                for (int j = 0; j < d; j++)
                    data[((doc * per) + c) * d + j] = centre[j] + (0.3f * (float)((random.NextDouble() * 2) - 1));
        }

        var queries = new float[500 * d];
        for (int q = 0; q < 500; q++)
        {
            int row = random.Next(n);
            for (int j = 0; j < d; j++) queries[q * d + j] = data[row * d + j] + (0.3f * (float)((random.NextDouble() * 2) - 1));
        }
        ulong[] docKeys = [.. Enumerable.Range(0, n).Select(i => (ulong)(i / per))];
        ulong[] rowKeys = [.. Enumerable.Range(0, n).Select(i => (ulong)i)];

        using var single = new HnswIndex(new HnswOptions { Dimensions = d, EfConstruction = 100 });
        single.AddRange(rowKeys, data);
        using var multi = new HnswIndex(new HnswOptions { Dimensions = d, EfConstruction = 100, MultipleVectorsPerKey = true });
        multi.AddRange(docKeys, data);

        var res0 = new SearchResult[10];
        HashSet<ulong> Truth(int q)
        {
            var best = new Dictionary<ulong, double>();
            for (int i = 0; i < n; i++)
            {
                double s = 0;
                for (int j = 0; j < d; j++) { double x = queries[q * d + j] - data[i * d + j]; s += x * x; }
                best[docKeys[i]] = best.TryGetValue(docKeys[i], out double b) ? Math.Min(b, s) : s;
            }
            return [.. best.OrderBy(p => p.Value).Take(10).Select(p => p.Key)];
        }

        double Qps(HnswIndex index)
        {
            var r = new SearchResult[10];
            double best = double.MaxValue;
            for (int pass = 0; pass < 5; pass++)
            {
                var w = Stopwatch.StartNew();
                for (int q = 0; q < 500; q++) index.Search(queries.AsSpan(q * d, d), r);
                best = Math.Min(best, w.Elapsed.TotalSeconds);
            }
            return 500 / best;
        }

        int singleHits = 0;
        for (int q = 0; q < 200; q++)
        {
            var best = new List<(double, ulong)>();
            for (int i = 0; i < n; i++)
            {
                double s = 0;
                for (int j = 0; j < d; j++) { double x = queries[q * d + j] - data[i * d + j]; s += x * x; }
                best.Add((s, (ulong)i));
            }
            var t = best.OrderBy(p => p.Item1).Take(10).Select(p => p.Item2).ToHashSet();
            int f = single.Search(queries.AsSpan(q * d, d), res0);
            singleHits += res0.Take(f).Count(x => t.Contains(x.Key));
        }
        Console.WriteLine($"single-vector recall@10 of vectors {singleHits / 2000.0:F3} at ef 64");

        var res = new SearchResult[10];
        foreach (int ef in new[] { 64, 128, 256 })
        {
            var opt = new SearchOptions { Ef = ef };
            int hits = 0;
            for (int q = 0; q < 200; q++)
            {
                var t = Truth(q);
                int f = multi.Search(queries.AsSpan(q * d, d), res, opt);
                hits += res.Take(f).Count(x => t.Contains(x.Key));
            }

            double bestTime = double.MaxValue;
            for (int pass = 0; pass < 5; pass++)
            {
                var w = Stopwatch.StartNew();
                for (int q = 0; q < 500; q++) multi.Search(queries.AsSpan(q * d, d), res, opt);
                bestTime = Math.Min(bestTime, w.Elapsed.TotalSeconds);
            }

            Console.WriteLine($"per {per}: multi-vector ef {ef}: recall@10 of keys {hits / 2000.0:F3}, QPS {500 / bestTime:F0}");
        }

        for (int round = 0; round < 2; round++)
            Console.WriteLine($"per {per}: single-vector index QPS {Qps(single):F0}, multi-vector index QPS {Qps(multi):F0}");
    }
}
