using Microsoft.Extensions.VectorData;

namespace VectorIndex.VectorData.Bench;

/// <summary>The benchmark's record: a key, an indexed category (10 values), a price and a vector.</summary>
public sealed class BenchRecord
{
    /// <summary>The key.</summary>
    [VectorStoreKey]
    public int Id { get; set; }

    /// <summary>One of c0..c9.</summary>
    [VectorStoreData(IsIndexed = true)]
    public string Category { get; set; } = string.Empty;

    /// <summary>0..999.</summary>
    [VectorStoreData]
    public int Price { get; set; }

    /// <summary>The vector; its dimensions come from the definition the benchmark builds.</summary>
    public ReadOnlyMemory<float> Vector { get; set; }
}
