namespace VectorIndex.Tests;

/// <summary>Recall@10 against exact search on seeded clustered data, for each metric and both selections.</summary>
public sealed class RecallTests
{
    private const int N = 10_000;
    private const int D = 64;
    private const int Queries = 300;

    [Theory]
    [InlineData(Metric.L2Squared)]
    [InlineData(Metric.InnerProduct)]
    [InlineData(Metric.Cosine)]
    public void Recall_at_10_is_at_least_0_95_at_the_default_ef(Metric metric)
    {
        float[] data = TestData.Clustered(N, D, seed: 1);
        float[] queries = TestData.Clustered(Queries, D, seed: 1).Select(x => x + 0.01f).ToArray();
        ulong[] keys = TestData.Keys(N);
        using var index = new HnswIndex(new HnswOptions { Dimensions = D, Metric = metric });
        index.AddRange(keys, data);
        using BruteForceIndex exact = TestData.Exact(keys, data, D, metric);

        index.Count.Should().Be(N);
        double recall = TestData.Recall(index, exact, queries, D, 10);
        recall.Should().BeGreaterThanOrEqualTo(0.95, $"{metric} at EfSearch {index.Options.EfSearch}");
        GraphInvariants.Check(index);
    }

    [Theory]
    [InlineData(NeighborSelection.Simple, false, false)]
    [InlineData(NeighborSelection.Heuristic, true, false)]
    [InlineData(NeighborSelection.Heuristic, false, true)]
    [InlineData(NeighborSelection.Heuristic, true, true)]
    public void Every_selection_option_builds_a_valid_graph_with_high_recall(NeighborSelection selection, bool extend, bool keepPruned)
    {
        // Simple selection cannot bridge well-separated clusters (the paper's reason for the heuristic): uniform data.
        const int n = 4_000;
        bool uniform = selection == NeighborSelection.Simple;
        float[] data = uniform ? TestData.Uniform(n, 32, seed: 2) : TestData.Clustered(n, 32, seed: 2);
        float[] queries = uniform ? TestData.Uniform(200, 32, seed: 3) : TestData.Clustered(200, 32, seed: 3);
        ulong[] keys = TestData.Keys(n);
        using var index = new HnswIndex(new HnswOptions
        {
            Dimensions = 32,
            M = 12,
            EfConstruction = 100,
            NeighborSelection = selection,
            ExtendCandidates = extend,
            KeepPrunedConnections = keepPruned,
        });
        index.AddRange(keys, data, maxDegreeOfParallelism: 2);
        using BruteForceIndex exact = TestData.Exact(keys, data, 32, Metric.L2Squared);

        TestData.Recall(index, exact, queries, 32, 10, new SearchOptions { Ef = 128 }).Should().BeGreaterThanOrEqualTo(0.95);
        GraphInvariants.Check(index);
    }

    [Fact]
    public void Recall_grows_with_ef()
    {
        const int n = 5_000;
        float[] data = TestData.Uniform(n, 48, seed: 4);
        float[] queries = TestData.Uniform(200, 48, seed: 5);
        ulong[] keys = TestData.Keys(n);
        using var index = new HnswIndex(new HnswOptions { Dimensions = 48, M = 8, EfConstruction = 64 });
        index.AddRange(keys, data);
        using BruteForceIndex exact = TestData.Exact(keys, data, 48, Metric.L2Squared);

        double low = TestData.Recall(index, exact, queries, 48, 10, new SearchOptions { Ef = 10 });
        double high = TestData.Recall(index, exact, queries, 48, 10, new SearchOptions { Ef = 400 });
        high.Should().BeGreaterThan(low);
        high.Should().BeGreaterThanOrEqualTo(0.98);
    }

    [Fact]
    public void Results_are_sorted_nearest_first_and_carry_the_exact_distance()
    {
        float[] data = TestData.Clustered(2_000, 24, seed: 6);
        ulong[] keys = TestData.Keys(2_000);
        using var index = new HnswIndex(new HnswOptions { Dimensions = 24 });
        index.AddRange(keys, data);
        using BruteForceIndex exact = TestData.Exact(keys, data, 24, Metric.L2Squared);

        float[] query = TestData.Clustered(1, 24, seed: 7);
        IReadOnlyList<SearchResult> results = index.Search(query, 20);
        results.Should().HaveCount(20);
        results.Select(r => r.Distance).Should().BeInAscendingOrder();
        foreach (SearchResult r in results)
        {
            int row = (int)(r.Key - 1000);
            double expected = 0;
            for (int j = 0; j < 24; j++)
            {
                double diff = (double)data[(row * 24) + j] - query[j];
                expected += diff * diff;
            }

            r.Distance.Should().BeApproximately((float)expected, 1e-3f);
        }
    }
}
