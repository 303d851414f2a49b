using System.Diagnostics;
using System.Globalization;
using VectorIndex.Graph;

namespace VectorIndex.AnnBench;

/// <summary>
/// Filtered search at several pass rates: each plan the index has (its own choice, the plain walk, the walk through
/// rejected nodes, the exact scan) by recall@k against the exact filtered answer and single-thread QPS, as a
/// function filter and as an allowed-key set. Keys pass by a hash, so the passing ones are scattered over the data.
/// </summary>
internal static class FilterRun
{
    private const int MaxQueries = 1_000;

    /// <summary>
    /// Prints the table. With <paramref name="hnswlib"/> (the peer's build parameters and cache), hnswlib 0.8.0's
    /// filtered searchKnn runs at the same pass rates, ef and queries, on its own build (see Peers.RunFiltered).
    /// </summary>
    public static void Measure(
        Dataset data, HnswIndex index, int[] passPerMille, int ef, int k, int repeat, (string Cache, int M, int Efc, int Threads)? hnswlib = null)
    {
        // The exact plans scan up to half the base per query: 1,000 queries keep the run to minutes.
        Dataset all = data;
        data = data.QueryCount > MaxQueries ? data with { Queries = data.Queries[..(MaxQueries * data.Dimensions)] } : data;
        var inv = CultureInfo.InvariantCulture;
        Dictionary<int, (double Recall, double Qps)>? peer = null;
        if (hnswlib is { } h)
        {
            (int, int[])[] truths = [.. passPerMille.Select(p => (p, Answers(data, index, FunctionFilter(ef, p), SearchPlan.Exact, k)))];
            peer = Peers.RunFiltered(all, h.Cache, h.M, h.Efc, h.Threads, ef, k, repeat, data.QueryCount, truths);
        }

        Console.WriteLine($"| pass rate | filter as | plan | recall@{k} | QPS 1 thread | QPS / exact scan's |");
        Console.WriteLine("| ---: | --- | --- | ---: | ---: | ---: |");
        foreach (int perMille in passPerMille)
        {
            var set = new HashSet<ulong>();
            for (int i = 0; i < data.BaseCount; i++)
            {
                if (Passes((ulong)i, perMille))
                {
                    set.Add((ulong)i);
                }
            }

            SearchOptions byFunction = FunctionFilter(ef, perMille);
            var bySet = new SearchOptions { Ef = ef, AllowedKeys = set };
            int[] truth = Answers(data, index, byFunction, SearchPlan.Exact, k);
            double exactQps = 0;
            foreach ((string name, SearchOptions options) in new[] { ("function", byFunction), ("key set", bySet) })
            {
                foreach (SearchPlan? plan in new SearchPlan?[] { SearchPlan.Exact, null, SearchPlan.Walk, SearchPlan.Bridging })
                {
                    double recall = Recall(Answers(data, index, options, plan, k), truth, k);
                    double qps = Qps(data, index, options, plan, k, repeat);
                    if (plan == SearchPlan.Exact && name == "function")
                    {
                        exactQps = qps;
                    }

                    string planName = plan?.ToString() ?? "chosen: " + index.PlanFor(options, k);
                    Console.WriteLine(string.Create(inv, $"| {perMille / 10.0:0.#}% | {name} | {planName} | {recall:F4} | {qps:F0} | {qps / exactQps:F2}x |"));
                }
            }

            if (peer is not null && peer.TryGetValue(perMille, out (double Recall, double Qps) p))
            {
                Console.WriteLine(string.Create(inv, $"| {perMille / 10.0:0.#}% | function | hnswlib 0.8.0 searchKnn filter | {p.Recall:F4} | {p.Qps:F0} | {p.Qps / exactQps:F2}x |"));
            }
        }

        Console.WriteLine();
    }

    private static SearchOptions FunctionFilter(int ef, int perMille) => new() { Ef = ef, Filter = key => Passes(key, perMille) };

    /// <summary>Whether a key passes at the pass rate: a hash, so passing keys are scattered (the hnswlib harness has the same).</summary>
    public static bool Passes(ulong key, int passPerMille) => (int)((key * 0x9E3779B97F4A7C15UL) >> 40) % 1000 < passPerMille;

    private static int[] Answers(Dataset data, HnswIndex index, SearchOptions options, SearchPlan? plan, int k)
    {
        int[] answers = new int[data.QueryCount * k];
        Array.Fill(answers, -1);
        var results = new SearchResult[k];
        for (int q = 0; q < data.QueryCount; q++)
        {
            int found = index.Search(data.Query(q), results, options, plan);
            for (int j = 0; j < found; j++)
            {
                answers[(q * k) + j] = (int)results[j].Key;
            }
        }

        return answers;
    }

    private static double Recall(int[] answers, int[] truth, int k)
    {
        long hits = 0, expected = 0;
        for (int q = 0; q < truth.Length / k; q++)
        {
            ReadOnlySpan<int> t = truth.AsSpan(q * k, k);
            foreach (int a in answers.AsSpan(q * k, k))
            {
                hits += a >= 0 && t.Contains(a) ? 1 : 0;
            }

            foreach (int x in t)
            {
                expected += x >= 0 ? 1 : 0;
            }
        }

        return expected == 0 ? 1 : (double)hits / expected;
    }

    private static double Qps(Dataset data, HnswIndex index, SearchOptions options, SearchPlan? plan, int k, int repeat)
    {
        var results = new SearchResult[k];
        double best = double.MaxValue;
        for (int r = 0; r < repeat; r++)
        {
            long start = Stopwatch.GetTimestamp();
            for (int q = 0; q < data.QueryCount; q++)
            {
                index.Search(data.Query(q), results, options, plan);
            }

            best = Math.Min(best, Stopwatch.GetElapsedTime(start).TotalSeconds);
        }

        return data.QueryCount / best;
    }
}
