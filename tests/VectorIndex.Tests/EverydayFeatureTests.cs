namespace VectorIndex.Tests;

/// <summary>
/// The features users of hnswlib, FAISS and USearch reach for next: a distance threshold, range search, key listing,
/// bulk removal, clearing, batch search, statistics, and the brute-force index's parity with the graph.
/// </summary>
public sealed class EverydayFeatureTests : IClassFixture<EverydayFeatureTests.Built>
{
    private const int D = 24;
    private const int N = 6_000;
    private readonly Built _built;

    public EverydayFeatureTests(Built built) => _built = built;

    [Fact]
    public void MaxDistance_returns_the_k_nearest_within_the_threshold()
    {
        var options = new SearchOptions { Ef = 128 };
        int hits = 0, expected = 0;
        for (int q = 0; q < 100; q++)
        {
            ReadOnlySpan<float> query = TestData.Row(_built.Queries, D, q);

            // A threshold between the 5th and the 6th exact distance: exactly five lie within it.
            IReadOnlyList<SearchResult> exact = _built.Exact.Search(query, 10);
            float threshold = (exact[4].Distance + exact[5].Distance) / 2;
            var within = new SearchOptions { Ef = 128, MaxDistance = threshold };
            IReadOnlyList<SearchResult> found = _built.Index.Search(query, 10, within);
            found.Should().OnlyContain(r => r.Distance <= threshold);
            found.Count.Should().BeLessThanOrEqualTo(5);
            _built.Exact.Search(query, 10, within).Select(r => r.Key).Should().Equal(exact.Take(5).Select(r => r.Key));
            hits += found.Count(r => exact.Take(5).Any(e => e.Key == r.Key));
            expected += 5;

            // The same search without the threshold, cut by hand, gives the same answer.
            found.Should().Equal(_built.Index.Search(query, 10, options).Where(r => r.Distance <= threshold));
        }

        ((double)hits / expected).Should().BeGreaterThanOrEqualTo(0.98);
    }

    [Fact]
    public void A_threshold_below_every_distance_returns_nothing_and_nan_is_refused()
    {
        ReadOnlySpan<float> query = TestData.Row(_built.Queries, D, 0);
        _built.Index.Search(query, 10, new SearchOptions { MaxDistance = -1 }).Should().BeEmpty();
        _built.Exact.Search(query, 10, new SearchOptions { MaxDistance = -1 }).Should().BeEmpty();
        float[] q = query.ToArray();
        _built.Index.Invoking(i => i.Search(q, 10, new SearchOptions { MaxDistance = float.NaN })).Should().Throw<ArgumentException>();
    }

    [Theory]
    [InlineData(5)]
    [InlineData(30)]
    [InlineData(150)]
    public void Range_search_finds_what_exact_range_search_finds(int neighboursInside)
    {
        // The radius of each query: halfway between its n-th and (n+1)-th exact distances, so n vectors lie within it
        // and none at its edge (where the two indexes' sums, in different orders, could round either way). The
        // walk is as approximate as a k-NN search of the same breadth (24 intrinsic dimensions: recall@10 is about
        // 0.91 at ef 64 here), so the range search must find at least what that k-NN search finds for k = n (whose
        // breadth is at least k).
        int breadth = Math.Max(64, neighboursInside);
        int hits = 0, expected = 0, knnHits = 0;
        for (int q = 0; q < 60; q++)
        {
            ReadOnlySpan<float> query = TestData.Row(_built.Queries, D, q);
            IReadOnlyList<SearchResult> nearestAndNext = _built.Exact.Search(query, neighboursInside + 1);
            IReadOnlyList<SearchResult> nearest = [.. nearestAndNext.Take(neighboursInside)];
            float radius = (nearestAndNext[^2].Distance + nearestAndNext[^1].Distance) / 2;
            IReadOnlyList<SearchResult> truth = _built.Exact.SearchRange(query, radius);
            truth.Select(r => r.Key).Should().Equal(nearest.Select(r => r.Key));
            IReadOnlyList<SearchResult> found = _built.Index.SearchRange(query, radius, new SearchOptions { Ef = breadth });

            found.Should().OnlyContain(r => r.Distance <= radius);
            found.Select(r => r.Distance).Should().BeInAscendingOrder();
            found.Select(r => r.Key).Should().OnlyHaveUniqueItems();
            var truthKeys = truth.Select(r => r.Key).ToHashSet();
            found.Should().OnlyContain(r => truthKeys.Contains(r.Key), "nothing outside the radius");
            hits += found.Count;
            expected += truth.Count;

            var nearestKeys = nearest.Select(r => r.Key).ToHashSet();
            knnHits += _built.Index.Search(query, neighboursInside, new SearchOptions { Ef = breadth }).Count(r => nearestKeys.Contains(r.Key));
        }

        double recall = (double)hits / expected;
        double knnRecall = (double)knnHits / (60 * neighboursInside);
        recall.Should().BeGreaterThanOrEqualTo(Math.Min(0.99, knnRecall) - 0.01, $"the k-NN search of the same breadth finds {knnRecall:F4} (k = {neighboursInside})");
        recall.Should().BeGreaterThanOrEqualTo(0.9);
    }

    [Fact]
    public void Range_search_applies_the_filter_refuses_a_nan_radius_and_can_be_cancelled()
    {
        float[] query = TestData.Row(_built.Queries, D, 3).ToArray();
        float radius = _built.Exact.Search(query, 100)[^1].Distance;
        var even = new SearchOptions { Filter = key => key % 2 == 0 };
        IReadOnlyList<SearchResult> found = _built.Index.SearchRange(query, radius, even);
        found.Should().NotBeEmpty().And.OnlyContain(r => r.Key % 2 == 0);
        found.Count.Should().BeLessThanOrEqualTo(_built.Exact.SearchRange(query, radius, even).Count);

        _built.Index.Invoking(i => i.SearchRange(query, float.NaN)).Should().Throw<ArgumentException>().Which.ParamName.Should().Be("radius");
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        _built.Index.Invoking(i => i.SearchRange(query, radius, null, cancelled.Token)).Should().Throw<OperationCanceledException>();
    }

    [Fact]
    public void Batch_search_answers_every_row_as_a_single_search_does()
    {
        const int rows = 200, k = 10;
        float[] queries = _built.Queries.AsSpan(0, rows * D).ToArray();
        var results = new SearchResult[rows * k];
        var counts = new int[rows];
        var options = new SearchOptions { Ef = 50 };
        _built.Index.SearchBatch(queries, k, results, counts, options, maxDegreeOfParallelism: 3);
        for (int row = 0; row < rows; row++)
        {
            counts[row].Should().Be(k);
            results.AsSpan(row * k, k).ToArray().Should().Equal(_built.Index.Search(TestData.Row(queries, D, row), k, options), $"row {row}");
        }
    }

    [Fact]
    public void Batch_search_with_a_bad_row_or_short_buffers_writes_nothing()
    {
        float[] queries = _built.Queries.AsSpan(0, 3 * D).ToArray();
        queries[D + 2] = float.NaN;
        var results = new SearchResult[30];
        var counts = new int[3];
        _built.Index.Invoking(i => i.SearchBatch(queries, 10, results, counts)).Should().Throw<ArgumentException>().WithMessage("*row 1*");
        _built.Index.Invoking(i => i.SearchBatch(queries.AsMemory(0, 2 * D), 10, results.AsMemory(0, 19), counts)).Should().Throw<ArgumentException>().Which.ParamName.Should().Be("results");
        _built.Index.Invoking(i => i.SearchBatch(queries.AsMemory(0, 2 * D), 10, results, counts.AsMemory(0, 1))).Should().Throw<ArgumentException>().Which.ParamName.Should().Be("counts");
        _built.Index.Invoking(i => i.SearchBatch(queries.AsMemory(0, D + 1), 10, results, counts)).Should().Throw<ArgumentException>().Which.ParamName.Should().Be("queries");
        results.Should().OnlyContain(r => r == default);
        counts.Should().OnlyContain(c => c == 0);
    }

    [Fact]
    public void Statistics_count_the_nodes_levels_degrees_and_bytes()
    {
        HnswIndex index = _built.Index;
        IndexStatistics stats = index.GetStatistics();
        stats.Count.Should().Be(N);
        stats.NodeCount.Should().Be(N);
        stats.PendingRemovals.Should().Be(0);
        stats.NodesPerLevel.Sum().Should().Be(N);
        stats.NodesPerLevel.Count.Should().Be(stats.MaxLevel + 1);
        stats.NodesPerLevel[0].Should().BeGreaterThan(N * 9 / 10, "about 1 - 1/M of the nodes stay on layer 0");
        stats.Layer0DegreeHistogram.Sum().Should().Be(N);
        stats.Layer0DegreeHistogram.Count.Should().Be((2 * index.Options.M) + 1);

        var links = new int[2 * index.Options.M];
        double degrees = Enumerable.Range(0, N).Sum(id => index.Graph.ReadLinks(id, 0, links));
        stats.MeanLayer0Degree.Should().BeApproximately(degrees / N, 1e-9);
        int padded = (D + 15) / 16 * 16;
        stats.VectorBytes.Should().Be((long)N * padded * sizeof(float));
        stats.Layer0LinkBytes.Should().Be((long)N * (2 + (2 * index.Options.M)) * sizeof(int));
        stats.IsMemoryMapped.Should().BeFalse();
    }

    [Fact]
    public void Keys_are_listed_removed_in_bulk_and_cleared()
    {
        float[] data = TestData.Clustered(3_000, D, seed: 61);
        ulong[] keys = TestData.Keys(3_000);
        using var index = new HnswIndex(new HnswOptions { Dimensions = D, M = 8, EfConstruction = 60 });
        index.AddRange(keys, data);
        index.GetKeys().Should().BeEquivalentTo(keys);

        ulong[] gone = [.. keys.Where((_, i) => i % 3 == 0), 999_999_999];
        index.RemoveRange(gone).Should().Be(1_000, "the absent key is skipped");
        index.Count.Should().Be(2_000);
        index.GetKeys().Should().BeEquivalentTo(keys.Where((_, i) => i % 3 != 0));
        index.PendingRemovals.Should().Be(0, "a thousand removals reach the compaction threshold once, at the end");
        GraphInvariants.Check(index);
        var gonePlain = gone.ToHashSet();
        for (int q = 0; q < 50; q++)
        {
            index.Search(TestData.Row(data, D, q * 7), 10).Should().HaveCount(10).And.OnlyContain(r => !gonePlain.Contains(r.Key));
        }

        long before = index.NativeMemoryBytes;
        index.Clear();
        index.Count.Should().Be(0);
        index.GetKeys().Should().BeEmpty();
        index.Search(TestData.Row(data, D, 0), 10).Should().BeEmpty();
        index.NativeMemoryBytes.Should().BeLessThan(before);
        index.Graph.NodeCount.Should().Be(0);

        // A cleared index is an empty one: it takes vectors again and finds them.
        index.AddRange(keys.AsMemory(0, 500), data.AsMemory(0, 500 * D));
        index.Count.Should().Be(500);
        GraphInvariants.Check(index);
        using BruteForceIndex exact = TestData.Exact(keys[..500], data[..(500 * D)], D, Metric.L2Squared);
        TestData.Recall(index, exact, TestData.Clustered(50, D, seed: 62), D, 10).Should().BeGreaterThanOrEqualTo(0.95);
    }

    [Fact]
    public async Task Listing_keys_while_writers_run_sees_only_keys_that_were_added()
    {
        float[] data = TestData.Uniform(4_000, D, seed: 63);
        ulong[] keys = TestData.Keys(4_000);
        using var index = new HnswIndex(new HnswOptions { Dimensions = D, M = 8, EfConstruction = 40 });
        index.AddRange(keys.AsMemory(0, 1_000), data.AsMemory(0, 1_000 * D));
        var known = keys.ToHashSet();
        Task writer = Task.Run(() => index.AddRange(keys.AsMemory(1_000), data.AsMemory(1_000 * D), maxDegreeOfParallelism: 1));
        while (!writer.IsCompleted)
        {
            ulong[] snapshot = index.GetKeys();
            snapshot.Length.Should().BeGreaterThanOrEqualTo(1_000);
            snapshot.Should().OnlyHaveUniqueItems().And.OnlyContain(k => known.Contains(k));
        }

        await writer;
        index.GetKeys().Should().BeEquivalentTo(keys);
    }

    [Fact]
    public void A_cancelled_compaction_leaves_a_whole_index_and_a_later_one_finishes()
    {
        float[] data = TestData.Clustered(12_000, D, seed: 66);
        ulong[] keys = TestData.Keys(12_000);
        using var index = new HnswIndex(new HnswOptions { Dimensions = D, M = 8, EfConstruction = 40 });
        index.AddRange(keys, data);
        // The entry point's key among them: a cancelled repair must leave the graph's top where a search starts.
        ulong entryKey = index.Graph.KeyOf(index.Graph.EntryPoint);
        ulong[] gone = [.. keys.Where((key, i) => i % 13 == 0 || key == entryKey).Distinct()];
        foreach (ulong key in gone)
        {
            index.Remove(key); // about 924 of 12,000: below a tenth of those left, so nothing compacts by itself
        }

        int pending = index.PendingRemovals;
        pending.Should().Be(gone.Length);

        // Cancelled at its first round, deterministically (the graph's own call; this test is the only writer).
        using (var cancelled = new CancellationTokenSource())
        {
            cancelled.Cancel();
            index.Graph.RepairAroundDeleted(index.Graph.DeletedNodes(), -1, cancelled.Token).Should().BeFalse();
            AssertWhole(index, data, keys, gone);
            index.PendingRemovals.Should().Be(pending);
        }

        using (var cancelled = new CancellationTokenSource())
        {
            cancelled.Cancel();
            index.Invoking(i => i.Compact(cancelled.Token)).Should().Throw<OperationCanceledException>();
            index.PendingRemovals.Should().Be(pending, "a compaction cancelled before it began changes nothing");
        }

        // Cancelled while it runs (or, on a fast machine, not in time): either way the index is whole.
        using (var soon = new CancellationTokenSource(TimeSpan.FromMilliseconds(20)))
        {
            try
            {
                index.Compact(soon.Token).Should().Be(pending);
                index.PendingRemovals.Should().Be(0);
            }
            catch (OperationCanceledException)
            {
                index.PendingRemovals.Should().Be(pending);
                index.Graph.NodeCount.Should().Be(12_000, "nothing was freed");
            }
        }

        AssertWhole(index, data, keys, gone);
        index.Compact().Should().BeInRange(0, pending);
        index.PendingRemovals.Should().Be(0);
        index.Graph.NodeCount.Should().Be(12_000 - gone.Length);
        AssertWhole(index, data, keys, gone);
    }

    private static void AssertWhole(HnswIndex index, float[] data, ulong[] keys, ulong[] gone)
    {
        GraphInvariants.Check(index);
        index.Count.Should().Be(keys.Length - gone.Length);
        var removed = gone.ToHashSet();
        for (int i = 1; i < keys.Length; i += 97)
        {
            IReadOnlyList<SearchResult> results = index.Search(TestData.Row(data, D, i), 10, new SearchOptions { Ef = 100 });
            results.Should().HaveCount(10).And.OnlyContain(r => !removed.Contains(r.Key));
            if (!removed.Contains(keys[i]))
            {
                results.Should().Contain(r => r.Key == keys[i], "a live vector finds itself");
            }
        }
    }

    [Theory]
    [InlineData(Metric.L2Squared)]
    [InlineData(Metric.Cosine)]
    public void Brute_force_returns_stored_vectors_and_lists_its_keys(Metric metric)
    {
        float[] data = TestData.Clustered(100, D, seed: 64);
        ulong[] keys = TestData.Keys(100);
        using BruteForceIndex exact = TestData.Exact(keys, data, D, metric);
        using var graph = new HnswIndex(new HnswOptions { Dimensions = D, Metric = metric });
        graph.AddRange(keys, data);
        var fromExact = new float[D];
        var fromGraph = new float[D];
        foreach (ulong key in keys)
        {
            exact.TryGetVector(key, fromExact).Should().BeTrue();
            graph.TryGetVector(key, fromGraph).Should().BeTrue();
            fromExact.Should().Equal(fromGraph, "both store the vector the same way (normalised under cosine)");
        }

        exact.TryGetVector(1, fromExact).Should().BeFalse();
        exact.Invoking(e => e.TryGetVector(keys[0], new float[D - 1])).Should().Throw<ArgumentException>();
        exact.GetKeys().Should().BeEquivalentTo(keys);
    }

    [Fact]
    public void Brute_force_span_search_allocates_nothing_per_query()
    {
        var destination = new SearchResult[10];
        var options = new SearchOptions { Filter = key => key % 2 == 0 };
        for (int i = 0; i < 5; i++)
        {
            _built.Exact.Search(TestData.Row(_built.Queries, D, i), destination, options);
        }

        NoAllocation.Assert(
            () =>
            {
                int total = 0;
                for (int i = 0; i < 50; i++)
                {
                    total += _built.Exact.Search(TestData.Row(_built.Queries, D, i), destination, options);
                }

                return total;
            },
            500,
            "50 warm brute-force searches");
    }

    /// <summary>One index and its exact twin over seeded clustered data, shared by the tests that only read them.</summary>
    public sealed class Built : IDisposable
    {
        public Built()
        {
            float[] data = TestData.Clustered(N, D, seed: 60);
            ulong[] keys = TestData.Keys(N);
            Index = new HnswIndex(new HnswOptions { Dimensions = D, M = 12, EfConstruction = 100 });
            Index.AddRange(keys, data);
            Exact = TestData.Exact(keys, data, D, Metric.L2Squared);
            Queries = TestData.Clustered(300, D, seed: 65);
        }

        public HnswIndex Index { get; }

        public BruteForceIndex Exact { get; }

        public float[] Queries { get; }

        public void Dispose()
        {
            Index.Dispose();
            Exact.Dispose();
        }
    }
}
