namespace VectorIndex.Tests;

/// <summary>Add, replace, remove, contains, filter and the small-index edge cases of <see cref="HnswIndex"/>.</summary>
public sealed class IndexBehaviourTests
{
    private const int D = 16;

    [Fact]
    public void An_empty_index_returns_nothing()
    {
        using var index = new HnswIndex(new HnswOptions { Dimensions = D });
        index.Search(new float[D], 5).Should().BeEmpty();
        index.Count.Should().Be(0);
    }

    [Fact]
    public void A_single_vector_is_found_with_distance_zero()
    {
        using var index = new HnswIndex(new HnswOptions { Dimensions = D });
        float[] v = TestData.Uniform(1, D, 1);
        index.Add(42, v);
        index.Search(v, 3).Should().Equal(new SearchResult(42, 0f));
    }

    [Fact]
    public void Fewer_than_k_vectors_return_all_of_them_nearest_first()
    {
        float[] data = TestData.Uniform(7, D, 2);
        using var index = new HnswIndex(new HnswOptions { Dimensions = D });
        using var exact = new BruteForceIndex(D);
        for (int i = 0; i < 7; i++)
        {
            index.Add((ulong)i, TestData.Row(data, D, i));
            exact.Add((ulong)i, TestData.Row(data, D, i));
        }

        index.Search(TestData.Row(data, D, 3), 50).Should().Equal(exact.Search(TestData.Row(data, D, 3), 50));
    }

    [Fact]
    public void Adding_an_existing_key_replaces_its_vector()
    {
        float[] data = TestData.Clustered(3_000, D, seed: 3);
        ulong[] keys = TestData.Keys(3_000);
        using var index = new HnswIndex(new HnswOptions { Dimensions = D });
        index.AddRange(keys, data);

        float[] moved = Enumerable.Repeat(25f, D).ToArray();
        float[] old = TestData.Row(data, D, 10).ToArray();
        index.Add(keys[10], moved);

        index.Count.Should().Be(3_000);
        var stored = new float[D];
        index.TryGetVector(keys[10], stored).Should().BeTrue();
        stored.Should().Equal(moved);
        index.Search(moved, 1).Single().Should().Be(new SearchResult(keys[10], 0f));
        index.Search(old, 3).Should().NotContain(r => r.Key == keys[10], "the old vector is gone");
        GraphInvariants.Check(index);
    }

    [Fact]
    public void A_removed_key_is_never_returned_and_can_be_added_again()
    {
        float[] data = TestData.Clustered(2_000, D, seed: 4);
        ulong[] keys = TestData.Keys(2_000);
        using var index = new HnswIndex(new HnswOptions { Dimensions = D });
        index.AddRange(keys, data);

        var removed = keys.Where((_, i) => i % 3 == 0).ToHashSet();
        foreach (ulong key in removed)
        {
            index.Remove(key).Should().BeTrue();
        }

        index.Remove(keys[0]).Should().BeFalse("it is gone already");
        index.Count.Should().Be(2_000 - removed.Count);
        index.Contains(keys[0]).Should().BeFalse();
        index.TryGetVector(keys[0], new float[D]).Should().BeFalse();

        using var exact = new BruteForceIndex(D);
        for (int i = 0; i < keys.Length; i++)
        {
            if (!removed.Contains(keys[i]))
            {
                exact.Add(keys[i], TestData.Row(data, D, i));
            }
        }

        for (int i = 0; i < 100; i++)
        {
            IReadOnlyList<SearchResult> results = index.Search(TestData.Row(data, D, i * 7), 10);
            results.Should().HaveCount(10).And.NotContain(r => removed.Contains(r.Key));
        }

        float[] queries = TestData.Clustered(200, D, seed: 5);
        TestData.Recall(index, exact, queries, D, 10).Should().BeGreaterThanOrEqualTo(0.95);

        index.Add(keys[0], TestData.Row(data, D, 0));
        index.Contains(keys[0]).Should().BeTrue();
        index.Search(TestData.Row(data, D, 0), 1).Single().Key.Should().Be(keys[0]);
    }

    [Fact]
    public void Removing_everything_leaves_a_searchable_empty_index()
    {
        float[] data = TestData.Uniform(300, D, 6);
        ulong[] keys = TestData.Keys(300);
        using var index = new HnswIndex(new HnswOptions { Dimensions = D });
        index.AddRange(keys, data);
        foreach (ulong key in keys)
        {
            index.Remove(key);
        }

        index.Count.Should().Be(0);
        index.Search(TestData.Row(data, D, 0), 10).Should().BeEmpty();
    }

    [Theory]
    [InlineData(2)]
    [InlineData(10)]
    [InlineData(50)]
    public void The_filter_returns_only_accepted_keys_and_as_many_as_pass(int modulus)
    {
        float[] data = TestData.Clustered(4_000, D, seed: 7);
        ulong[] keys = TestData.Keys(4_000);
        using var index = new HnswIndex(new HnswOptions { Dimensions = D });
        index.AddRange(keys, data);
        using BruteForceIndex exact = TestData.Exact(keys, data, D, Metric.L2Squared);
        var options = new SearchOptions { Filter = key => key % (ulong)modulus == 0 };

        float[] queries = TestData.Clustered(100, D, seed: 8);
        for (int i = 0; i < 100; i++)
        {
            IReadOnlyList<SearchResult> results = index.Search(TestData.Row(queries, D, i), 10, options);
            results.Should().HaveCount(10).And.OnlyContain(r => r.Key % (ulong)modulus == 0);
        }

        TestData.Recall(index, exact, queries, D, 10, options).Should().BeGreaterThanOrEqualTo(0.9);
    }

    [Fact]
    public void A_filter_that_passes_fewer_than_k_keys_returns_exactly_those()
    {
        float[] data = TestData.Clustered(3_000, D, seed: 9);
        ulong[] keys = TestData.Keys(3_000);
        using var index = new HnswIndex(new HnswOptions { Dimensions = D });
        index.AddRange(keys, data);
        ulong[] allowed = [keys[5], keys[1_500], keys[2_999]];

        IReadOnlyList<SearchResult> results = index.Search(TestData.Row(data, D, 100), 10, new SearchOptions { Filter = allowed.Contains });
        results.Select(r => r.Key).Should().BeEquivalentTo(allowed);
        results.Select(r => r.Distance).Should().BeInAscendingOrder();
    }

    [Fact]
    public void Ef_below_k_is_raised_to_k()
    {
        float[] data = TestData.Clustered(2_000, D, seed: 10);
        using var index = new HnswIndex(new HnswOptions { Dimensions = D });
        index.AddRange(TestData.Keys(2_000), data);
        index.Search(TestData.Row(data, D, 0), 30, new SearchOptions { Ef = 1 }).Should().HaveCount(30);
    }

    [Fact]
    public void Add_range_keeps_the_last_row_of_a_repeated_key_and_reports_progress()
    {
        float[] data = TestData.Uniform(1_000, D, 11);
        ulong[] keys = [.. TestData.Keys(999), 1000UL]; // the last row repeats the first key
        var reports = new List<int>();
        var progress = new SynchronousProgress(reports);
        using var index = new HnswIndex(new HnswOptions { Dimensions = D });
        index.AddRange(keys, data, progress: progress);

        index.Count.Should().Be(999);
        var stored = new float[D];
        index.TryGetVector(1000, stored);
        stored.Should().Equal(TestData.Row(data, D, 999).ToArray());
        reports.Should().NotBeEmpty();
        reports.Max().Should().Be(999);
    }

    [Fact]
    public void A_cancelled_add_range_keeps_what_it_added_consistent_and_searchable()
    {
        float[] data = TestData.Clustered(20_000, D, seed: 12);
        ulong[] keys = TestData.Keys(20_000);
        using var index = new HnswIndex(new HnswOptions { Dimensions = D });
        using var cts = new CancellationTokenSource();
        var progress = new SynchronousProgress([], done =>
        {
            if (done >= 2_000)
            {
                cts.Cancel();
            }
        });

        Action act = () => index.AddRange(keys, data, 2, progress, cts.Token);
        act.Should().Throw<OperationCanceledException>();

        int count = index.Count;
        count.Should().BeInRange(2_000, 19_999);
        GraphInvariants.Check(index);
        var stored = new float[D];
        int present = 0, missedAtDefaultEf = 0;
        for (int i = 0; i < keys.Length; i++)
        {
            if (index.TryGetVector(keys[i], stored))
            {
                present++;
                stored.Should().Equal(TestData.Row(data, D, i).ToArray());

                // The graph is approximate (and built on two threads, so it differs from run to run): a rare vector
                // is missed at the default ef, never at a wide one.
                if (index.Search(stored, 1).Single().Distance != 0f)
                {
                    missedAtDefaultEf++;
                    index.Search(stored, 1, new SearchOptions { Ef = 1_000 }).Single().Distance.Should().Be(0f, $"key {keys[i]} is searchable");
                }
            }
        }

        present.Should().Be(count);
        missedAtDefaultEf.Should().BeLessThanOrEqualTo(count / 1_000);
    }

    [Fact]
    public void Cosine_stores_normalised_vectors_and_ranks_by_angle()
    {
        using var index = new HnswIndex(new HnswOptions { Dimensions = 3, Metric = Metric.Cosine });
        index.Add(1, [10, 0, 0]);
        index.Add(2, [0, 3, 0]);
        index.Add(3, [1, 1, 0]);
        var stored = new float[3];
        index.TryGetVector(1, stored);
        stored.Should().Equal(1f, 0f, 0f);

        IReadOnlyList<SearchResult> results = index.Search([5, 0.1f, 0], 3);
        results.Select(r => r.Key).Should().Equal(1UL, 3UL, 2UL);
        results[0].Distance.Should().BeApproximately(1f - (5f / MathF.Sqrt(25.01f)), 1e-6f);
    }

    [Fact]
    public void Inner_product_distance_is_one_minus_the_dot_product()
    {
        using var index = new HnswIndex(new HnswOptions { Dimensions = 2, Metric = Metric.InnerProduct });
        index.Add(1, [2, 0]);
        index.Add(2, [0, 1]);
        IReadOnlyList<SearchResult> results = index.Search([3, 1], 2);
        results.Should().Equal(new SearchResult(1, 1f - 6f), new SearchResult(2, 1f - 1f));
    }

    [Fact]
    public void Growing_far_past_the_initial_capacity_keeps_every_vector()
    {
        float[] data = TestData.Uniform(70_000, 4, 13);
        ulong[] keys = TestData.Keys(70_000);
        using var index = new HnswIndex(new HnswOptions { Dimensions = 4, M = 4, EfConstruction = 16, InitialCapacity = 10 });
        index.AddRange(keys, data);
        index.Count.Should().Be(70_000);
        var stored = new float[4];
        for (int i = 0; i < keys.Length; i += 997)
        {
            index.TryGetVector(keys[i], stored).Should().BeTrue();
            stored.Should().Equal(TestData.Row(data, 4, i).ToArray());
        }
    }

    private sealed class SynchronousProgress(List<int> reports, Action<int>? onReport = null) : IProgress<int>
    {
        public void Report(int value)
        {
            lock (reports)
            {
                reports.Add(value);
            }

            onReport?.Invoke(value);
        }
    }
}
