namespace VectorIndex.Tests;

/// <summary>The Span overload of Search allocates nothing once the thread has searched before.</summary>
public sealed class AllocationTests
{
    [Theory]
    [InlineData(Metric.L2Squared, false, false)]
    [InlineData(Metric.Cosine, false, false)]
    [InlineData(Metric.InnerProduct, true, false)]
    [InlineData(Metric.L2Squared, false, true)]
    [InlineData(Metric.InnerProduct, true, true)]
    [InlineData(Metric.L2Squared, false, false, Quantization.Int8)]
    [InlineData(Metric.InnerProduct, true, false, Quantization.Int4)]
    [InlineData(Metric.Cosine, false, true, Quantization.Int4)]
    public void Span_search_allocates_nothing_per_query(Metric metric, bool filtered, bool multipleVectorsPerKey, Quantization quantization = Quantization.None)
    {
        const int d = 40;
        float[] data = TestData.Clustered(3_000, d, seed: 51);
        using var index = new HnswIndex(new HnswOptions
        {
            Dimensions = d,
            Metric = metric,
            MultipleVectorsPerKey = multipleVectorsPerKey,
            Quantization = quantization,
            QuantizationTrainingSize = 1_000,
        });

        // Under several vectors per key, three rows per key: 1,000 keys, each answer still 10 distinct keys.
        ulong[] keys = multipleVectorsPerKey ? [.. TestData.Keys(3_000).Select(k => k / 3)] : TestData.Keys(3_000);
        index.AddRange(keys, data);
        index.IsQuantizationTrained.Should().Be(quantization != Quantization.None);
        var options = new SearchOptions { Ef = 100, Filter = filtered ? key => key % 2 == 0 : null };
        var destination = new SearchResult[10];
        float[] queries = TestData.Clustered(200, d, seed: 52);

        for (int i = 0; i < 20; i++)
        {
            index.Search(TestData.Row(queries, d, i), destination, options);
        }

        NoAllocation.Assert(
            () =>
            {
                int total = 0;
                for (int i = 0; i < 200; i++)
                {
                    total += index.Search(TestData.Row(queries, d, i), destination, options);
                }

                return total;
            },
            2_000,
            "200 warm searches");
    }
}
