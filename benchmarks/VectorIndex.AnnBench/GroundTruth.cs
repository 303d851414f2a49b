namespace VectorIndex.AnnBench;

/// <summary>Exact neighbours by <see cref="BruteForceIndex"/>, in parallel over the queries, cached as .ivecs.</summary>
internal static class GroundTruth
{
    public const int K = 100;

    public static Dataset Ensure(Dataset data, string cacheFolder, Metric metric)
    {
        if (data.Truth is not null)
        {
            return data;
        }

        string path = Path.Combine(cacheFolder, $"{data.Name}.{metric}.gt{K}.ivecs");
        if (File.Exists(path))
        {
            (int[] cached, int cachedK) = Dataset.ReadIvecs(path);
            if (cached.Length == data.QueryCount * cachedK)
            {
                return data with { Truth = cached, TruthK = cachedK };
            }
        }

        Console.Error.WriteLine($"Computing exact ground truth ({data.QueryCount:N0} queries x {data.BaseCount:N0} vectors)...");
        using var exact = new BruteForceIndex(data.Dimensions, metric);
        for (int i = 0; i < data.BaseCount; i++)
        {
            exact.Add((ulong)i, data.Base.AsSpan(i * data.Dimensions, data.Dimensions));
        }

        int k = Math.Min(K, data.BaseCount);
        var truth = new int[data.QueryCount * k];
        var progress = new PhaseProgress("ground truth", data.QueryCount, "queries");
        Parallel.For(0, data.QueryCount, () => new SearchResult[k], (q, _, buffer) =>
        {
            exact.Search(data.Query(q), buffer);
            for (int j = 0; j < k; j++)
            {
                truth[(q * k) + j] = (int)buffer[j].Key;
            }

            progress.Advance();
            return buffer;
        }, _ => { });
        progress.Done();
        Dataset.WriteIvecs(path, truth, k);
        return data with { Truth = truth, TruthK = k };
    }
}
