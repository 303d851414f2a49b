using System.Buffers.Binary;
using VectorIndex.Persistence;

namespace VectorIndex.Tests;

/// <summary>Save / Load / OpenReadOnly: bit-identical round trips, atomic saves, and hostile files.</summary>
public sealed class PersistenceTests : IDisposable
{
    private const int D = 20;
    private readonly string _folder = Directory.CreateTempSubdirectory("vectorindex-tests-").FullName;
    private readonly float[] _data = TestData.Clustered(3_000, D, seed: 71);
    private readonly float[] _queries = TestData.Clustered(100, D, seed: 72);
    private readonly ulong[] _keys = TestData.Keys(3_000);

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Theory]
    [InlineData(Metric.L2Squared)]
    [InlineData(Metric.Cosine)]
    [InlineData(Metric.InnerProduct)]
    public void File_stream_and_mapped_round_trips_answer_every_query_identically(Metric metric)
    {
        using HnswIndex original = BuildWithRemovals(metric);
        string path = Path.Combine(_folder, "index.vidx");
        original.Save(path);
        using var memory = new MemoryStream();
        original.Save(memory);
        memory.Position = 0;

        using HnswIndex fromFile = HnswIndex.Load(path);
        using HnswIndex fromStream = HnswIndex.Load(memory);
        using HnswIndex mapped = HnswIndex.OpenReadOnly(path);
        using HnswIndex mappedUnverified = HnswIndex.OpenReadOnly(path, verifyChecksums: false);
        foreach (HnswIndex copy in new[] { fromFile, fromStream, mapped, mappedUnverified })
        {
            copy.Options.Should().Be(original.Options);
            copy.Count.Should().Be(original.Count);
            SameAnswers(original, copy);
            foreach (ulong key in _keys.Take(50))
            {
                copy.Contains(key).Should().Be(original.Contains(key));
            }
        }

        GraphInvariants.Check(fromFile);
        mapped.IsReadOnly.Should().BeTrue();
        fromFile.IsReadOnly.Should().BeFalse();
    }

    [Fact]
    public void A_loaded_index_keeps_accepting_adds_and_removes_and_grows_as_the_original_would()
    {
        using var original = new HnswIndex(new HnswOptions { Dimensions = D, M = 8, EfConstruction = 50 });
        for (int i = 0; i < 1_000; i++)
        {
            original.Add(_keys[i], TestData.Row(_data, D, i));
        }

        using var stream = new MemoryStream();
        original.Save(stream);
        stream.Position = 0;
        using HnswIndex loaded = HnswIndex.Load(stream);

        // The same adds on both: the saved level generator makes the loaded graph grow exactly as the original does.
        foreach (HnswIndex index in new[] { original, loaded })
        {
            for (int i = 1_000; i < 3_000; i++)
            {
                index.Add(_keys[i], TestData.Row(_data, D, i));
            }

            index.Remove(_keys[5]).Should().BeTrue();
        }

        loaded.Count.Should().Be(2_999);
        SameAnswers(original, loaded);
        GraphInvariants.Check(loaded);
    }

    [Fact]
    public void An_empty_index_round_trips()
    {
        using var empty = new HnswIndex(new HnswOptions { Dimensions = 3, Metric = Metric.Cosine, M = 5, Seed = 9 });
        string path = Path.Combine(_folder, "empty.vidx");
        empty.Save(path);
        using HnswIndex loaded = HnswIndex.Load(path);
        using HnswIndex mapped = HnswIndex.OpenReadOnly(path);
        loaded.Options.Should().Be(empty.Options);
        loaded.Search([1, 2, 3], 3).Should().BeEmpty();
        mapped.Search([1, 2, 3], 3).Should().BeEmpty();
        loaded.Add(1, [1, 0, 0]);
        loaded.Search([1, 2, 3], 3).Should().ContainSingle();
    }

    [Fact]
    public void A_read_only_index_refuses_writes_and_answers_lookups()
    {
        using HnswIndex original = BuildWithRemovals(Metric.L2Squared);
        string path = Path.Combine(_folder, "ro.vidx");
        original.Save(path);
        using HnswIndex mapped = HnswIndex.OpenReadOnly(path);

        mapped.Invoking(m => m.Add(1, new float[D])).Should().Throw<InvalidOperationException>();
        mapped.Invoking(m => m.AddRange(new ulong[] { 1 }, new float[D])).Should().Throw<InvalidOperationException>();
        mapped.Invoking(m => m.Remove(_keys[1])).Should().Throw<InvalidOperationException>();
        var stored = new float[D];
        mapped.TryGetVector(_keys[1], stored).Should().BeTrue();
        stored.Should().Equal(TestData.Row(_data, D, 1).ToArray());
        mapped.Contains(_keys[0]).Should().BeFalse("key 0 was removed before saving");

        // A mapped index can itself be saved, and the copy loads identically.
        using var stream = new MemoryStream();
        mapped.Save(stream);
        stream.Position = 0;
        using HnswIndex copy = HnswIndex.Load(stream);
        SameAnswers(original, copy);
    }

    [Fact]
    public void Saving_over_an_open_file_leaves_its_readers_on_the_old_bytes_and_no_temporary_file()
    {
        string path = Path.Combine(_folder, "swap.vidx");
        using HnswIndex first = BuildWithRemovals(Metric.L2Squared);
        first.Save(path);
        using HnswIndex reader = HnswIndex.OpenReadOnly(path);

        using var second = new HnswIndex(new HnswOptions { Dimensions = D });
        second.AddRange(TestData.Keys(500, first: 90_000), TestData.Uniform(500, D, 73));
        second.Save(path);

        SameAnswers(first, reader);
        using HnswIndex reopened = HnswIndex.Load(path);
        SameAnswers(second, reopened);
        Directory.GetFiles(_folder).Should().ContainSingle().Which.Should().Be(path);
    }

    [Fact]
    public async Task A_cancelled_save_leaves_the_old_file_intact_and_no_temporary_file()
    {
        string path = Path.Combine(_folder, "atomic.vidx");
        using HnswIndex old = BuildWithRemovals(Metric.L2Squared);
        old.Save(path);
        byte[] before = await File.ReadAllBytesAsync(path);

        using var bigger = new HnswIndex(new HnswOptions { Dimensions = D });
        bigger.AddRange(_keys, _data);
        using var cts = new CancellationTokenSource();
        var progress = new InlineProgress(bytes =>
        {
            if (bytes > 100_000)
            {
                cts.Cancel();
            }
        });
        Func<Task> save = () => bigger.SaveAsync(path, progress, cts.Token);
        await save.Should().ThrowAsync<OperationCanceledException>();

        (await File.ReadAllBytesAsync(path)).Should().Equal(before);
        Directory.GetFiles(_folder).Should().ContainSingle();
    }

    [Trait("Category", "Slow")]
    [Fact]
    public async Task Saving_while_writers_run_stores_a_consistent_snapshot()
    {
        using var index = new HnswIndex(new HnswOptions { Dimensions = D, M = 8, EfConstruction = 40 });
        index.AddRange(_keys.AsMemory(0, 500), _data.AsMemory(0, 500 * D));
        Task writer = Task.Run(() =>
        {
            for (int i = 500; i < 3_000; i++)
            {
                index.Add(_keys[i], TestData.Row(_data, D, i));
                if (i % 3 == 0)
                {
                    index.Remove(_keys[i - 400]);
                }
            }
        });

        var snapshots = new List<byte[]>();
        while (!writer.IsCompleted)
        {
            using var stream = new MemoryStream();
            index.Save(stream);
            snapshots.Add(stream.ToArray());
            index.Search(TestData.Row(_data, D, 0), 5).Should().NotBeEmpty("searches go on while saving");
        }

        await writer;
        snapshots.Should().NotBeEmpty();
        foreach (byte[] bytes in snapshots)
        {
            using HnswIndex copy = HnswIndex.Load(new MemoryStream(bytes));
            GraphInvariants.Check(copy);
            int live = _keys.Count(copy.Contains);
            live.Should().Be(copy.Count);
            var stored = new float[D];
            for (int i = 0; i < _keys.Length; i += 37)
            {
                if (copy.TryGetVector(_keys[i], stored))
                {
                    stored.Should().Equal(TestData.Row(_data, D, i).ToArray());
                }
            }
        }
    }

    [Fact]
    public void Truncation_at_any_length_is_invalid_data()
    {
        byte[] bytes = SmallIndexBytes();
        string path = Path.Combine(_folder, "cut.vidx");
        var lengths = Enumerable.Range(0, 300).Concat(Enumerable.Range(1, 120).Select(i => (int)((long)bytes.Length * i / 121))).Append(bytes.Length - 1);
        foreach (int length in lengths.Distinct())
        {
            byte[] cut = bytes[..length];
            FluentActions.Invoking(() => HnswIndex.Load(new MemoryStream(cut))).Should().Throw<InvalidDataException>($"cut at {length}");
            File.WriteAllBytes(path, cut);
            FluentActions.Invoking(() => HnswIndex.OpenReadOnly(path)).Should().Throw<InvalidDataException>($"cut at {length}");
        }
    }

    [Trait("Category", "Slow")]
    [Fact]
    public void A_flipped_bit_anywhere_is_invalid_data_or_changes_nothing()
    {
        using HnswIndex original = SmallIndex();
        byte[] bytes = Bytes(original);
        string path = Path.Combine(_folder, "flip.vidx");
        var random = new Random(74);
        var positions = Enumerable.Range(0, FileHeader.Length * 8).Where(b => b % 3 == 0)
            .Concat(Enumerable.Range(0, 1_500).Select(_ => random.Next(bytes.Length * 8)));
        int invalid = 0;
        foreach (int bit in positions)
        {
            byte[] flipped = (byte[])bytes.Clone();
            flipped[bit / 8] ^= (byte)(1 << (bit % 8));
            File.WriteAllBytes(path, flipped);
            foreach (Func<HnswIndex> open in new Func<HnswIndex>[]
            {
                () => HnswIndex.Load(new MemoryStream(flipped)),
                () => HnswIndex.OpenReadOnly(path),
            })
            {
                HnswIndex? copy = null;
                try
                {
                    copy = open();
                }
                catch (InvalidDataException)
                {
                    invalid++;
                    continue;
                }

                using (copy)
                {
                    SameAnswers(original, copy, $"bit {bit} flipped"); // only padding bytes may flip unnoticed
                }
            }
        }

        invalid.Should().BeGreaterThan(1_000);
    }

    [Fact]
    public void Unverified_mapping_of_a_corrupted_file_never_crashes_a_search()
    {
        byte[] bytes = SmallIndexBytes();
        string path = Path.Combine(_folder, "unverified.vidx");
        FileHeader header = FileHeader.Parse(bytes, bytes.Length);
        var random = new Random(75);
        SectionInfo layer0 = header[Section.Layer0];
        for (int round = 0; round < 20; round++)
        {
            byte[] corrupt = (byte[])bytes.Clone();
            for (int j = 0; j < 200; j++)
            {
                corrupt[layer0.Offset + random.NextInt64(layer0.Length)] = (byte)random.Next(256);
            }

            File.WriteAllBytes(path, corrupt);
            FluentActions.Invoking(() => HnswIndex.OpenReadOnly(path)).Should().Throw<InvalidDataException>();
            using HnswIndex mapped = HnswIndex.OpenReadOnly(path, verifyChecksums: false);
            for (int q = 0; q < 20; q++)
            {
                // Only the links are garbage: whatever the walk meets, the answer is 10 distinct live keys, nearest
                // first, each with the true distance of its (intact) vector.
                ReadOnlySpan<float> query = TestData.Row(_queries, D, q);
                IReadOnlyList<SearchResult> results = mapped.Search(query, 10);
                results.Should().HaveCount(10, $"round {round}, query {q}");
                results.Select(r => r.Key).Should().OnlyHaveUniqueItems();
                results.Select(r => r.Distance).Should().BeInAscendingOrder();
                foreach (SearchResult r in results)
                {
                    int row = SmallIndexRow(r.Key);
                    row.Should().BeGreaterThanOrEqualTo(0, $"key {r.Key} is live in the saved index");
                    r.Distance.Should().BeApproximately(SquaredDistance(query, TestData.Row(_data, D, row)), 1e-3f);
                }
            }
        }
    }

    [Fact]
    public void A_newer_format_version_is_refused_naming_both_versions()
    {
        byte[] bytes = SmallIndexBytes();
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(8), 7);
        ResealHeader(bytes);
        FluentActions.Invoking(() => HnswIndex.Load(new MemoryStream(bytes))).Should().Throw<InvalidDataException>()
            .WithMessage("*7*").WithMessage($"*{FileHeader.CurrentVersion}*");
    }

    [Theory]
    [InlineData(52, int.MaxValue)] // node count
    [InlineData(52, -1)]
    [InlineData(56, int.MaxValue)] // live count
    [InlineData(16, 1 << 30)] // dimensions
    [InlineData(28, 1)] // M
    [InlineData(60, 999_999)] // entry id
    [InlineData(64, 40)] // max level above the maximum
    [InlineData(88, int.MaxValue)] // a section length
    [InlineData(80, 3)] // a section offset
    public void Hostile_header_fields_with_a_valid_checksum_are_invalid_data(int offset, int value)
    {
        byte[] bytes = SmallIndexBytes();
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(offset), value);
        ResealHeader(bytes);
        long before = GC.GetAllocatedBytesForCurrentThread();
        FluentActions.Invoking(() => HnswIndex.Load(new MemoryStream(bytes))).Should().Throw<InvalidDataException>();
        (GC.GetAllocatedBytesForCurrentThread() - before).Should().BeLessThan(4L * bytes.Length + 1_000_000, "no allocation beyond what the input justifies");
        string path = Path.Combine(_folder, "hostile.vidx");
        File.WriteAllBytes(path, bytes);
        FluentActions.Invoking(() => HnswIndex.OpenReadOnly(path, verifyChecksums: false)).Should().Throw<InvalidDataException>();
    }

    [Fact]
    public void Foreign_and_empty_inputs_are_invalid_data()
    {
        string path = Path.Combine(_folder, "foreign.vidx");
        foreach (byte[] bytes in new[] { Array.Empty<byte>(), "hello"u8.ToArray(), new byte[4096], TestData.Uniform(200, 4, 1).SelectMany(BitConverter.GetBytes).ToArray() })
        {
            FluentActions.Invoking(() => HnswIndex.Load(new MemoryStream(bytes))).Should().Throw<InvalidDataException>();
            File.WriteAllBytes(path, bytes);
            FluentActions.Invoking(() => HnswIndex.Load(path)).Should().Throw<InvalidDataException>();
            FluentActions.Invoking(() => HnswIndex.OpenReadOnly(path)).Should().Throw<InvalidDataException>();
        }
    }

    [Fact]
    public void A_link_to_a_missing_node_with_valid_checksums_is_invalid_data()
    {
        byte[] bytes = SmallIndexBytes();
        FileHeader header = FileHeader.Parse(bytes, bytes.Length);
        SectionInfo layer0 = header[Section.Layer0];

        // Node 0's first link (after the version and count ints) points past the last node; reseal the section's CRC.
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan((int)layer0.Offset + 8), header.NodeCount + 5);
        uint crc = Crc32C.Compute(bytes.AsSpan((int)layer0.Offset, (int)layer0.Length));
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(80 + ((int)Section.Layer0 * 24) + 16), crc);
        ResealHeader(bytes);
        FluentActions.Invoking(() => HnswIndex.Load(new MemoryStream(bytes))).Should().Throw<InvalidDataException>().WithMessage("*links*");
    }

    [Fact]
    public void Saving_a_disposed_index_throws_object_disposed()
    {
        var index = new HnswIndex(new HnswOptions { Dimensions = D });
        index.Dispose();
        index.Invoking(i => i.Save(new MemoryStream())).Should().Throw<ObjectDisposedException>();
    }

    private static void ResealHeader(byte[] bytes)
    {
        const int crcOffset = FileHeader.CrcOffset;
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(crcOffset), Crc32C.Compute(bytes.AsSpan(0, crcOffset)));
    }

    private HnswIndex SmallIndex()
    {
        var index = new HnswIndex(new HnswOptions { Dimensions = D, M = 6, EfConstruction = 30 });
        for (int i = 0; i < 400; i++)
        {
            index.Add(_keys[i], TestData.Row(_data, D, i));
        }

        // A removal, a compaction that frees two slots, and a replacement that reuses one: every section is non-empty.
        index.Remove(_keys[3]);
        index.Remove(_keys[5]);
        index.Compact().Should().Be(2);
        index.Add(_keys[4], TestData.Row(_data, D, 2_000));
        index.Graph.FreeCount.Should().Be(0);
        return index;
    }

    /// <summary>The data row of a live key of <see cref="SmallIndex"/>, or -1 for a key it does not hold.</summary>
    private int SmallIndexRow(ulong key)
    {
        int i = Array.IndexOf(_keys, key);
        return i is < 0 or >= 400 or 3 or 5 ? -1 : i == 4 ? 2_000 : i;
    }

    private static float SquaredDistance(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double sum = 0;
        for (int i = 0; i < a.Length; i++)
        {
            double d = (double)a[i] - b[i];
            sum += d * d;
        }

        return (float)sum;
    }

    private byte[] SmallIndexBytes()
    {
        using HnswIndex index = SmallIndex();
        return Bytes(index);
    }

    private static byte[] Bytes(HnswIndex index)
    {
        using var stream = new MemoryStream();
        index.Save(stream);
        return stream.ToArray();
    }

    private HnswIndex BuildWithRemovals(Metric metric)
    {
        // One thread: the same graph on every run, so a round trip is compared against a reproducible original.
        var index = new HnswIndex(new HnswOptions { Dimensions = D, Metric = metric, M = 10, EfConstruction = 60, Seed = 3 });
        index.AddRange(_keys, _data, maxDegreeOfParallelism: 1);
        for (int i = 0; i < _keys.Length; i += 4)
        {
            index.Remove(_keys[i]);
        }

        index.Add(_keys[1], TestData.Row(_data, D, 1)); // a replaced vector leaves a hidden node behind
        return index;
    }

    private void SameAnswers(HnswIndex expected, HnswIndex actual, string context = "")
    {
        var options = new SearchOptions { Ef = 40 };
        for (int q = 0; q < _queries.Length / D; q++)
        {
            actual.Search(TestData.Row(_queries, D, q), 10, options).Should().Equal(expected.Search(TestData.Row(_queries, D, q), 10, options), $"query {q} {context}");
        }
    }

    private sealed class InlineProgress(Action<long> report) : IProgress<long>
    {
        public void Report(long value) => report(value);
    }
}
