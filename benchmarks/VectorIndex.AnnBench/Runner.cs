using System.Diagnostics;

namespace VectorIndex.AnnBench;

/// <summary>One measured point of a recall / speed curve.</summary>
internal sealed record SearchPoint(string Library, int Ef, double Recall, double Qps, double QpsAllThreads, double MeanUs, double P50Us, double P99Us);

/// <summary>What one index build cost.</summary>
internal sealed record BuildResult(string Library, int Threads, double Seconds, long ManagedBytes, long NativeBytes, int Count)
{
    public double BytesPerVector => (double)(ManagedBytes + NativeBytes) / Count;
}

/// <summary>Builds VectorIndex over a dataset and sweeps the search breadth.</summary>
internal static class Runner
{
    public static (HnswIndex Index, BuildResult Build) Build(Dataset data, HnswOptions options, int threads)
    {
        ulong[] keys = new ulong[data.BaseCount];
        for (int i = 0; i < keys.Length; i++)
        {
            keys[i] = (ulong)i;
        }

        GC.Collect();
        GC.WaitForPendingFinalizers();
        long managedBefore = GC.GetTotalMemory(true);
        var index = new HnswIndex(options with { InitialCapacity = data.BaseCount });
        int lastPercent = -1;
        var progress = new InlineProgress(done =>
        {
            int percent = (int)(100L * done / keys.Length);
            if (percent != lastPercent && !Console.IsErrorRedirected)
            {
                lastPercent = percent;
                Console.Error.Write($"\r  building with {threads} thread(s): {percent,3}%");
            }
        });
        var timer = Stopwatch.StartNew();
        index.AddRange(keys, data.Base, threads, progress);
        timer.Stop();
        if (!Console.IsErrorRedirected)
        {
            Console.Error.Write("\r" + new string(' ', 60) + "\r");
        }

        long managed = GC.GetTotalMemory(true) - managedBefore;
        return (index, new BuildResult("VectorIndex", threads, timer.Elapsed.TotalSeconds, managed, index.NativeMemoryBytes, keys.Length));
    }

    public static SearchPoint Sweep(Dataset data, HnswIndex index, int ef, int k, int repeat)
    {
        var options = new SearchOptions { Ef = ef };
        int queries = data.QueryCount;
        var results = new SearchResult[k];
        var latencies = new double[queries];

        // Pass 1 (also the warm-up): recall and per-query latency.
        long hits = 0;
        for (int q = 0; q < queries; q++)
        {
            long start = Stopwatch.GetTimestamp();
            int found = index.Search(data.Query(q), results, options);
            latencies[q] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
            ReadOnlySpan<int> truth = data.Truth.AsSpan(q * data.TruthK, k);
            for (int j = 0; j < found; j++)
            {
                hits += truth.Contains((int)results[j].Key) ? 1 : 0;
            }
        }

        // Single-thread throughput: the best of `repeat` full passes (the machine is shared and noisy).
        double best = double.MaxValue;
        for (int r = 0; r < repeat; r++)
        {
            long start = Stopwatch.GetTimestamp();
            for (int q = 0; q < queries; q++)
            {
                index.Search(data.Query(q), results, options);
            }

            best = Math.Min(best, Stopwatch.GetElapsedTime(start).TotalSeconds);
        }

        // All-thread throughput.
        long allStart = Stopwatch.GetTimestamp();
        Parallel.For(0, queries, () => new SearchResult[k], (q, _, buffer) =>
        {
            index.Search(data.Query(q), buffer, options);
            return buffer;
        }, _ => { });
        double allSeconds = Stopwatch.GetElapsedTime(allStart).TotalSeconds;

        Array.Sort(latencies);
        return new SearchPoint(
            "VectorIndex",
            ef,
            (double)hits / ((long)queries * k),
            queries / best,
            queries / allSeconds,
            latencies.Average(),
            latencies[queries / 2],
            latencies[Math.Min(queries - 1, (int)(queries * 0.99))]);
    }

    /// <summary>Reports on the calling thread (Progress&lt;T&gt; would post to the thread pool and reorder the lines).</summary>
    private sealed class InlineProgress(Action<int> report) : IProgress<int>
    {
        private readonly Lock _lock = new();

        public void Report(int value)
        {
            lock (_lock)
            {
                report(value);
            }
        }
    }
}
