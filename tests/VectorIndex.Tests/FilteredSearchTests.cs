using Plan = VectorIndex.Graph.SearchPlan;

namespace VectorIndex.Tests;

/// <summary>One index of 20,000 clustered vectors, shared by the filtered-search tests (they only read it).</summary>
public sealed class FilteredIndexFixture : IDisposable
{
    public const int D = 32;
    public const int N = 20_000;

    public FilteredIndexFixture()
    {
        Data = TestData.Clustered(N, D, seed: 71);
        Keys = TestData.Keys(N);
        Queries = TestData.Clustered(200, D, seed: 72);
        Index = new HnswIndex(new HnswOptions { Dimensions = D });
        Index.AddRange(Keys, Data, maxDegreeOfParallelism: 1); // one thread: the same graph every run
        Exact = TestData.Exact(Keys, Data, D, Metric.L2Squared);
    }

    public float[] Data { get; }

    public ulong[] Keys { get; }

    public float[] Queries { get; }

    public HnswIndex Index { get; }

    public BruteForceIndex Exact { get; }

    /// <summary>Whether a key passes at <paramref name="passPerMille"/>: a hash of the key, so passing keys are scattered over the data.</summary>
    public static bool Passes(ulong key, int passPerMille) => (int)((key * 0x9E3779B97F4A7C15UL) >> 40) % 1000 < passPerMille;

    public void Dispose()
    {
        Index.Dispose();
        Exact.Dispose();
    }
}

/// <summary>
/// <see cref="SearchOptions.Filter"/> and <see cref="SearchOptions.AllowedKeys"/> at pass rates from 100% down to 0.1%:
/// only accepted keys come back, as many as pass, with recall@10 against the exact filtered answer.
/// </summary>
public sealed class FilteredSearchTests(FilteredIndexFixture fixture) : IClassFixture<FilteredIndexFixture>
{
    private const int D = FilteredIndexFixture.D;

    // The breadth at which the unfiltered search reaches recall 0.95 on this data: a filter must not lower it.
    private const int Ef = 200;

    public static TheoryData<int> PassRates => [1000, 500, 100, 10, 1];

    [Theory]
    [MemberData(nameof(PassRates))]
    public void A_filter_keeps_recall_at_every_pass_rate(int passPerMille)
    {
        var options = new SearchOptions { Ef = Ef, Filter = key => FilteredIndexFixture.Passes(key, passPerMille) };
        CheckFiltered(options, passPerMille, plan: null, minimumRecall: 0.95);
    }

    [Theory]
    [MemberData(nameof(PassRates))]
    public void An_allowed_key_set_keeps_recall_at_every_pass_rate(int passPerMille)
    {
        var options = new SearchOptions { Ef = Ef, AllowedKeys = AllowedSet(passPerMille) };
        CheckFiltered(options, passPerMille, plan: null, minimumRecall: 0.95);
    }

    [Theory]
    [InlineData(500)]
    [InlineData(200)]
    [InlineData(100)]
    public void The_walk_through_rejected_nodes_keeps_recall_at_middle_pass_rates(int passPerMille)
    {
        var options = new SearchOptions { Ef = Ef, Filter = key => FilteredIndexFixture.Passes(key, passPerMille) };
        CheckFiltered(options, passPerMille, Plan.Bridging, minimumRecall: 0.95);
    }

    [Theory]
    [InlineData(100)]
    [InlineData(1)]
    public void The_exact_plan_returns_the_brute_force_answer(int passPerMille)
    {
        var options = new SearchOptions { Ef = Ef, AllowedKeys = AllowedSet(passPerMille) };
        var results = new SearchResult[10];
        for (int q = 0; q < 20; q++)
        {
            ReadOnlySpan<float> query = TestData.Row(fixture.Queries, D, q);
            int found = fixture.Index.Search(query, results, options, Plan.Exact);
            results[..found].Should().Equal(fixture.Exact.Search(query, 10, options));
        }
    }

    [Fact]
    public void Filter_and_allowed_keys_together_return_only_keys_that_pass_both()
    {
        HashSet<ulong> allowed = AllowedSet(200);
        var options = new SearchOptions { AllowedKeys = allowed, Filter = key => key % 2 == 0 };
        for (int q = 0; q < 20; q++)
        {
            IReadOnlyList<SearchResult> results = fixture.Index.Search(TestData.Row(fixture.Queries, D, q), 10, options);
            results.Should().HaveCount(10).And.OnlyContain(r => allowed.Contains(r.Key) && r.Key % 2 == 0);
        }
    }

    [Fact]
    public void Allowed_keys_that_are_not_in_the_index_are_ignored()
    {
        var allowed = new HashSet<ulong> { fixture.Keys[3], fixture.Keys[4_000], 5, 6, ulong.MaxValue };
        IReadOnlyList<SearchResult> results = fixture.Index.Search(TestData.Row(fixture.Queries, D, 0), 10, new SearchOptions { AllowedKeys = allowed });
        results.Select(r => r.Key).Should().BeEquivalentTo([fixture.Keys[3], fixture.Keys[4_000]]);
    }

    private HashSet<ulong> AllowedSet(int passPerMille) => [.. fixture.Keys.Where(key => FilteredIndexFixture.Passes(key, passPerMille))];

    private void CheckFiltered(SearchOptions options, int passPerMille, Plan? plan, double minimumRecall)
    {
        int passing = fixture.Keys.Count(key => FilteredIndexFixture.Passes(key, passPerMille));
        int queries = fixture.Queries.Length / D;
        var results = new SearchResult[10];
        int hits = 0;
        for (int q = 0; q < queries; q++)
        {
            ReadOnlySpan<float> query = TestData.Row(fixture.Queries, D, q);
            int found = fixture.Index.Search(query, results, options, plan);
            found.Should().Be(Math.Min(10, passing));
            results[..found].Should().OnlyContain(r => FilteredIndexFixture.Passes(r.Key, passPerMille));
            var truth = fixture.Exact.Search(query, 10, options).Select(r => r.Key).ToHashSet();
            hits += results[..found].Count(r => truth.Contains(r.Key));
        }

        ((double)hits / (queries * Math.Min(10, passing))).Should().BeGreaterThanOrEqualTo(minimumRecall);
    }
}
