using System.Text;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.VectorData;
using VectorIndex.Orleans.VectorData;
using VectorIndex.VectorData;
using VectorIndex.VectorData.Tests;

namespace VectorIndex.Orleans.Tests;

public sealed class Note
{
    [VectorStoreKey]
    public string Id { get; set; } = "";

    [VectorStoreData]
    public string Text { get; set; } = "";

    [VectorStoreData]
    public int Rank { get; set; }

    [VectorStoreVector(4, DistanceFunction = DistanceFunction.EuclideanSquaredDistance)]
    public float[] Vector { get; set; } = [];
}

public sealed class Item
{
    [VectorStoreKey]
    public Guid Id { get; set; }

    [VectorStoreData]
    public string Text { get; set; } = "";

    [VectorStoreVector(4, DistanceFunction = DistanceFunction.EuclideanSquaredDistance)]
    public float[] Vector { get; set; } = [];
}

public sealed class Passage
{
    [VectorStoreKey]
    public int Id { get; set; }

    [VectorStoreData]
    public string Text { get; set; } = "";

    [VectorStoreVector(8)]
    public string? Embedding { get; set; }
}

/// <summary>One two-silo cluster shared by the tests of <see cref="ShardedStoreParityTests"/> (each uses its own collections).</summary>
public sealed class ParityClusterFixture : IAsyncLifetime
{
    public TestClusterHandle Cluster { get; private set; } = null!;

    public ShardedVectorStore Store { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Cluster = await TestClusterHandle.StartAsync(silos: 2);
        Store = new ShardedVectorStore(Cluster.Grains, new ShardedVectorStoreOptions { ShardCount = 4, ReplicationFactor = 2 });
    }

    public async Task DisposeAsync() => await Cluster.DisposeAsync();
}

/// <summary>MEVD features of the in-process connector, over the cluster: Guid and string keys, deleting collections, filtered reads.</summary>
public class ShardedStoreParityTests(ParityClusterFixture fixture) : IClassFixture<ParityClusterFixture>
{
    // Pseudo-random, so that no two distances tie (the two stores break ties differently).
    private static float[] V(int i)
    {
        var random = new Random(i);
        return [random.NextSingle(), random.NextSingle(), random.NextSingle(), random.NextSingle() + 0.1f];
    }

    [Fact]
    public void Hashes_are_the_documented_stable_functions()
    {
        // FNV-1a 64 of UTF-8 then SplitMix64 (FNV-1a of "" is the offset basis; of "a", the published test vector).
        HashedKeys.Hash("").Should().Be(0xf52a15e9a9b5e89bUL);
        HashedKeys.Hash("a").Should().Be(0x2c0bdbf481420f8UL);
        HashedKeys.Hash("hotel 42").Should().Be(0xbdf9a7fa836df94cUL);
        HashedKeys.Hash("héllo").Should().Be(0x18e366c2ac71cbbeUL);
        HashedKeys.Hash(new string('x', 1000)).Should().Be(HashedKeys.Hash(new string('x', 1000)));
        HashedKeys.Hash(new Guid("01234567-89ab-cdef-0123-456789abcdef")).Should().Be(0xaace9cc3f05a3a87UL);
        HashedKeys.OriginalKeyOf(Encoding.UTF8.GetBytes("{\"a\":[1,{\"$key\":\"no\"}],\"$key\":\"yes\"}")).Should().Be("yes");
        HashedKeys.OriginalKeyOf(Encoding.UTF8.GetBytes("[1]")).Should().BeNull();
        HashedKeys.OriginalKeyOf(Encoding.UTF8.GetBytes("{\"$key\":3}")).Should().BeNull();
    }

    // Application code: it knows only VectorStore. Returns what it observed of the keys.
    private static async Task<List<string>> KeysApplicationAsync(VectorStore store)
    {
        var seen = new List<string>();
        var notes = store.GetCollection<string, Note>("notes");
        await notes.EnsureCollectionExistsAsync();
        await notes.UpsertAsync(Enumerable.Range(0, 40).Select(i => new Note { Id = "note-" + i, Text = "text " + i, Rank = i % 4, Vector = V(i) }));
        await notes.UpsertAsync(new Note { Id = "", Text = "empty key", Rank = 9, Vector = V(100) });
        await notes.UpsertAsync(new Note { Id = "note-3", Text = "renamed", Rank = 3, Vector = V(3) });
        await notes.DeleteAsync("note-5");
        seen.Add("get " + (await notes.GetAsync("note-3"))?.Id + " " + (await notes.GetAsync("note-3"))?.Text);
        seen.Add("get-empty " + (await notes.GetAsync(""))?.Text);
        seen.Add("deleted " + ((await notes.GetAsync("note-5")) is null));
        seen.Add("missing " + ((await notes.GetAsync("never")) is null));
        await foreach (var hit in notes.SearchAsync(V(5), top: 4))
        {
            seen.Add($"hit {hit.Record.Id} {hit.Record.Text}");
        }

        await foreach (var note in notes.GetAsync(["note-1", "never", "note-2"]))
        {
            seen.Add("many " + note.Id);
        }

        var items = store.GetCollection<Guid, Item>("items");
        await items.EnsureCollectionExistsAsync();
        var ids = Enumerable.Range(0, 20).Select(i => new Guid(i + 1, 0, 0, new byte[8])).ToList();
        await items.UpsertAsync(ids.Select((id, i) => new Item { Id = id, Text = "item " + i, Vector = V(i) }));
        await items.DeleteAsync(ids[4]);
        seen.Add("item " + (await items.GetAsync(ids[2]))?.Id + " " + (await items.GetAsync(ids[2]))?.Text);
        seen.Add("item-deleted " + ((await items.GetAsync(ids[4])) is null));
        await foreach (var hit in items.SearchAsync(V(4), top: 3))
        {
            seen.Add($"item-hit {hit.Record.Id} {hit.Record.Text}");
        }

        // An auto-generated key is written back to the record and finds it again.
        var generated = new Item { Text = "generated", Vector = V(50) };
        await items.UpsertAsync(generated);
        generated.Id.Should().NotBe(Guid.Empty);
        (await items.GetAsync(generated.Id))!.Text.Should().Be("generated");
        await foreach (var hit in items.SearchAsync(V(50), top: 1))
        {
            hit.Record.Id.Should().Be(generated.Id);
        }

        return seen;
    }

    [Fact(Timeout = 120_000)]
    public async Task Guid_and_string_keys_give_the_same_keys_in_process_and_on_the_cluster()
    {
        using var local = new VectorIndexVectorStore();
        var expected = await KeysApplicationAsync(local);
        var actual = await KeysApplicationAsync(fixture.Store);
        actual.Should().Equal(expected);
        actual.Should().Contain("get note-3 renamed").And.Contain("get-empty empty key").And.Contain("deleted True")
            .And.Contain("many note-1").And.Contain("many note-2").And.Contain($"item {new Guid(3, 0, 0, new byte[8])} item 2");
    }

    [Fact(Timeout = 120_000)]
    public async Task A_64_bit_collision_is_refused_and_leaves_the_stored_record()
    {
        var notes = fixture.Store.GetCollection<string, Note>("collide");
        await notes.EnsureCollectionExistsAsync();
        ulong storageKey = HashedKeys.Hash("alpha");

        // Another key stored under alpha's storage key, as if "beta" hashed to the same 64 bits.
        byte[] payload = Encoding.UTF8.GetBytes("{\"$key\":\"beta\",\"Text\":\"beta's\",\"Rank\":1}");
        await notes.Collection.UpsertAsync(storageKey, V(1), payload);

        var upsert = () => notes.UpsertAsync(new Note { Id = "alpha", Text = "alpha's", Vector = V(2) });
        (await upsert.Should().ThrowAsync<KeyCollisionException>()).Which.Message.Should().Contain("'alpha'").And.Contain("'beta'");
        (await notes.GetAsync("alpha")).Should().BeNull("the record under its storage key is beta's");

        // In a batch spanning every shard, nothing is written.
        var others = Enumerable.Range(0, 20).Select(i => new Note { Id = "x" + i, Vector = V(10 + i) }).ToList();
        others.Select(n => ShardRouting.ShardOf(HashedKeys.Hash(n.Id), 4)).Distinct().Should().HaveCount(4);
        var batchUpsert = () => notes.UpsertAsync([.. others, new Note { Id = "alpha", Vector = V(2) }]);
        await batchUpsert.Should().ThrowAsync<KeyCollisionException>();
        (await notes.GetAsync(others.Select(n => n.Id)).ToListAsync()).Should().BeEmpty();
        (await notes.Collection.CountAsync()).Should().Be(1);
        await notes.DeleteAsync("alpha"); // names no record: nothing happens
        var stored = await notes.Collection.GetAsync(storageKey);
        stored!.Payload.Should().Equal(payload);
        var hits = await notes.SearchAsync(V(1), top: 1).ToListAsync();
        hits.Should().ContainSingle().Which.Record.Should().BeEquivalentTo(new { Id = "beta", Text = "beta's", Rank = 1 });

        // Two original keys on one storage key within one batch: the batch is refused, nothing written.
        ulong fresh = HashedKeys.Hash("gamma");
        var batch = () => notes.Collection.WriteAsync(
        [
            new ShardWrite { Key = fresh, Vector = V(3), Payload = Encoding.UTF8.GetBytes("{\"$key\":\"gamma\"}"), OriginalKey = "gamma" },
            new ShardWrite { Key = fresh, Vector = V(4), Payload = Encoding.UTF8.GetBytes("{\"$key\":\"delta\"}"), OriginalKey = "delta" },
        ]);
        await batch.Should().ThrowAsync<KeyCollisionException>();
        (await notes.Collection.GetAsync(fresh)).Should().BeNull();

        // A delete then an upsert of another key in one batch is no collision.
        await notes.Collection.WriteAsync(
        [
            new ShardWrite { Key = storageKey, OriginalKey = "beta" },
            new ShardWrite { Key = storageKey, Vector = V(2), Payload = Encoding.UTF8.GetBytes("{\"$key\":\"alpha\",\"Text\":\"alpha's\"}"), OriginalKey = "alpha" },
        ]);
        (await notes.GetAsync("alpha"))!.Text.Should().Be("alpha's");
    }

    [Fact(Timeout = 120_000)]
    public async Task Deleting_a_collection_drops_every_shard_and_a_re_created_one_starts_empty()
    {
        var store = fixture.Store;
        var notes = store.GetCollection<string, Note>("gone");
        await notes.EnsureCollectionExistsAsync();
        await notes.UpsertAsync(Enumerable.Range(0, 30).Select(i => new Note { Id = "n" + i, Text = "t" + i, Vector = V(i) }));
        var stale = new ShardedCollection(fixture.Cluster.Grains, "gone");
        (await stale.ExistsAsync()).Should().BeTrue(); // this handle keeps the definition

        // A writer on another handle races with the deletion: each of its writes is dropped with the collection or refused.
        var writerHandle = store.GetCollection<string, Note>("gone");
        int written = 0;
        var writer = Task.Run(async () =>
        {
            for (int i = 0; ; i++)
            {
                try
                {
                    await writerHandle.UpsertAsync(new Note { Id = "w" + i, Text = "racing", Vector = V(1000 + i) });
                    written++;
                }
                catch (VectorStoreException ex) when (ex.InnerException is CollectionNotFoundException)
                {
                    return;
                }
            }
        });
        while (written < 5)
        {
            await Task.Delay(10);
        }

        string folder = Path.Combine(fixture.Cluster.DataPath, Uri.EscapeDataString("gone"));
        Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories).Should().NotBeEmpty("the replicas keep logs and snapshots");
        await notes.EnsureCollectionDeletedAsync();
        await writer.WaitAsync(TimeSpan.FromSeconds(30));

        (await notes.CollectionExistsAsync()).Should().BeFalse();
        (await store.CollectionExistsAsync("gone")).Should().BeFalse();
        (await store.ListCollectionNamesAsync().ToListAsync()).Should().NotContain("gone");
        (Directory.Exists(folder) ? Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories) : []).Should().BeEmpty("every replica dropped its files");
        var write = () => stale.UpsertAsync(HashedKeys.Hash("late"), V(1), Encoding.UTF8.GetBytes("{\"$key\":\"late\"}"));
        await write.Should().ThrowAsync<CollectionNotFoundException>("the shards refuse writes of a deleted collection");
        var upsert = () => notes.UpsertAsync(new Note { Id = "late", Vector = V(1) });
        (await upsert.Should().ThrowAsync<VectorStoreException>()).Which.CollectionName.Should().Be("gone");

        // Idempotent, also for a name that never existed.
        await notes.EnsureCollectionDeletedAsync();
        await store.EnsureCollectionDeletedAsync("never-existed");

        // Another layout under the deleted name is refused (silos may cache the old one); the same one starts empty.
        var otherLayout = new ShardedVectorStore(fixture.Cluster.Grains, new ShardedVectorStoreOptions { ShardCount = 2, ReplicationFactor = 2 });
        var recreateOther = () => otherLayout.GetCollection<string, Note>("gone").EnsureCollectionExistsAsync();
        await recreateOther.Should().ThrowAsync<InvalidOperationException>();
        await notes.EnsureCollectionExistsAsync();
        (await notes.CollectionExistsAsync()).Should().BeTrue();
        (await notes.Collection.CountAsync()).Should().Be(0);
        (await notes.GetAsync("n1")).Should().BeNull();
        (await notes.SearchAsync(V(1), top: 5).ToListAsync()).Should().BeEmpty();
        await notes.UpsertAsync(new Note { Id = "n1", Text = "new", Vector = V(1) });
        (await notes.GetAsync("n1"))!.Text.Should().Be("new");
        await stale.UpsertAsync(HashedKeys.Hash("late"), V(2), Encoding.UTF8.GetBytes("{\"$key\":\"late\"}")); // the stale handle writes to the new collection
        (await notes.Collection.CountAsync()).Should().Be(2);
        (await store.ListCollectionNamesAsync().ToListAsync()).Should().Contain("gone");
    }

    private static List<Note> FilterNotes() =>
        [.. Enumerable.Range(0, 200).Select(i => new Note { Id = "f" + i, Text = "text " + ((i * 37) % 200).ToString("D3", System.Globalization.CultureInfo.InvariantCulture), Rank = i % 7, Vector = V(i) })];

    [Fact(Timeout = 120_000)]
    public async Task GetAsync_with_a_filter_matches_a_brute_force_filter_and_the_in_process_order()
    {
        var all = FilterNotes();
        using var local = new VectorIndexVectorStore();
        var inProcess = local.GetCollection<string, Note>("filtered");
        await inProcess.EnsureCollectionExistsAsync();
        await inProcess.UpsertAsync(all);
        var sharded = fixture.Store.GetCollection<string, Note>("filtered");
        await sharded.EnsureCollectionExistsAsync();
        await sharded.UpsertAsync(all);
        await sharded.DeleteAsync("f3"); // rank 3: a match, deleted
        await inProcess.DeleteAsync("f3");
        var live = all.Where(n => n.Id != "f3").ToList();
        int low = 2;
        System.Linq.Expressions.Expression<Func<Note, bool>> filter = n => n.Rank >= low && n.Rank < 5 && n.Text != "text 074";
        var expected = live.Where(filter.Compile()).ToList();
        expected.Should().HaveCountGreaterThan(50);

        // Every match, once; none that fails the filter.
        var everything = await sharded.GetAsync(filter, top: 1000).ToListAsync();
        everything.Select(n => n.Id).Should().BeEquivalentTo(expected.Select(n => n.Id));
        everything.Should().OnlyContain(n => n.Vector.Length == 0, "vectors are not asked for");
        everything.Single(n => n.Id == "f9").Should().BeEquivalentTo(new { Id = "f9", Text = "text 133", Rank = 2 });
        everything.Should().NotContain(n => n.Id == "f2", "its text is excluded");

        // Pages of a stable order cover the matches exactly once.
        var paged = new List<string>();
        for (int skip = 0; skip < expected.Count; skip += 7)
        {
            var page = await sharded.GetAsync(filter, top: 7, new() { Skip = skip }).ToListAsync();
            page.Should().HaveCount(Math.Min(7, expected.Count - skip));
            paged.AddRange(page.Select(n => n.Id));
        }

        paged.Should().Equal(everything.Select(n => n.Id));

        // With OrderBy: the same page as the in-process connector, and as sorting the brute-force matches.
        var byRankThenText = new FilteredRecordRetrievalOptions<Note> { Skip = 5, OrderBy = o => o.Descending(n => n.Rank).Ascending(n => n.Text), IncludeVectors = true };
        var ordered = await sharded.GetAsync(filter, top: 12, byRankThenText).ToListAsync();
        var reference = expected.OrderByDescending(n => n.Rank).ThenBy(n => n.Text, StringComparer.CurrentCulture).Skip(5).Take(12).ToList();
        ordered.Select(n => n.Id).Should().Equal(reference.Select(n => n.Id));
        ordered.Select(n => n.Id).Should().Equal((await inProcess.GetAsync(filter, top: 12, byRankThenText).ToListAsync()).Select(n => n.Id));
        ordered.Should().OnlyContain(n => n.Vector.SequenceEqual(all.Single(a => a.Id == n.Id).Vector));

        var byKey = new FilteredRecordRetrievalOptions<Note> { OrderBy = o => o.Descending(n => n.Id) };
        var keyOrdered = await sharded.GetAsync(filter, top: 20, byKey).ToListAsync();
        keyOrdered.Select(n => n.Id).Should().Equal(expected.Select(n => n.Id).OrderByDescending(id => id, StringComparer.CurrentCulture).Take(20));
        keyOrdered.Select(n => n.Id).Should().Equal((await inProcess.GetAsync(filter, top: 20, byKey).ToListAsync()).Select(n => n.Id));

        (await sharded.GetAsync(n => n.Rank == 99, top: 5).ToListAsync()).Should().BeEmpty();
        var unsupported = () => sharded.GetAsync(n => n.Text.StartsWith("text"), top: 5).ToListAsync().AsTask();
        await unsupported.Should().ThrowAsync<NotSupportedException>();
    }

    private static readonly string[] Texts = ["the quick brown fox", "lorem ipsum dolor", "vector search in dotnet", "hnsw graphs are fast", "sharded and replicated"];

    // Application code: it knows only VectorStore, whose options hold the generator.
    private static async Task<List<string>> EmbeddingApplicationAsync(VectorStore store)
    {
        var seen = new List<string>();
        var passages = store.GetCollection<int, Passage>("passages");
        await passages.EnsureCollectionExistsAsync();
        await passages.UpsertAsync(Texts.Select((t, i) => new Passage { Id = i, Text = t, Embedding = t }));
        await foreach (var hit in passages.SearchAsync("vector search in dotnet", top: 3))
        {
            seen.Add($"{hit.Record.Id} {hit.Record.Text} {hit.Record.Embedding ?? "(no input)"} {hit.Score:F5}");
        }

        await foreach (var hit in passages.SearchAsync(FakeEmbeddingGenerator.Embed("lorem ipsum dolor", 8), top: 1))
        {
            seen.Add($"by vector {hit.Record.Id}");
        }

        seen.Add("get " + (await passages.GetAsync(3))!.Text);
        var withVectors = () => passages.SearchAsync("x", top: 1, new() { IncludeVectors = true }).ToListAsync().AsTask();
        await withVectors.Should().ThrowAsync<NotSupportedException>("generator inputs are not stored");
        var getWithVectors = () => passages.GetAsync(1, new RecordRetrievalOptions { IncludeVectors = true });
        await getWithVectors.Should().ThrowAsync<NotSupportedException>();
        return seen;
    }

    [Fact(Timeout = 120_000)]
    public async Task Embedding_generation_gives_the_same_results_in_process_and_on_the_cluster()
    {
        var localGenerator = new FakeEmbeddingGenerator(8);
        using var local = new VectorIndexVectorStore(new VectorIndexVectorStoreOptions { EmbeddingGenerator = localGenerator });
        var expected = await EmbeddingApplicationAsync(local);

        var generator = new FakeEmbeddingGenerator(8);
        var sharded = new ShardedVectorStore(fixture.Cluster.Grains, new ShardedVectorStoreOptions { ShardCount = 4, ReplicationFactor = 2, EmbeddingGenerator = generator });
        var actual = await EmbeddingApplicationAsync(sharded);
        actual.Should().Equal(expected);
        actual[0].Should().StartWith("2 vector search in dotnet (no input) 1.00000");
        generator.Calls.Should().Be(localGenerator.Calls).And.BeGreaterThan(1);

        // The container's generator, when the options name none; without any, a string input is refused.
        var services = new ServiceCollection();
        services.AddSingleton<IGrainFactory>(fixture.Cluster.Grains);
        services.AddSingleton<IEmbeddingGenerator>(new FakeEmbeddingGenerator(8));
        services.AddShardedVectorStore(_ => new ShardedVectorStoreOptions { ShardCount = 4, ReplicationFactor = 2 });
        await using var provider = services.BuildServiceProvider();
        var fromContainer = provider.GetRequiredService<VectorStore>().GetCollection<int, Passage>("passages");
        (await fromContainer.SearchAsync("lorem ipsum dolor", top: 1).ToListAsync()).Single().Record.Id.Should().Be(1);
        var withoutGenerator = new ShardedVectorStore(fixture.Cluster.Grains, new ShardedVectorStoreOptions { ShardCount = 4, ReplicationFactor = 2 });
        var noGenerator = () => withoutGenerator.GetCollection<int, DocWithVector>("passages").SearchAsync("lorem", top: 1).ToListAsync().AsTask();
        await noGenerator.Should().ThrowAsync<NotSupportedException>();
        var vectors = await withoutGenerator.GetCollection<int, DocWithVector>("passages").SearchAsync(FakeEmbeddingGenerator.Embed("hnsw graphs are fast", 8), top: 1).ToListAsync();
        vectors.Single().Record.Id.Should().Be(3);
    }

    public sealed class DocWithVector
    {
        [VectorStoreKey]
        public int Id { get; set; }

        [VectorStoreData]
        public string Text { get; set; } = "";

        [VectorStoreVector(8)]
        public ReadOnlyMemory<float> Embedding { get; set; }
    }

    private static VectorStoreCollectionDefinition NoteDefinition() => new()
    {
        Properties =
        [
            new VectorStoreKeyProperty("Id", typeof(string)),
            new VectorStoreDataProperty("Text", typeof(string)),
            new VectorStoreDataProperty("Rank", typeof(int)),
            new VectorStoreVectorProperty("Vector", typeof(float[]), 4) { DistanceFunction = DistanceFunction.EuclideanSquaredDistance },
        ],
    };

    // Application code over dynamic records, next to typed ones on the same collection.
    private static async Task<List<string>> DynamicApplicationAsync(VectorStore store)
    {
        var seen = new List<string>();
        var typed = store.GetCollection<string, Note>("dynamic");
        await typed.EnsureCollectionExistsAsync();
        var dynamicNotes = store.GetDynamicCollection("dynamic", NoteDefinition());
        (await dynamicNotes.CollectionExistsAsync()).Should().BeTrue();
        await typed.UpsertAsync(Enumerable.Range(0, 20).Select(i => new Note { Id = "d" + i, Text = "typed " + i, Rank = i % 5, Vector = V(i) }));
        await dynamicNotes.UpsertAsync(Enumerable.Range(20, 20).Select(i => new Dictionary<string, object?>
        {
            ["Id"] = "d" + i,
            ["Text"] = "dynamic " + i,
            ["Rank"] = i % 5,
            ["Vector"] = V(i),
        }));

        var asDynamic = await dynamicNotes.GetAsync("d3", new RecordRetrievalOptions { IncludeVectors = true });
        seen.Add($"dynamic read {asDynamic!["Id"]} {asDynamic["Text"]} {asDynamic["Rank"]} {string.Join(",", (float[])asDynamic["Vector"]!)}");
        var asTyped = await typed.GetAsync("d25");
        seen.Add($"typed read {asTyped!.Id} {asTyped.Text} {asTyped.Rank}");
        await dynamicNotes.DeleteAsync("d21");
        seen.Add("deleted " + (await typed.GetAsync("d21") is null));

        var filtered = await dynamicNotes.GetAsync(r => (int)r["Rank"]! >= 3 && (string)r["Text"]! != "typed 4", 100,
            new() { OrderBy = o => o.Ascending(r => r["Rank"]).Descending(r => r["Text"]) }).ToListAsync();
        seen.Add("filtered " + string.Join(",", filtered.Select(r => r["Id"])));
        await foreach (var hit in dynamicNotes.SearchAsync(V(26), top: 3, new() { Filter = r => (int)r["Rank"]! == 1 }))
        {
            seen.Add($"hit {hit.Record["Id"]} {hit.Record["Text"]} {hit.Score:F5}");
        }

        return seen;
    }

    [Fact(Timeout = 120_000)]
    public async Task Dynamic_collections_give_the_same_results_in_process_and_on_the_cluster()
    {
        using var local = new VectorIndexVectorStore();
        var expected = await DynamicApplicationAsync(local);
        var actual = await DynamicApplicationAsync(fixture.Store);
        actual.Should().Equal(expected);
        actual.Should().Contain("typed read d25 dynamic 25 0").And.Contain("deleted True");
        actual.Should().Contain(l => l.StartsWith("filtered d8,d3,d18,d13,d38,d33,d28,d23,d9,", StringComparison.Ordinal));

        var typedDictionary = () => new ShardedVectorStoreCollection<string, Dictionary<string, object?>>(fixture.Cluster.Grains, "dynamic");
        typedDictionary.Should().Throw<NotSupportedException>();
    }

    private static async Task<List<string>> MissingCollectionAsync(VectorStore store)
    {
        var seen = new List<string>();
        var missing = store.GetCollection<string, Note>("missing");
        async Task Record(string operation, Func<Task> call)
        {
            try
            {
                await call();
                seen.Add(operation + " succeeded");
            }
            catch (VectorStoreException ex)
            {
                seen.Add($"{operation} {nameof(VectorStoreException)} {ex.CollectionName}");
            }
        }

        await Record("upsert", () => missing.UpsertAsync(new Note { Id = "a", Vector = V(1) }));
        await Record("get", () => missing.GetAsync("a"));
        await Record("delete", () => missing.DeleteAsync("a"));
        await Record("search", () => missing.SearchAsync(V(1), top: 1).ToListAsync().AsTask());
        await Record("filtered get", () => missing.GetAsync(n => n.Rank == 1, top: 1).ToListAsync().AsTask());
        return seen;
    }

    [Fact(Timeout = 120_000)]
    public async Task A_missing_collection_throws_VectorStoreException_as_in_process()
    {
        using var local = new VectorIndexVectorStore();
        var expected = await MissingCollectionAsync(local);
        expected.Should().OnlyContain(l => l.EndsWith("VectorStoreException missing", StringComparison.Ordinal));
        (await MissingCollectionAsync(fixture.Store)).Should().Equal(expected);
    }
}
