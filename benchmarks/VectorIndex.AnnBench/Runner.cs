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
        var progress = new PhaseProgress($"VectorIndex build, {threads} thread(s)", keys.Length, "vectors");
        var timer = Stopwatch.StartNew();
        index.AddRange(keys, data.Base, threads, progress);
        timer.Stop();
        progress.Done();

        long managed = GC.GetTotalMemory(true) - managedBefore;
        return (index, new BuildResult(LibraryName(options.Quantization, null), threads, timer.Elapsed.TotalSeconds, managed, index.NativeMemoryBytes, keys.Length));
    }

    /// <summary>"VectorIndex", or with the quantisation and a re-rank depth other than the default: "VectorIndex-int8-r20".</summary>
    public static string LibraryName(Quantization quantization, int? rerank) =>
        quantization == Quantization.None ? "VectorIndex"
        : $"VectorIndex-{quantization.ToString().ToLowerInvariant()}" + (rerank is int r ? $"-r{r}" : "");

    /// <param name="label">How the progress lines name this point; "sweep ef N" when null.</param>
    /// <param name="rerank">The re-rank depth of a quantised index (null: the default).</param>
    public static SearchPoint Sweep(Dataset data, HnswIndex index, int ef, int k, int repeat, string? label = null, int? rerank = null)
    {
        var options = new SearchOptions { Ef = ef, Rerank = rerank };
        int queries = data.QueryCount;

        // Counted in searches over all passes: the recall pass, `repeat` timed passes and the all-thread pass. The timed
        // passes report only when they end, so that progress costs them nothing.
        var progress = new PhaseProgress(label ?? $"sweep ef {ef}", (long)queries * (repeat + 2), "searches");
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

            progress.Advance();
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
            progress.Advance(queries);
        }

        // All-thread throughput.
        long allStart = Stopwatch.GetTimestamp();
        Parallel.For(0, queries, () => new SearchResult[k], (q, _, buffer) =>
        {
            index.Search(data.Query(q), buffer, options);
            return buffer;
        }, _ => { });
        double allSeconds = Stopwatch.GetElapsedTime(allStart).TotalSeconds;
        progress.Advance(queries);
        progress.Done();

        Array.Sort(latencies);
        return new SearchPoint(
            LibraryName(index.Options.Quantization, rerank),
            ef,
            (double)hits / ((long)queries * k),
            queries / best,
            queries / allSeconds,
            latencies.Average(),
            latencies[queries / 2],
            latencies[Math.Min(queries - 1, (int)(queries * 0.99))]);
    }
}
