using Microsoft.Extensions.AI;
using Microsoft.Extensions.VectorData;

namespace VectorIndex.VectorData.Tests;

public sealed class Hotel
{
    [VectorStoreKey]
    public Guid Id { get; set; }

    [VectorStoreData(IsIndexed = true)]
    public string? Name { get; set; }

    [VectorStoreData]
    public int Rating { get; set; }

    [VectorStoreData]
    public double? Price { get; set; }

    [VectorStoreData]
    public bool Open { get; set; }

    [VectorStoreData]
    public string[] Tags { get; set; } = [];

    [VectorStoreData]
    public List<string> Amenities { get; set; } = [];

    [VectorStoreData]
    public DateTimeOffset Opened { get; set; }

    [VectorStoreData]
    public decimal Fee { get; set; }

    [VectorStoreVector(4)]
    public ReadOnlyMemory<float>? Embedding { get; set; }

    [VectorStoreVector(3, DistanceFunction = DistanceFunction.EuclideanDistance, IndexKind = IndexKind.Flat)]
    public float[]? Location { get; set; }
}

public sealed class KeyedRecord<TKey>
{
    [VectorStoreKey]
    public TKey Key { get; set; } = default!;

    [VectorStoreData]
    public string? Text { get; set; }

    [VectorStoreVector(2)]
    public ReadOnlyMemory<float> Vector { get; set; }
}

/// <summary>A fresh temporary directory, deleted on dispose.</summary>
public sealed class TempDirectory : IDisposable
{
    public TempDirectory() => System.IO.Directory.CreateDirectory(Path);

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "vidata-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        try
        {
            System.IO.Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

public static class Vectors
{
    public static float[] Random(Random random, int dimensions)
    {
        var v = new float[dimensions];
        for (int i = 0; i < v.Length; i++)
        {
            v[i] = (float)((random.NextDouble() * 2) - 1);
        }

        return v;
    }

    public static double Dot(float[] a, float[] b)
    {
        double sum = 0;
        for (int i = 0; i < a.Length; i++)
        {
            sum += (double)a[i] * b[i];
        }

        return sum;
    }

    public static double Norm(float[] a) => Math.Sqrt(Dot(a, a));

    public static double Cosine(float[] a, float[] b) => Dot(a, b) / (Norm(a) * Norm(b));

    public static double SquaredEuclidean(float[] a, float[] b)
    {
        double sum = 0;
        for (int i = 0; i < a.Length; i++)
        {
            double d = (double)a[i] - b[i];
            sum += d * d;
        }

        return sum;
    }

    public static async Task<List<T>> CollectAsync<T>(this IAsyncEnumerable<T> source)
    {
        var list = new List<T>();
        await foreach (var item in source)
        {
            list.Add(item);
        }

        return list;
    }
}
