using System.Buffers.Binary;
using System.Collections.Concurrent;
using VectorIndex.Persistence;

namespace VectorIndex.Tests;

/// <summary>
/// HnswOptions.MultipleVectorsPerKey: several vectors per key (chunks of a document), one result per key at its nearest
/// vector, k distinct keys. The truth is computed here, independently of the index: every vector's distance in double
/// precision, the minimum per key, sorted.
/// </summary>
public sealed class MultiVectorTests : IDisposable
{
    private const int D = 16;
    private const int Documents = 600;
    private readonly string _folder = Directory.CreateTempSubdirectory("vectorindex-multi-").FullName;

    // Chunk i belongs to document Owner[i]; the chunks of a document lie near each other (1 to 8 of them).
    private readonly float[] _data;
    private readonly ulong[] _owner;
    private readonly float[] _queries = TestData.Clustered(60, D, seed: 92, clusters: 20);

    public MultiVectorTests()
    {
        var random = new Random(91);
        float[] centres = TestData.Clustered(Documents, D, seed: 90, clusters: 20);
        var data = new List<float>();
        var owner = new List<ulong>();
        for (int doc = 0; doc < Documents; doc++)
        {
            int chunks = 1 + random.Next(8);
            for (int c = 0; c < chunks; c++)
            {
                for (int j = 0; j < D; j++)
                {
                    data.Add(centres[(doc * D) + j] + (0.15f * (float)((random.NextDouble() * 2) - 1)));
                }

                owner.Add(5_000 + (ulong)doc);
            }
        }

        _data = [.. data];
        _owner = [.. owner];
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private int Chunks => _owner.Length;

    [Fact]
    public void Counts_lookups_and_removal_follow_keys_while_every_vector_is_kept()
    {
        using HnswIndex index = Build();
        index.Count.Should().Be(Documents);
        index.VectorCount.Should().Be(Chunks);
        index.GetStatistics().VectorCount.Should().Be(Chunks);
        index.GetStatistics().Count.Should().Be(Documents);
        index.GetKeys().Should().BeEquivalentTo(_owner.Distinct());

        ulong doc = _owner[10];
        int[] rows = RowsOf(doc);
        float[][] vectors = index.GetVectors(doc);
        vectors.Should().HaveCount(rows.Length);
        for (int i = 0; i < rows.Length; i++)
        {
            vectors[i].Should().Equal(TestData.Row(_data, D, rows[i]).ToArray(), "in the order they were added");
        }

        var first = new float[D];
        index.TryGetVector(doc, first).Should().BeTrue();
        first.Should().Equal(TestData.Row(_data, D, rows[0]).ToArray());

        index.Remove(doc).Should().BeTrue();
        index.Contains(doc).Should().BeFalse();
        index.GetVectors(doc).Should().BeEmpty();
        index.Count.Should().Be(Documents - 1);
        index.VectorCount.Should().Be(Chunks - rows.Length);
        index.Remove(doc).Should().BeFalse();
        for (int q = 0; q < 20; q++)
        {
            index.Search(TestData.Row(_data, D, rows[0]), 20, new SearchOptions { Ef = 200 }).Should().NotContain(r => r.Key == doc);
        }

        index.GetVectors(12345).Should().BeEmpty();
    }

    [Fact]
    public void Add_of_an_existing_key_adds_a_vector_and_add_range_keeps_every_row_of_a_repeated_key()
    {
        using var index = new HnswIndex(new HnswOptions { Dimensions = 2, MultipleVectorsPerKey = true });
        index.Add(1, [0, 0]);
        index.Add(1, [10, 0]);
        index.AddRange(new ulong[] { 2, 2, 1 }, new float[] { 5, 5, 6, 6, 20, 0 });
        index.Count.Should().Be(2);
        index.VectorCount.Should().Be(5);
        index.GetVectors(1).Should().BeEquivalentTo(new[] { new float[] { 0, 0 }, [10, 0], [20, 0] }, o => o.WithStrictOrdering());

        // Key 1's nearest vector to (19, 0) is (20, 0): distance 1; key 2's is (6, 6): 13 * 13 + 36.
        index.Search([19, 0], 5).Should().Equal(new SearchResult(1, 1), new SearchResult(2, 205));
    }

    [Theory]
    [InlineData(Metric.L2Squared)]
    [InlineData(Metric.Cosine)]
    public void Search_returns_k_distinct_keys_at_their_nearest_vectors_with_high_recall(Metric metric)
    {
        using HnswIndex index = Build(metric);
        int hits = 0, total = 0;
        for (int q = 0; q < _queries.Length / D; q++)
        {
            ReadOnlySpan<float> query = TestData.Row(_queries, D, q);
            SearchResult[] truth = Truth(query, 10, metric);
            IReadOnlyList<SearchResult> results = index.Search(query, 10);
            results.Should().HaveCount(10);
            results.Select(r => r.Key).Should().OnlyHaveUniqueItems();
            results.Select(r => r.Distance).Should().BeInAscendingOrder();
            var trueDistance = AllKeyDistances(query, metric);
            foreach (SearchResult r in results)
            {
                // A key's distance is one of its own vectors': never below the nearest one.
                r.Distance.Should().BeGreaterThanOrEqualTo(trueDistance[r.Key] - 1e-4f);
            }

            hits += results.Count(r => truth.Any(t => t.Key == r.Key));
            total += truth.Length;

            // As wide as the index: exactly the truth.
            IReadOnlyList<SearchResult> wide = index.Search(query, 10, new SearchOptions { Ef = Chunks });
            wide.Select(r => r.Key).Should().Equal(truth.Select(t => t.Key), $"query {q}");
            wide.Select(r => r.Distance).Should().Equal(truth.Select(t => t.Distance), (a, b) => Math.Abs(a - b) < 1e-4f);
        }

        ((double)hits / total).Should().BeGreaterThan(0.95);
    }

    [Fact]
    public void Near_duplicate_chunks_still_give_k_distinct_keys_from_a_narrow_walk()
    {
        // 40 keys of 30 almost identical vectors each: W of ef 10 holds one or two keys, the widened walk all it needs.
        var random = new Random(93);
        using var index = new HnswIndex(new HnswOptions { Dimensions = D, MultipleVectorsPerKey = true, EfSearch = 10, M = 6, EfConstruction = 40 });
        float[] centres = TestData.Uniform(40, D, 94);
        for (int key = 0; key < 40; key++)
        {
            for (int c = 0; c < 30; c++)
            {
                float[] v = TestData.Row(centres, D, key).ToArray();
                v[random.Next(D)] += 1e-4f * c;
                index.Add((ulong)key, v);
            }
        }

        for (int q = 0; q < 20; q++)
        {
            IReadOnlyList<SearchResult> results = index.Search(TestData.Row(centres, D, q), 10);
            results.Should().HaveCount(10);
            results.Select(r => r.Key).Should().OnlyHaveUniqueItems();
            results[0].Key.Should().Be((ulong)q);
        }

        index.Search(TestData.Row(centres, D, 0), 100).Should().HaveCount(40, "fewer than k only when fewer keys exist");
    }

    [Fact]
    public void Filters_allowed_keys_max_distance_range_and_batch_answer_each_key_once()
    {
        using HnswIndex index = Build();
        ReadOnlySpan<float> query = TestData.Row(_queries, D, 3);
        Dictionary<ulong, float> distances = AllKeyDistances(query, Metric.L2Squared);

        // A filter passing a third of the keys (the graph walk) and a small allowed set (the exact scan).
        var filter = new SearchOptions { Filter = key => key % 3 == 0, Ef = Chunks };
        index.Search(query, 10, filter).Select(r => r.Key)
            .Should().Equal(distances.Where(p => p.Key % 3 == 0).OrderBy(p => p.Value).Take(10).Select(p => p.Key));
        var allowed = new HashSet<ulong>(_owner.Distinct().Take(15));
        IReadOnlyList<SearchResult> few = index.Search(query, 10, new SearchOptions { AllowedKeys = allowed });
        few.Select(r => r.Key).Should().Equal(distances.Where(p => allowed.Contains(p.Key)).OrderBy(p => p.Value).Take(10).Select(p => p.Key));
        few.Select(r => r.Distance).Should().Equal(few.Select(r => distances[r.Key]), (a, b) => Math.Abs(a - b) < 1e-4f, "the exact scan keeps each key's nearest vector");
        index.Search(query, 50, new SearchOptions { AllowedKeys = new HashSet<ulong>(allowed.Take(3)) }).Should().HaveCount(3);

        float radius = distances.Values.Order().ElementAt(25);
        IReadOnlyList<SearchResult> capped = index.Search(query, 100, new SearchOptions { MaxDistance = radius, Ef = Chunks });
        capped.Select(r => r.Key).Should().BeEquivalentTo(distances.Where(p => p.Value <= radius).Select(p => p.Key));

        IReadOnlyList<SearchResult> range = index.SearchRange(query, radius, new SearchOptions { Ef = Chunks });
        range.Select(r => r.Key).Should().OnlyHaveUniqueItems();
        range.Select(r => r.Key).Should().BeEquivalentTo(distances.Where(p => p.Value <= radius).Select(p => p.Key));
        range.Should().OnlyContain(r => Math.Abs(r.Distance - distances[r.Key]) < 1e-4f, "each key at its nearest vector");

        int rows = _queries.Length / D;
        var results = new SearchResult[rows * 10];
        var counts = new int[rows];
        index.SearchBatch(_queries, 10, results, counts, new SearchOptions { Ef = 100 }, maxDegreeOfParallelism: 2);
        for (int q = 0; q < rows; q++)
        {
            counts[q].Should().Be(10);
            results.AsSpan(q * 10, 10).ToArray().Should().Equal(index.Search(TestData.Row(_queries, D, q), 10, new SearchOptions { Ef = 100 }));
        }
    }

    [Fact]
    public void Remove_range_compact_and_clear_keep_each_keys_vectors_together()
    {
        using HnswIndex index = Build();
        ulong[] gone = [.. _owner.Distinct().Where(k => k % 4 == 0)];
        index.RemoveRange(gone).Should().Be(gone.Length);
        index.Compact();
        index.PendingRemovals.Should().Be(0);
        index.Graph.NodeCount.Should().Be(index.VectorCount, "the compaction moved the tail into the holes");
        GraphInvariants.Check(index);
        foreach (ulong key in _owner.Distinct())
        {
            float[][] vectors = index.GetVectors(key);
            if (gone.Contains(key))
            {
                vectors.Should().BeEmpty();
                continue;
            }

            int[] rows = RowsOf(key);
            vectors.Should().HaveCount(rows.Length);
            for (int i = 0; i < rows.Length; i++)
            {
                vectors[i].Should().Equal(TestData.Row(_data, D, rows[i]).ToArray(), $"key {key}, vector {i}, after the relocation");
            }
        }

        for (int q = 0; q < 10; q++)
        {
            IReadOnlyList<SearchResult> results = index.Search(TestData.Row(_queries, D, q), 10);
            results.Select(r => r.Key).Should().OnlyHaveUniqueItems().And.NotContain(gone);
        }

        index.Clear();
        index.Count.Should().Be(0);
        index.VectorCount.Should().Be(0);
        index.Search(TestData.Row(_queries, D, 0), 5).Should().BeEmpty();
    }

    [Fact]
    public void File_stream_and_mapped_round_trips_keep_the_option_and_answer_identically()
    {
        using HnswIndex original = Build();
        original.Remove(_owner[0]);
        string path = Path.Combine(_folder, "multi.vidx");
        original.Save(path);
        using HnswIndex loaded = HnswIndex.Load(path);
        using HnswIndex mapped = HnswIndex.OpenReadOnly(path);
        foreach (HnswIndex copy in new[] { loaded, mapped })
        {
            copy.Options.Should().Be(original.Options);
            copy.Options.MultipleVectorsPerKey.Should().BeTrue();
            copy.Count.Should().Be(original.Count);
            copy.VectorCount.Should().Be(original.VectorCount);
            for (int q = 0; q < _queries.Length / D; q++)
            {
                copy.Search(TestData.Row(_queries, D, q), 10).Should().Equal(original.Search(TestData.Row(_queries, D, q), 10));
            }

            copy.GetVectors(_owner[^1]).Should().BeEquivalentTo(original.GetVectors(_owner[^1]), o => o.WithStrictOrdering());
        }

        // Adds go on after a load as on the original.
        loaded.Add(_owner[^1], TestData.Row(_data, D, 0));
        loaded.GetVectors(_owner[^1]).Should().HaveCount(original.GetVectors(_owner[^1]).Length + 1);
    }

    [Fact]
    public void Unknown_option_flags_in_a_file_are_invalid_data()
    {
        using var index = new HnswIndex(new HnswOptions { Dimensions = 4, MultipleVectorsPerKey = true });
        index.Add(1, [1, 2, 3, 4]);
        index.Add(1, [1, 2, 3, 5]);
        using var stream = new MemoryStream();
        index.Save(stream);
        byte[] bytes = stream.ToArray();
        BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(48)).Should().Be(4, "bit 4 of the options word records the opt-in");
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(48), 4 | 8);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(FileHeader.CrcOffset), Crc32C.Compute(bytes.AsSpan(0, FileHeader.CrcOffset)));
        FluentActions.Invoking(() => HnswIndex.Load(new MemoryStream(bytes))).Should().Throw<InvalidDataException>().WithMessage("*flags*");

        // The same file without the bit holds one key twice: a corrupted single-vector file.
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(48), 0);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(FileHeader.CrcOffset), Crc32C.Compute(bytes.AsSpan(0, FileHeader.CrcOffset)));
        FluentActions.Invoking(() => HnswIndex.Load(new MemoryStream(bytes))).Should().Throw<InvalidDataException>().WithMessage("*twice*");
    }

    [Fact]
    public async Task Concurrent_adds_removes_and_searches_never_return_a_removed_key_or_lose_a_vector()
    {
        using var index = new HnswIndex(new HnswOptions { Dimensions = D, MultipleVectorsPerKey = true, M = 8, EfConstruction = 60 });
        int half = Chunks / 2;
        index.AddRange(_owner.AsMemory(0, half), _data.AsMemory(0, half * D));
        var removed = new ConcurrentDictionary<ulong, bool>();
        var errors = new ConcurrentQueue<string>();
        int writersDone = 0;
        ulong[] early = [.. _owner.Take(half).Distinct()];

        void Writer(int start)
        {
            for (int i = half + start; i < Chunks; i += 2)
            {
                index.Add(_owner[i], TestData.Row(_data, D, i));
            }

            Interlocked.Increment(ref writersDone);
        }

        void Remover()
        {
            // Keys wholly added before the writers start (the last early key may get more chunks from them).
            for (int i = 0; i < early.Length - 1 && Volatile.Read(ref writersDone) < 2; i += 3)
            {
                index.Remove(early[i]).Should().BeTrue();
                removed[early[i]] = true;
            }
        }

        void Reader(int seed)
        {
            var random = new Random(seed);
            var destination = new SearchResult[10];
            while (Volatile.Read(ref writersDone) < 2)
            {
                var goneBefore = removed.Keys.ToHashSet();
                int found = index.Search(TestData.Row(_data, D, random.Next(Chunks)), destination);
                var keys = destination.AsSpan(0, found).ToArray().Select(r => r.Key).ToList();
                if (keys.Distinct().Count() != found)
                {
                    errors.Enqueue("a key returned twice");
                }

                foreach (ulong gone in keys.Where(goneBefore.Contains))
                {
                    errors.Enqueue($"removed key {gone} returned");
                }

                if (found < 10)
                {
                    errors.Enqueue($"only {found} results");
                }
            }
        }

        await Task.WhenAll(Task.Run(() => Writer(0)), Task.Run(() => Writer(1)), Task.Run(Remover), Task.Run(() => Reader(1)), Task.Run(() => Reader(2)));

        errors.Should().BeEmpty();
        foreach (ulong key in _owner.Distinct())
        {
            int expected = removed.ContainsKey(key) ? 0 : RowsOf(key).Length;
            index.GetVectors(key).Should().HaveCount(expected, $"key {key}: every acknowledged add is kept, a removal drops all");
        }

        index.Count.Should().Be(Documents - removed.Count);
        GraphInvariants.Check(index);
    }

    private HnswIndex Build(Metric metric = Metric.L2Squared)
    {
        var index = new HnswIndex(new HnswOptions { Dimensions = D, Metric = metric, MultipleVectorsPerKey = true, M = 16, EfConstruction = 100 });
        index.AddRange(_owner, _data, maxDegreeOfParallelism: 1);
        return index;
    }

    private int[] RowsOf(ulong key) => [.. Enumerable.Range(0, Chunks).Where(i => _owner[i] == key)];

    /// <summary>Every key's smallest distance to the query, over all its vectors, in double precision.</summary>
    private Dictionary<ulong, float> AllKeyDistances(ReadOnlySpan<float> query, Metric metric)
    {
        var best = new Dictionary<ulong, float>();
        for (int i = 0; i < Chunks; i++)
        {
            float d = (float)Distance(query, TestData.Row(_data, D, i), metric);
            best[_owner[i]] = best.TryGetValue(_owner[i], out float b) ? Math.Min(b, d) : d;
        }

        return best;
    }

    private SearchResult[] Truth(ReadOnlySpan<float> query, int k, Metric metric) =>
        [.. AllKeyDistances(query, metric).OrderBy(p => p.Value).Take(k).Select(p => new SearchResult(p.Key, p.Value))];

    private static double Distance(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Metric metric)
    {
        double dot = 0, aa = 0, bb = 0, l2 = 0;
        for (int i = 0; i < a.Length; i++)
        {
            dot += (double)a[i] * b[i];
            aa += (double)a[i] * a[i];
            bb += (double)b[i] * b[i];
            l2 += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
        }

        return metric == Metric.L2Squared ? l2 : 1 - (dot / Math.Sqrt(aa * bb));
    }
}
