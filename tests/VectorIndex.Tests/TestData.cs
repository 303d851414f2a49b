namespace VectorIndex.Tests;

/// <summary>Seeded synthetic data and the measures the tests share.</summary>
internal static class TestData
{
    /// <summary>
    /// <paramref name="n"/> row-major vectors of <paramref name="d"/> floats around <paramref name="clusters"/> random
    /// centres (Gaussian noise), the shape of real embeddings rather than the easy uniform cube.
    /// </summary>
    public static float[] Clustered(int n, int d, int seed, int clusters = 50, float spread = 0.35f)
    {
        var random = new Random(seed);
        var centres = new float[clusters * d];
        for (int i = 0; i < centres.Length; i++)
        {
            centres[i] = (float)((random.NextDouble() * 2) - 1);
        }

        var data = new float[n * d];
        for (int row = 0; row < n; row++)
        {
            int c = random.Next(clusters);
            for (int j = 0; j < d; j++)
            {
                data[(row * d) + j] = centres[(c * d) + j] + (spread * (float)Gaussian(random));
            }
        }

        return data;
    }

    public static float[] Uniform(int n, int d, int seed)
    {
        var random = new Random(seed);
        var data = new float[n * d];
        for (int i = 0; i < data.Length; i++)
        {
            data[i] = (float)((random.NextDouble() * 2) - 1);
        }

        return data;
    }

    public static ulong[] Keys(int n, ulong first = 1000) => [.. Enumerable.Range(0, n).Select(i => first + (ulong)i)];

    public static ReadOnlySpan<float> Row(float[] data, int d, int row) => data.AsSpan(row * d, d);

    public static BruteForceIndex Exact(ulong[] keys, float[] data, int d, Metric metric)
    {
        var exact = new BruteForceIndex(d, metric);
        for (int i = 0; i < keys.Length; i++)
        {
            exact.Add(keys[i], Row(data, d, i));
        }

        return exact;
    }

    /// <summary>Mean recall@k of the index over the queries, against the exact index.</summary>
    public static double Recall(HnswIndex index, BruteForceIndex exact, float[] queries, int d, int k, SearchOptions? options = null)
    {
        int count = queries.Length / d;
        int hits = 0;
        int expected = 0;
        for (int i = 0; i < count; i++)
        {
            var truth = exact.Search(Row(queries, d, i), k, options).Select(r => r.Key).ToHashSet();
            hits += index.Search(Row(queries, d, i), k, options).Count(r => truth.Contains(r.Key));
            expected += truth.Count;
        }

        return (double)hits / expected;
    }

    private static double Gaussian(Random random)
    {
        double u1 = 1.0 - random.NextDouble();
        double u2 = random.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }
}
