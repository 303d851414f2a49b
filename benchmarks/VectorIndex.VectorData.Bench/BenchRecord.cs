using Microsoft.Extensions.VectorData;

namespace VectorIndex.VectorData.Bench;

/// <summary>
/// The benchmark's record: a key, three indexed properties whose equality filters pass 50%, 5% and 0.1% of the
/// records, a price and a vector.
/// </summary>
public sealed class BenchRecord
{
    /// <summary>The key.</summary>
    [VectorStoreKey]
    public int Id { get; set; }

    /// <summary>h0 or h1 (id % 2): a filter on one value passes 50%.</summary>
    [VectorStoreData(IsIndexed = true)]
    public string Half { get; set; } = string.Empty;

    /// <summary>c0..c19 (id % 20): 5%.</summary>
    [VectorStoreData(IsIndexed = true)]
    public string Category { get; set; } = string.Empty;

    /// <summary>0..999 (id % 1000): 0.1%.</summary>
    [VectorStoreData(IsIndexed = true)]
    public int Bucket { get; set; }

    /// <summary>Not indexed; carried so that rows have a few values, as real records do.</summary>
    [VectorStoreData]
    public int Price { get; set; }

    /// <summary>The vector; its dimensions come from the definition the benchmark builds.</summary>
    public ReadOnlyMemory<float> Vector { get; set; }
}
