namespace VectorIndex.Tests;

/// <summary>AddFrom: every live vector of another index of the same shape, bit for bit, with the key rules documented.</summary>
public sealed class MergeTests
{
    private const int D = 12;

    [Theory]
    [InlineData(Metric.L2Squared)]
    [InlineData(Metric.Cosine)]
    public void Merging_two_halves_gives_every_live_vector_bit_for_bit_and_the_recall_of_one_build(Metric metric)
    {
        float[] data = TestData.Clustered(4_000, D, seed: 101);
        ulong[] keys = TestData.Keys(4_000);
        using var target = new HnswIndex(new HnswOptions { Dimensions = D, Metric = metric, M = 12, EfConstruction = 100 });
        using var source = new HnswIndex(new HnswOptions { Dimensions = D, Metric = metric, M = 8, EfConstruction = 60, Seed = 5 });
        target.AddRange(keys.AsMemory(0, 2_000), data.AsMemory(0, 2_000 * D));
        source.AddRange(keys.AsMemory(2_000), data.AsMemory(2_000 * D));
        source.Remove(keys[2_001]).Should().BeTrue();

        target.AddFrom(source, maxDegreeOfParallelism: 2).Should().Be(1_999);

        target.Count.Should().Be(3_999);
        target.Contains(keys[2_001]).Should().BeFalse("a removed vector of the other index is not copied");
        source.Count.Should().Be(1_999, "the other index is not changed");
        var stored = new float[D];
        var expected = new float[D];
        for (int i = 2_000; i < 4_000; i += 7)
        {
            if (source.TryGetVector(keys[i], expected))
            {
                target.TryGetVector(keys[i], stored).Should().BeTrue();
                stored.Should().Equal(expected, "the stored vector is copied, not normalised again");
            }
        }

        GraphInvariants.Check(target);
        var live = keys.Where(k => k != keys[2_001]).ToArray();
        var rows = data.Chunk(D).Where((_, i) => i != 2_001).SelectMany(r => r).ToArray();
        using BruteForceIndex exact = TestData.Exact(live, rows, D, metric);
        float[] queries = TestData.Clustered(100, D, seed: 102);
        TestData.Recall(target, exact, queries, D, 10).Should().BeGreaterThan(0.95);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void An_empty_index_of_the_same_graph_options_takes_the_others_graph_and_answers_identically(bool multipleVectorsPerKey)
    {
        float[] data = TestData.Clustered(3_000, D, seed: 104);
        float[] queries = TestData.Clustered(50, D, seed: 105);
        using var source = new HnswIndex(new HnswOptions { Dimensions = D, Metric = Metric.Cosine, M = 10, EfConstruction = 60 });
        source.AddRange(TestData.Keys(3_000), data, maxDegreeOfParallelism: 2);

        // EfSearch and the seed may differ: they do not shape the graph.
        using var target = new HnswIndex(new HnswOptions
        {
            Dimensions = D, Metric = Metric.Cosine, M = 10, EfConstruction = 60, Seed = 9, MultipleVectorsPerKey = multipleVectorsPerKey,
        });
        var reports = new List<BulkProgress>();
        target.AddFrom(source, progress: new BulkProgressTests.Recorder<BulkProgress>(reports)).Should().Be(3_000);

        reports.Should().Equal(new BulkProgress(3_000, 3_000));
        target.Count.Should().Be(3_000);
        target.VectorCount.Should().Be(3_000);
        GraphInvariants.Check(target);
        var options = new SearchOptions { Ef = 30 };
        for (int q = 0; q < 50; q++)
        {
            target.Search(TestData.Row(queries, D, q), 10, options).Should().Equal(source.Search(TestData.Row(queries, D, q), 10, options), $"query {q}");
        }

        // It is an ordinary index afterwards: adds, removes and a compaction work, and the source is untouched.
        target.Add(1, TestData.Row(data, D, 0));
        target.Remove(1_000).Should().BeTrue();
        target.Compact().Should().Be(1);
        GraphInvariants.Check(target);
        target.Search(TestData.Row(data, D, 0), 1).Single().Distance.Should().BeApproximately(0, 1e-5f);
        source.Count.Should().Be(3_000);
        source.Contains(1_000).Should().BeTrue();
    }

    [Fact]
    public void A_pending_removal_or_another_m_inserts_every_vector_instead_with_the_same_contents()
    {
        float[] data = TestData.Clustered(2_000, D, seed: 106);
        using var source = new HnswIndex(new HnswOptions { Dimensions = D, M = 10, EfConstruction = 60 });
        source.AddRange(TestData.Keys(2_000), data);
        source.Remove(1_005).Should().BeTrue();
        source.PendingRemovals.Should().Be(1);

        foreach (int m in new[] { 10, 6 })
        {
            using var target = new HnswIndex(new HnswOptions { Dimensions = D, M = m, EfConstruction = 60 });
            target.AddFrom(source).Should().Be(1_999);
            target.Count.Should().Be(1_999);
            target.Contains(1_005).Should().BeFalse();
            target.PendingRemovals.Should().Be(0, "the removed node was not copied");
            GraphInvariants.Check(target);
            float[] queries = TestData.Clustered(50, D, seed: 107);
            using BruteForceIndex exact = TestData.Exact(
                [.. TestData.Keys(2_000).Where(k => k != 1_005)], [.. data.Chunk(D).Where((_, i) => i != 5).SelectMany(r => r)], D, Metric.L2Squared);
            TestData.Recall(target, exact, queries, D, 10).Should().BeGreaterThan(0.95);
        }
    }

    [Fact]
    public async Task Merging_while_the_other_index_changes_and_this_one_is_searched_stays_consistent()
    {
        float[] data = TestData.Clustered(4_000, D, seed: 108);
        ulong[] keys = TestData.Keys(4_000);
        using var source = new HnswIndex(new HnswOptions { Dimensions = D, M = 8, EfConstruction = 40 });
        source.AddRange(keys.AsMemory(0, 2_000), data.AsMemory(0, 2_000 * D));

        foreach (int targetM in new[] { 8, 6 }) // the graph copy, then insertion
        {
            using var target = new HnswIndex(new HnswOptions { Dimensions = D, M = targetM, EfConstruction = 40 });
            using var stop = new CancellationTokenSource();
            var errors = new System.Collections.Concurrent.ConcurrentQueue<string>();

            // The other index gets adds meanwhile; this one is searched meanwhile: every result is a key of the data
            // at the true distance of its vector.
            Task writer = Task.Run(() =>
            {
                for (int i = 2_000; i < 4_000 && !stop.IsCancellationRequested; i++)
                {
                    source.Add(keys[i], TestData.Row(data, D, i));
                }
            });
            Task reader = Task.Run(() =>
            {
                var results = new SearchResult[5];
                for (int q = 0; !stop.IsCancellationRequested; q = (q + 1) % 4_000)
                {
                    ReadOnlySpan<float> query = TestData.Row(data, D, q);
                    int found = target.Search(query, results);
                    for (int j = 0; j < found; j++)
                    {
                        int row = (int)(results[j].Key - keys[0]);
                        if (row is < 0 or >= 4_000 || Math.Abs(results[j].Distance - Squared(query, TestData.Row(data, D, row))) > 1e-3f)
                        {
                            errors.Enqueue($"result {results[j]} for row {q}");
                        }
                    }
                }
            });

            int added = target.AddFrom(source);
            await stop.CancelAsync();
            await Task.WhenAll(writer, reader);

            errors.Should().BeEmpty();
            added.Should().BeInRange(2_000, 4_000);
            target.Count.Should().Be(added, "one consistent view of the other index: each vector it held then, once");
            GraphInvariants.Check(target);
            var stored = new float[D];
            foreach (ulong key in target.GetKeys())
            {
                target.TryGetVector(key, stored).Should().BeTrue();
                stored.Should().Equal(TestData.Row(data, D, (int)(key - keys[0])).ToArray());
            }
        }
    }

    private static float Squared(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        float sum = 0;
        for (int i = 0; i < a.Length; i++)
        {
            sum += (a[i] - b[i]) * (a[i] - b[i]);
        }

        return sum;
    }

    [Fact]
    public void A_key_in_both_takes_the_other_vector_or_adds_it_under_multiple_vectors_per_key()
    {
        using var source = new HnswIndex(new HnswOptions { Dimensions = 2 });
        source.Add(1, [9, 9]);
        source.Add(2, [7, 7]);

        using var single = new HnswIndex(new HnswOptions { Dimensions = 2 });
        single.Add(1, [0, 0]);
        single.AddFrom(source);
        single.Count.Should().Be(2);
        single.GetVectors(1).Should().BeEquivalentTo(new[] { new float[] { 9, 9 } });

        using var multi = new HnswIndex(new HnswOptions { Dimensions = 2, MultipleVectorsPerKey = true });
        multi.Add(1, [0, 0]);
        multi.AddFrom(source);
        multi.Count.Should().Be(2);
        multi.VectorCount.Should().Be(3);
        multi.GetVectors(1).Should().BeEquivalentTo(new[] { new float[] { 0, 0 }, [9, 9] }, o => o.WithStrictOrdering());

        // Several vectors of a key into an index that keeps one: the key takes the last.
        using var fromMulti = new HnswIndex(new HnswOptions { Dimensions = 2 });
        fromMulti.AddFrom(multi).Should().Be(2);
        fromMulti.GetVectors(1).Should().BeEquivalentTo(new[] { new float[] { 9, 9 } });

        // An index merged into itself: the same keys, each vector once more under multiple vectors per key.
        multi.AddFrom(multi);
        multi.VectorCount.Should().Be(6);
        single.AddFrom(single);
        single.VectorCount.Should().Be(2);
    }

    [Fact]
    public void Another_shape_null_read_only_and_disposed_are_refused_and_nothing_is_added()
    {
        using var index = new HnswIndex(new HnswOptions { Dimensions = 3 });
        index.Add(1, [1, 2, 3]);
        using var otherDims = new HnswIndex(new HnswOptions { Dimensions = 4 });
        otherDims.Add(2, [1, 2, 3, 4]);
        using var otherMetric = new HnswIndex(new HnswOptions { Dimensions = 3, Metric = Metric.Cosine });
        otherMetric.Add(3, [1, 2, 3]);

        index.Invoking(i => i.AddFrom(otherDims)).Should().Throw<ArgumentException>().WithMessage("*4*3*").Which.ParamName.Should().Be("other");
        index.Invoking(i => i.AddFrom(otherMetric)).Should().Throw<ArgumentException>().WithMessage("*Cosine*L2Squared*");
        index.Invoking(i => i.AddFrom(null!)).Should().Throw<ArgumentNullException>();
        index.Count.Should().Be(1);

        var disposed = new HnswIndex(new HnswOptions { Dimensions = 3 });
        disposed.Dispose();
        index.Invoking(i => i.AddFrom(disposed)).Should().Throw<ObjectDisposedException>();
        disposed.Invoking(d => d.AddFrom(index)).Should().Throw<ObjectDisposedException>();

        string path = Path.Combine(Path.GetTempPath(), $"merge-{Guid.NewGuid():N}.vidx");
        try
        {
            index.Save(path);
            using HnswIndex mapped = HnswIndex.OpenReadOnly(path);
            mapped.Invoking(m => m.AddFrom(index)).Should().Throw<InvalidOperationException>();

            // A read-only index is a fine source.
            using var copy = new HnswIndex(new HnswOptions { Dimensions = 3 });
            copy.AddFrom(mapped).Should().Be(1);
            copy.Search([1, 2, 3], 1).Should().Equal(new SearchResult(1, 0));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Progress_carries_the_total_and_cancellation_keeps_a_consistent_part()
    {
        float[] data = TestData.Uniform(3_000, D, 103);
        using var source = new HnswIndex(new HnswOptions { Dimensions = D, EfConstruction = 40 });
        source.AddRange(TestData.Keys(3_000), data);

        var reports = new List<BulkProgress>();
        using var target = new HnswIndex(new HnswOptions { Dimensions = D, EfConstruction = 40 });
        target.AddFrom(source, 2, new BulkProgressTests.Recorder<BulkProgress>(reports));
        reports.Should().OnlyContain(r => r.Total == 3_000);
        reports.Max(r => r.Completed).Should().Be(3_000);

        // Another M: the vectors are inserted one by one, and the insertion can be cancelled.
        using var cts = new CancellationTokenSource();
        using var partial = new HnswIndex(new HnswOptions { Dimensions = D, M = 12, EfConstruction = 40 });
        var cancelling = new BulkProgressTests.Recorder<BulkProgress>([], r =>
        {
            if (r.Completed >= 300)
            {
                cts.Cancel();
            }
        });
        partial.Invoking(p => p.AddFrom(source, 2, cancelling, cts.Token)).Should().Throw<OperationCanceledException>();
        partial.Count.Should().BeInRange(300, 2_999);
        GraphInvariants.Check(partial);
        foreach (ulong key in partial.GetKeys().Take(50))
        {
            partial.Search(partial.GetVectors(key)[0], 1, new SearchOptions { Ef = 200 }).Single().Key.Should().Be(key);
        }
    }
}
