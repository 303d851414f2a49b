using Microsoft.Extensions.VectorData;
using VectorIndex.VectorData.Durability;

namespace VectorIndex.VectorData.Tests;

public class DurabilityTests
{
    private static KeyedRecord<string> Record(int i) => new() { Key = $"k{i}", Text = $"text {i}", Vector = new float[] { i + 1, -i } };

    private static async Task Check(VectorIndexCollection<string, KeyedRecord<string>> collection, IEnumerable<int> present, IEnumerable<int> absent)
    {
        foreach (int i in present)
        {
            var read = await collection.GetAsync($"k{i}", new RecordRetrievalOptions { IncludeVectors = true });
            read.Should().NotBeNull($"k{i} was written");
            read!.Text.Should().Be($"text {i}");
            read.Vector.ToArray().Should().Equal(i + 1, -i);
        }

        foreach (int i in absent)
        {
            (await collection.GetAsync($"k{i}")).Should().BeNull($"k{i} was deleted");
        }
    }

    [Fact]
    public async Task Reopening_after_dispose_gives_the_same_data_with_and_without_snapshots()
    {
        foreach (long threshold in new[] { VectorIndexVectorStoreOptions.DefaultSnapshotThresholdBytes, 600 })
        {
            using var dir = new TempDirectory();
            var options = new VectorIndexVectorStoreOptions { Directory = dir.Path, SnapshotThresholdBytes = threshold };
            using (var store = new VectorIndexVectorStore(options))
            {
                var c = store.GetCollection<string, KeyedRecord<string>>("docs");
                await c.EnsureCollectionExistsAsync();
                for (int i = 0; i < 40; i++)
                {
                    await c.UpsertAsync(Record(i));
                }

                await c.UpsertAsync(Enumerable.Range(40, 20).Select(Record));
                await c.DeleteAsync(["k3", "k45"]);
                await c.DeleteAsync("k7");
            }

            string folder = Path.Combine(dir.Path, "docs");
            bool snapshotted = Directory.EnumerateFiles(folder).Any(f => f.EndsWith(".rows", StringComparison.Ordinal));
            snapshotted.Should().Be(threshold == 600, "a small threshold folds the log into snapshots");

            using (var store = new VectorIndexVectorStore(options))
            {
                (await store.ListCollectionNamesAsync().CollectAsync()).Should().Equal("docs");
                var c = store.GetCollection<string, KeyedRecord<string>>("docs");
                await Check(c, Enumerable.Range(0, 60).Except([3, 45, 7]), [3, 45, 7]);
                var hits = await c.SearchAsync(new float[] { 11, -10 }, 1).CollectAsync();
                hits.Single().Record.Key.Should().Be("k10");
                await c.UpsertAsync(Record(3));
            }

            using (var store = new VectorIndexVectorStore(options))
            {
                await Check(store.GetCollection<string, KeyedRecord<string>>("docs"), [3], [7]);
            }
        }
    }

    [Fact]
    public async Task Large_batches_with_repeated_keys_and_missing_vectors_apply_and_replay_as_in_order()
    {
        using var dir = new TempDirectory();
        var options = new VectorIndexVectorStoreOptions { Directory = dir.Path };
        var batch = Enumerable.Range(0, 150).Select(Record).ToList();
        batch.Add(new KeyedRecord<string> { Key = "k5", Text = "text 5", Vector = new float[] { 6, -5 } }); // repeated key: the later row wins
        var hotels = Enumerable.Range(0, 100).Select(i => new Hotel { Id = new Guid(i + 1, 0, 0, new byte[8]), Name = $"h{i}", Embedding = i % 2 == 0 ? new ReadOnlyMemory<float>([i + 1, 1, 1, 1]) : (ReadOnlyMemory<float>?)null }).ToList();
        hotels.Add(new Hotel { Id = hotels[0].Id, Name = "h0 again", Embedding = null }); // replaces a row with a vector by one without

        using (var store = new VectorIndexVectorStore(options))
        {
            var c = store.GetCollection<string, KeyedRecord<string>>("docs");
            await c.EnsureCollectionExistsAsync();
            await c.UpsertAsync(batch);
            var h = store.GetCollection<Guid, Hotel>("hotels");
            await h.EnsureCollectionExistsAsync();
            await h.UpsertAsync(hotels);
            (await h.SearchAsync(new float[] { 1, 1, 1, 1 }, 200, new() { VectorProperty = x => x.Embedding }).CollectAsync()).Should().HaveCount(49);
        }

        using (var store = new VectorIndexVectorStore(options))
        {
            var c = store.GetCollection<string, KeyedRecord<string>>("docs");
            await Check(c, Enumerable.Range(0, 150), []);
            (await c.SearchAsync(new float[] { 1, 0 }, 500).CollectAsync()).Should().HaveCount(150);
            var h = store.GetCollection<Guid, Hotel>("hotels");
            (await h.GetAsync(hotels[0].Id))!.Name.Should().Be("h0 again");
            var hits = await h.SearchAsync(new float[] { 1, 1, 1, 1 }, 200, new() { VectorProperty = x => x.Embedding }).CollectAsync();
            hits.Should().HaveCount(49, "50 hotels had vectors and one of them was replaced by a row without");
            hits.Should().NotContain(x => x.Record.Id == hotels[0].Id);
        }
    }

    [Fact]
    public async Task Closing_folds_a_large_log_into_a_snapshot_so_reopening_loads_it()
    {
        using var dir = new TempDirectory();
        var options = new VectorIndexVectorStoreOptions { Directory = dir.Path };
        string text = new('x', 1000);
        using (var store = new VectorIndexVectorStore(options))
        {
            var c = store.GetCollection<string, KeyedRecord<string>>("docs");
            await c.EnsureCollectionExistsAsync();
            await c.UpsertAsync(Enumerable.Range(0, 1200).Select(i => new KeyedRecord<string> { Key = $"k{i}", Text = text, Vector = new float[] { MathF.Cos(i * 0.005f), MathF.Sin(i * 0.005f) } }));
            new FileInfo(Directory.GetFiles(Path.Combine(dir.Path, "docs"), "*.wal").Single()).Length.Should().BeGreaterThan(1 << 20);
        }

        string folder = Path.Combine(dir.Path, "docs");
        Directory.GetFiles(folder, "*.rows").Should().ContainSingle();
        new FileInfo(Directory.GetFiles(folder, "*.wal").Single()).Length.Should().Be(WriteAheadLog.HeaderSize);
        using (var store = new VectorIndexVectorStore(options))
        {
            var c = store.GetCollection<string, KeyedRecord<string>>("docs");
            (await c.GetAsync("k1199"))!.Text.Should().Be(text);
            (await c.SearchAsync(new float[] { MathF.Cos(599 * 0.005f), MathF.Sin(599 * 0.005f) }, 1).CollectAsync()).Single().Record.Key.Should().Be("k599");
        }
    }

    [Fact]
    public async Task Graph_settings_apply_at_creation_and_stay_with_the_collection()
    {
        foreach (long threshold in new[] { VectorIndexVectorStoreOptions.DefaultSnapshotThresholdBytes, 1 })
        {
            using var dir = new TempDirectory();
            using (var store = new VectorIndexVectorStore(new() { Directory = dir.Path, SnapshotThresholdBytes = threshold, HnswM = 8, HnswEfConstruction = 50, HnswEfSearch = 120 }))
            {
                var c = store.GetCollection<string, KeyedRecord<string>>("g");
                await c.EnsureCollectionExistsAsync();
                await c.UpsertAsync(Record(1));
                var graph = c.GraphOptions("Vector")!;
                (graph.M, graph.EfConstruction, graph.EfSearch).Should().Be((8, 50, 120));
            }

            // Reopened (from the log, or from a snapshot) by a store with other settings: the collection keeps its own.
            using (var store = new VectorIndexVectorStore(new() { Directory = dir.Path, HnswM = 32, HnswEfSearch = 10 }))
            {
                var c = store.GetCollection<string, KeyedRecord<string>>("g");
                var graph = c.GraphOptions("Vector")!;
                (graph.M, graph.EfConstruction, graph.EfSearch).Should().Be((8, 50, 120), $"threshold {threshold}");
                await Check(c, [1], []);
            }
        }

        using var memory = new VectorIndexVectorStore(new() { HnswM = 1 });
        FluentActions.Invoking(() => memory.GetCollection<string, KeyedRecord<string>>("bad")).Should().Throw<ArgumentOutOfRangeException>();
        using var direct = new VectorIndexCollection<string, KeyedRecord<string>>("d", new VectorIndexCollectionOptions { HnswEfSearch = 200 });
        await direct.EnsureCollectionExistsAsync();
        direct.GraphOptions("Vector")!.EfSearch.Should().Be(200);
    }

    [Fact]
    public async Task Stores_on_the_same_directory_share_collections()
    {
        using var dir = new TempDirectory();
        using var a = new VectorIndexVectorStore(new() { Directory = dir.Path });
        using var b = new VectorIndexVectorStore(new() { Directory = Path.Combine(dir.Path, ".") });
        var ca = a.GetCollection<string, KeyedRecord<string>>("shared");
        await ca.EnsureCollectionExistsAsync();
        await ca.UpsertAsync(Record(1));
        var cb = b.GetCollection<string, KeyedRecord<string>>("shared");
        await Check(cb, [1], []);
        using var direct = new VectorIndexCollection<string, KeyedRecord<string>>("shared", new VectorIndexCollectionOptions { Directory = dir.Path });
        await direct.UpsertAsync(Record(2));
        await Check(ca, [1, 2], []);
    }

    [Fact]
    public async Task A_torn_log_tail_is_cut_off_cleanly()
    {
        using var dir = new TempDirectory();
        var options = new VectorIndexVectorStoreOptions { Directory = dir.Path };
        string log = await LogOfFiveUpsertsAsync(options);
        long length = new FileInfo(log).Length;
        using (var stream = new FileStream(log, FileMode.Open))
        {
            stream.SetLength(length - 5); // the last upsert, cut in the middle
        }

        using (var store = new VectorIndexVectorStore(options))
        {
            var c = store.GetCollection<string, KeyedRecord<string>>("docs");
            await Check(c, [0, 1, 2, 3], [4]);
            await c.UpsertAsync(Record(9)); // appends after the cut, not after the garbage
        }

        using (var store = new VectorIndexVectorStore(options))
        {
            await Check(store.GetCollection<string, KeyedRecord<string>>("docs"), [0, 1, 2, 3, 9], [4]);
        }
    }

    [Fact]
    public async Task A_corrupted_snapshot_or_log_gives_a_VectorStoreException_naming_the_file()
    {
        using var dir = new TempDirectory();
        var options = new VectorIndexVectorStoreOptions { Directory = dir.Path, SnapshotThresholdBytes = 300 };
        using (var store = new VectorIndexVectorStore(options))
        {
            var c = store.GetCollection<string, KeyedRecord<string>>("docs");
            await c.EnsureCollectionExistsAsync();
            for (int i = 0; i < 20; i++)
            {
                await c.UpsertAsync(Record(i));
            }
        }

        string folder = Path.Combine(dir.Path, "docs");
        foreach (string pattern in new[] { "*.rows", "*.hnsw", "MANIFEST" })
        {
            string file = Directory.GetFiles(folder, pattern).Single();
            byte[] original = File.ReadAllBytes(file);
            byte[] damaged = (byte[])original.Clone();
            damaged[damaged.Length / 2] ^= 0x40;
            File.WriteAllBytes(file, damaged);

            using (var store = new VectorIndexVectorStore(options))
            {
                var c = store.GetCollection<string, KeyedRecord<string>>("docs");
                var act = () => c.GetAsync("k1");
                (await act.Should().ThrowAsync<VectorStoreException>()).Which.Message.Should().Contain(Path.GetFileName(file));
            }

            File.WriteAllBytes(file, original);
        }

        using (var store = new VectorIndexVectorStore(options))
        {
            await Check(store.GetCollection<string, KeyedRecord<string>>("docs"), Enumerable.Range(0, 20), []);
        }
    }

    [Fact]
    public async Task A_damaged_log_record_before_the_tail_gives_a_VectorStoreException_naming_the_log()
    {
        using var dir = new TempDirectory();
        var options = new VectorIndexVectorStoreOptions { Directory = dir.Path };
        string log = await LogOfFiveUpsertsAsync(options);
        byte[] bytes = File.ReadAllBytes(log);
        bytes[WriteAheadLog.HeaderSize + 8 + 3] ^= 0x10; // inside the first record's payload
        File.WriteAllBytes(log, bytes);

        using var reopened = new VectorIndexVectorStore(options);
        var act = () => reopened.GetCollection<string, KeyedRecord<string>>("docs").GetAsync("k1");
        var error = (await act.Should().ThrowAsync<VectorStoreException>()).Which;
        error.Message.Should().Contain(Path.GetFileName(log));
        error.CollectionName.Should().Be("docs");
    }

    [Fact]
    public async Task Log_records_survive_reopen_and_a_damaged_middle_record_is_reported()
    {
        using var dir = new TempDirectory();
        string path = Path.Combine(dir.Path, "test.wal");
        using (var log = WriteAheadLog.Create(path, 7))
        {
            for (int i = 0; i < 5; i++)
            {
                long position = log.Append(new byte[] { (byte)i, 1, 2, 3 });
                await log.WaitDurableAsync(position);
            }
        }

        var seen = new List<byte>();
        using (WriteAheadLog.Open(path, 7, r => seen.Add(r.Span[0])))
        {
        }

        seen.Should().Equal(0, 1, 2, 3, 4);

        byte[] bytes = File.ReadAllBytes(path);
        bytes[WriteAheadLog.HeaderSize + 12 + 9] ^= 1; // inside the second record's payload
        File.WriteAllBytes(path, bytes);
        FluentActions.Invoking(() => WriteAheadLog.Open(path, 7, _ => { })).Should().Throw<InvalidDataException>().WithMessage("*test.wal*");
        FluentActions.Invoking(() => WriteAheadLog.Open(path, 8, _ => { })).Should().Throw<InvalidDataException>().WithMessage("*generation*");
    }

    [Fact]
    public async Task Waiters_for_appends_made_before_a_flush_share_it()
    {
        using var dir = new TempDirectory();
        using var log = WriteAheadLog.Create(Path.Combine(dir.Path, "g.wal"), 0);
        var positions = Enumerable.Range(0, 50).Select(i => log.Append(new byte[] { (byte)i })).ToList();
        await Task.WhenAll(positions.Select(p => Task.Run(() => log.WaitDurableAsync(p))));
        log.FlushCount.Should().Be(1, "one fsync covers every append that preceded it");
        await log.WaitDurableAsync(positions[^1]);
        log.FlushCount.Should().Be(1, "a durable position needs no further flush");
    }

    [Fact]
    public void Directory_fsync_runs_on_this_platform()
    {
        using var dir = new TempDirectory();
        DirectorySync.Flush(dir.Path);
        DirectorySync.IsAvailable.Should().Be(!OperatingSystem.IsWindows());
    }

    [Fact]
    public void Crc32C_matches_the_standard_check_value()
    {
        Crc32C.Compute("123456789"u8).Should().Be(0xE3069283);
        Crc32C.Append(Crc32C.Compute("1234"u8), "56789"u8).Should().Be(0xE3069283);
    }

    [Fact]
    public async Task Concurrent_writers_share_flushes_and_all_writes_are_durable()
    {
        using var dir = new TempDirectory();
        var options = new VectorIndexVectorStoreOptions { Directory = dir.Path, SnapshotThresholdBytes = 16 * 1024 };
        using (var store = new VectorIndexVectorStore(options))
        {
            var c = store.GetCollection<string, KeyedRecord<string>>("docs");
            await c.EnsureCollectionExistsAsync();
            using var done = new CancellationTokenSource();
            var reader = Task.Run(async () =>
            {
                // Searches and gets run while writers log, flush and fold the log into snapshots.
                while (!done.IsCancellationRequested)
                {
                    foreach (var hit in await c.SearchAsync(new float[] { 1, 0 }, 5).CollectAsync())
                    {
                        hit.Record.Text.Should().Be($"text {hit.Record.Key[1..]}");
                    }

                    await Task.Delay(1);
                }
            });
            await Task.WhenAll(Enumerable.Range(0, 8).Select(t => Task.Run(async () =>
            {
                for (int i = t * 50; i < (t + 1) * 50; i++)
                {
                    await c.UpsertAsync(Record(i));
                    if (i % 5 == 0)
                    {
                        await c.DeleteAsync($"k{i}");
                    }
                }
            })));
            await done.CancelAsync();
            await reader;
            Directory.GetFiles(Path.Combine(dir.Path, "docs"), "*.rows").Should().ContainSingle("the log was folded while the writers ran");
        }

        using (var store = new VectorIndexVectorStore(options))
        {
            var all = Enumerable.Range(0, 400).ToList();
            await Check(store.GetCollection<string, KeyedRecord<string>>("docs"), all.Where(i => i % 5 != 0), all.Where(i => i % 5 == 0));
        }
    }

    /// <summary>Upserts records 0-4 into a durable collection "docs" under the options' directory, closes it, and returns its log file.</summary>
    private static async Task<string> LogOfFiveUpsertsAsync(VectorIndexVectorStoreOptions options)
    {
        using (var store = new VectorIndexVectorStore(options))
        {
            var c = store.GetCollection<string, KeyedRecord<string>>("docs");
            await c.EnsureCollectionExistsAsync();
            for (int i = 0; i < 5; i++)
            {
                await c.UpsertAsync(Record(i));
            }
        }

        return Directory.GetFiles(Path.Combine(options.Directory!, "docs"), "*.wal").Single();
    }
}
