namespace VectorIndex.Orleans.Tests;

/// <summary>Clustered vectors (Gaussian blobs around random centres) and recall against exact brute force.</summary>
public static class TestData
{
    public static float[][] Clustered(int count, int dims, int clusters, int seed)
    {
        var random = new Random(seed);
        var centres = new float[clusters][];
        for (int c = 0; c < clusters; c++)
        {
            centres[c] = new float[dims];
            for (int d = 0; d < dims; d++)
            {
                centres[c][d] = (float)(random.NextDouble() * 10);
            }
        }

        var vectors = new float[count][];
        for (int i = 0; i < count; i++)
        {
            var centre = centres[random.Next(clusters)];
            vectors[i] = new float[dims];
            for (int d = 0; d < dims; d++)
            {
                // Box-Muller: a normal sample around the centre
                double u = 1 - random.NextDouble(), v = random.NextDouble();
                vectors[i][d] = centre[d] + (float)(Math.Sqrt(-2 * Math.Log(u)) * Math.Cos(2 * Math.PI * v));
            }
        }

        return vectors;
    }

    /// <summary>The exact k nearest keys of every query (keys are the vectors' positions).</summary>
    public static ulong[][] GroundTruth(float[][] vectors, float[][] queries, int k)
    {
        using var exact = new BruteForceIndex(vectors[0].Length);
        for (int i = 0; i < vectors.Length; i++)
        {
            exact.Add((ulong)i, vectors[i]);
        }

        return [.. queries.Select(q => exact.Search(q, k).Select(r => r.Key).ToArray())];
    }

    public static double Recall(IReadOnlyList<IEnumerable<ulong>> found, ulong[][] truth)
    {
        long hits = 0, total = 0;
        for (int i = 0; i < truth.Length; i++)
        {
            var set = truth[i].ToHashSet();
            hits += found[i].Count(set.Contains);
            total += truth[i].Length;
        }

        return (double)hits / total;
    }

    public static async Task LoadAsync(ShardedCollection collection, float[][] vectors, int batch = 1000)
    {
        for (int start = 0; start < vectors.Length; start += batch)
        {
            int end = Math.Min(vectors.Length, start + batch);
            await collection.WriteAsync(Enumerable.Range(start, end - start)
                .Select(i => new ShardWrite { Key = (ulong)i, Vector = vectors[i], Payload = BitConverter.GetBytes(i) }));
        }
    }
}
