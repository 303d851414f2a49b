using System.Collections.Concurrent;

namespace VectorIndex.Tests;

/// <summary>
/// Removal under churn: compaction unlinks removed nodes, their slots are reused, and recall stays that of a fresh
/// build of the same live set.
/// </summary>
public sealed class ChurnTests
{
    private const int D = 32;
    private const int N = 20_000;
    private const int Ef = 128;

    [Trait("Category", "Slow")]
    [Fact]
    public void Remove_half_insert_as_many_remove_a_quarter_keeps_recall_of_a_fresh_build_and_reuses_slots()
    {
        float[] data = TestData.Clustered(N + (N / 2), D, seed: 81);
        ulong[] keys = TestData.Keys(N + (N / 2));
        float[] queries = TestData.Clustered(300, D, seed: 82);
        using var index = new HnswIndex(new HnswOptions { Dimensions = D });
        index.AddRange(keys.AsMemory(0, N), data.AsMemory(0, N * D));

        var random = new Random(83);
        var live = new HashSet<int>(Enumerable.Range(0, N));
        foreach (int row in Enumerable.Range(0, N).OrderBy(_ => random.Next()).Take(N / 2))
        {
            index.Remove(keys[row]).Should().BeTrue();
            live.Remove(row);
        }

        index.PendingRemovals.Should().BeLessThan(N / 10, "removals compact once a tenth of the nodes waits");
        index.AddRange(keys.AsMemory(N, N / 2), data.AsMemory(N * D, N / 2 * D));
        for (int row = N; row < N + (N / 2); row++)
        {
            live.Add(row);
        }

        index.Graph.NodeCount.Should().Be(index.Count + index.PendingRemovals, "compactions gave back every slot they freed");
        foreach (int row in live.OrderBy(_ => random.Next()).Take(N / 4).ToList())
        {
            index.Remove(keys[row]).Should().BeTrue();
            live.Remove(row);
        }

        int[] rows = [.. live.Order()];
        ulong[] liveKeys = [.. rows.Select(r => keys[r])];
        float[] liveData = [.. rows.SelectMany(r => TestData.Row(data, D, r).ToArray())];
        using BruteForceIndex exact = TestData.Exact(liveKeys, liveData, D, Metric.L2Squared);
        using var fresh = new HnswIndex(new HnswOptions { Dimensions = D });
        fresh.AddRange(liveKeys, liveData);
        var options = new SearchOptions { Ef = Ef };

        double freshRecall = TestData.Recall(fresh, exact, queries, D, 10, options);
        double churnedRecall = TestData.Recall(index, exact, queries, D, 10, options);
        churnedRecall.Should().BeGreaterThanOrEqualTo(freshRecall - 0.02, "after the churn (removals below the compaction threshold still route)");
        index.Count.Should().Be(live.Count);
        GraphInvariants.Check(index);

        index.Graph.NodeCount.Should().BeLessThanOrEqualTo(live.Count + (live.Count / 10), "removals compact before they reach a tenth of the live vectors");
        long freshFile = SavedLength(fresh);
        SavedLength(index).Should().BeLessThanOrEqualTo(freshFile + (freshFile / 10), "the file holds at most a tenth more than a fresh build's");

        int pending = index.PendingRemovals;
        index.Compact().Should().Be(pending);
        double compactedRecall = TestData.Recall(index, exact, queries, D, 10, options);
        compactedRecall.Should().BeGreaterThanOrEqualTo(freshRecall - 0.02, "the repaired lists route as well as a fresh graph");
        index.Graph.NodeCount.Should().Be(live.Count, "the live vectors moved into the freed slots and the rest was released");
        index.NativeMemoryBytes.Should().Be(fresh.NativeMemoryBytes);
        SavedLength(index).Should().BeLessThanOrEqualTo(freshFile + (freshFile / 50), "the same nodes as a fresh build's (only the upper layers' sizes differ)");
        GraphInvariants.Check(index);
        EveryKeyFindsItsVector(index, [.. rows.Select(r => (keys[r], TestData.Row(data, D, r).ToArray()))]);
    }

    [Fact]
    public void Compaction_releases_the_storage_past_the_live_vectors()
    {
        // 128 floats a vector: 8,192 vectors a segment, so the 17,000 slots span three segments and 5,100 live fit in one.
        const int d = 128, n = 17_000;
        float[] data = TestData.Clustered(n, d, seed: 89);
        ulong[] keys = TestData.Keys(n);
        using var index = new HnswIndex(new HnswOptions { Dimensions = d, M = 8, EfConstruction = 40 });
        index.AddRange(keys, data);
        long full = index.NativeMemoryBytes;
        for (int i = 0; i < n; i++)
        {
            if (i % 10 >= 3)
            {
                index.Remove(keys[i]);
            }
        }

        index.Compact();
        index.Graph.NodeCount.Should().Be(5_100);
        index.NativeMemoryBytes.Should().BeLessThanOrEqualTo(full / 3, "two of the three segments were released");
        GraphInvariants.Check(index);
        EveryKeyFindsItsVector(index, [.. Enumerable.Range(0, n).Where(i => i % 10 < 3).Select(i => (keys[i], TestData.Row(data, d, i).ToArray()))]);
    }

    [Fact]
    public void Compaction_unlinks_removed_and_replaced_nodes_and_moves_the_live_ones_into_their_slots()
    {
        float[] data = TestData.Clustered(3_000, D, seed: 84);
        ulong[] keys = TestData.Keys(3_000);
        using var index = new HnswIndex(new HnswOptions { Dimensions = D });
        index.AddRange(keys.AsMemory(0, 2_000), data.AsMemory(0, 2_000 * D));
        for (int i = 0; i < 100; i++)
        {
            index.Remove(keys[i]);
        }

        index.Add(keys[500], TestData.Row(data, D, 2_500)); // a replacement: its old node is removed too
        index.Graph.NodeCount.Should().Be(2_001);
        index.PendingRemovals.Should().Be(101);

        index.Compact().Should().Be(101);
        index.PendingRemovals.Should().Be(0);
        index.Graph.NodeCount.Should().Be(1_900, "the last vectors moved into the freed slots");
        index.Graph.FreeCount.Should().Be(0);
        GraphInvariants.Check(index);
        EveryKeyFindsItsVector(index, [.. Enumerable.Range(100, 1_900).Select(i => (keys[i], TestData.Row(data, D, i == 500 ? 2_500 : i).ToArray()))]);
        index.Compact().Should().Be(0, "nothing is left to unlink");

        for (int i = 2_000; i < 2_101; i++)
        {
            index.Add(keys[i], TestData.Row(data, D, i));
        }

        index.Graph.NodeCount.Should().Be(2_001);
        index.Count.Should().Be(2_001);
        for (int i = 0; i < 100; i++)
        {
            index.Contains(keys[i]).Should().BeFalse();
        }

        var stored = new float[D];
        index.TryGetVector(keys[2_050], stored).Should().BeTrue();
        stored.Should().Equal(TestData.Row(data, D, 2_050).ToArray());
        index.Search(TestData.Row(data, D, 2_050), 1).Single().Should().Be(new SearchResult(keys[2_050], 0f));
        index.Search(TestData.Row(data, D, 2_500), 1).Single().Should().Be(new SearchResult(keys[500], 0f));
        GraphInvariants.Check(index);
    }

    [Fact]
    public void Removing_every_vector_and_compacting_leaves_an_empty_index_that_fills_again()
    {
        float[] data = TestData.Clustered(500, D, seed: 85);
        ulong[] keys = TestData.Keys(500);
        using var index = new HnswIndex(new HnswOptions { Dimensions = D });
        index.AddRange(keys, data);
        foreach (ulong key in keys)
        {
            index.Remove(key);
        }

        index.Compact();
        index.PendingRemovals.Should().Be(0);
        index.Graph.NodeCount.Should().Be(0);
        index.NativeMemoryBytes.Should().Be(0, "every segment was released");
        index.Search(TestData.Row(data, D, 0), 5).Should().BeEmpty();
        GraphInvariants.Check(index);

        index.AddRange(keys.AsMemory(0, 300), data.AsMemory(0, 300 * D));
        index.Graph.NodeCount.Should().Be(300);
        index.Search(TestData.Row(data, D, 7), 1).Single().Should().Be(new SearchResult(keys[7], 0f));
        GraphInvariants.Check(index);
    }

    [Fact]
    public void A_read_only_index_refuses_to_compact()
    {
        string path = Path.Combine(Path.GetTempPath(), $"vi-churn-{Guid.NewGuid():N}.vidx");
        try
        {
            using (var index = new HnswIndex(new HnswOptions { Dimensions = D }))
            {
                index.AddRange(TestData.Keys(200), TestData.Clustered(200, D, seed: 86));
                index.Save(path);
            }

            using HnswIndex mapped = HnswIndex.OpenReadOnly(path);
            FluentActions.Invoking(() => mapped.Compact()).Should().Throw<InvalidOperationException>();
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task Searches_during_removals_and_compactions_never_return_a_removed_key_or_a_key_twice()
    {
        const int n = 8_000;
        float[] data = TestData.Clustered(2 * n, D, seed: 87);
        ulong[] keys = TestData.Keys(2 * n);
        using var index = new HnswIndex(new HnswOptions { Dimensions = D, M = 12, EfConstruction = 100 });
        index.AddRange(keys.AsMemory(0, n), data.AsMemory(0, n * D));
        int removedCount = 0; // keys[0 .. removedCount) are removed for good, in order
        var errors = new ConcurrentQueue<string>();
        using var done = new CancellationTokenSource();

        Task writer = Task.Run(() =>
        {
            // Remove the first n keys one by one while adding n new ones: pending removals keep crossing the
            // compaction threshold, so adds compact again and again, and reuse the slots.
            for (int i = 0; i < n; i++)
            {
                index.Remove(keys[i]);
                Volatile.Write(ref removedCount, i + 1);
                index.Add(keys[n + i], TestData.Row(data, D, n + i));
                if (i % 2_000 == 1_999)
                {
                    index.Compact();
                }
            }

            done.Cancel();
        });

        Task reader = Task.Run(() =>
        {
            var random = new Random(88);
            var destination = new SearchResult[10];
            while (!done.IsCancellationRequested)
            {
                int removedBefore = Volatile.Read(ref removedCount);
                int found = index.Search(TestData.Row(data, D, random.Next(2 * n)), destination);
                var seen = new HashSet<ulong>();
                foreach (SearchResult r in destination.AsSpan(0, found))
                {
                    int row = (int)(r.Key - keys[0]);
                    if (row < removedBefore)
                    {
                        errors.Enqueue($"key {r.Key} returned after its removal");
                    }

                    if (!seen.Add(r.Key))
                    {
                        errors.Enqueue($"key {r.Key} returned twice");
                    }
                }
            }
        });

        await Task.WhenAll(writer, reader);
        errors.Should().BeEmpty();
        index.Count.Should().Be(n);
        index.Graph.NodeCount.Should().Be(n + index.PendingRemovals, "compactions gave back every slot they freed");
        GraphInvariants.Check(index);
    }

    private static long SavedLength(HnswIndex index)
    {
        using var stream = new MemoryStream();
        index.Save(stream);
        return stream.Length;
    }

    /// <summary>Each key's stored vector is its own, and a search for it finds the key first as often as in a fresh build of them.</summary>
    private static void EveryKeyFindsItsVector(HnswIndex index, (ulong Key, float[] Vector)[] expected)
    {
        index.Count.Should().Be(expected.Length);
        var stored = new float[index.Dimensions];
        var options = new SearchOptions { Ef = 64 };
        int foundFirst = 0;
        foreach ((ulong key, float[] vector) in expected)
        {
            index.TryGetVector(key, stored).Should().BeTrue();
            stored.Should().Equal(vector);
            foundFirst += index.Search(vector, 1, options).Single().Key == key ? 1 : 0;
        }

        using var fresh = new HnswIndex(index.Options);
        foreach ((ulong key, float[] vector) in expected)
        {
            fresh.Add(key, vector);
        }

        int freshFirst = expected.Count(e => fresh.Search(e.Vector, 1, options).Single().Key == e.Key);
        ((double)foundFirst / expected.Length).Should().BeGreaterThanOrEqualTo(((double)freshFirst / expected.Length) - 0.01, "a moved vector is found as often as in a fresh build");
    }
}
