using Microsoft.Extensions.VectorData;

namespace VectorIndex.VectorData.Tests;

public class CrudTests
{
    private static Hotel NewHotel(string name, int rating = 3) => new()
    {
        Id = Guid.NewGuid(),
        Name = name,
        Rating = rating,
        Price = 99.5,
        Open = true,
        Tags = ["a", "b"],
        Amenities = ["pool"],
        Opened = new DateTimeOffset(2020, 1, 2, 3, 4, 5, TimeSpan.FromHours(2)),
        Fee = 12.34m,
        Embedding = new float[] { 1, 2, 3, 4 },
        Location = [0.5f, -1, 2],
    };

    [Fact]
    public async Task Typed_round_trip_returns_a_copy_with_every_value()
    {
        using var store = new VectorIndexVectorStore();
        var hotels = store.GetCollection<Guid, Hotel>("hotels");
        await hotels.EnsureCollectionExistsAsync();
        var hotel = NewHotel("Grand");
        await hotels.UpsertAsync(hotel);

        // The stored row is not the caller's object: changing it afterwards changes nothing.
        hotel.Name = "changed";
        hotel.Tags[0] = "changed";

        var read = await hotels.GetAsync(hotel.Id, new RecordRetrievalOptions { IncludeVectors = true });
        read.Should().NotBeNull();
        read.Should().NotBeSameAs(hotel);
        read!.Name.Should().Be("Grand");
        read.Rating.Should().Be(3);
        read.Price.Should().Be(99.5);
        read.Open.Should().BeTrue();
        read.Tags.Should().Equal("a", "b");
        read.Amenities.Should().Equal("pool");
        read.Opened.Should().Be(new DateTimeOffset(2020, 1, 2, 3, 4, 5, TimeSpan.FromHours(2)));
        read.Opened.Offset.Should().Be(TimeSpan.FromHours(2));
        read.Fee.Should().Be(12.34m);
        read.Embedding!.Value.ToArray().Should().Equal(1, 2, 3, 4); // as given, not normalised by the cosine index
        read.Location.Should().Equal(0.5f, -1, 2);
    }

    [Fact]
    public async Task IncludeVectors_false_leaves_vectors_out()
    {
        using var store = new VectorIndexVectorStore();
        var hotels = store.GetCollection<Guid, Hotel>("hotels");
        await hotels.EnsureCollectionExistsAsync();
        var hotel = NewHotel("Grand");
        await hotels.UpsertAsync(hotel);

        var read = await hotels.GetAsync(hotel.Id);
        read!.Embedding.Should().BeNull();
        read.Location.Should().BeNull();
        var found = await hotels.SearchAsync(new float[] { 1, 2, 3, 4 }, 1, new() { VectorProperty = h => h.Embedding }).CollectAsync();
        found.Single().Record.Embedding.Should().BeNull();
        var withVectors = await hotels.SearchAsync(new float[] { 1, 2, 3, 4 }, 1, new() { IncludeVectors = true, VectorProperty = h => h.Embedding }).CollectAsync();
        withVectors.Single().Record.Embedding!.Value.ToArray().Should().Equal(1, 2, 3, 4);
    }

    [Fact]
    public async Task Upsert_replaces_delete_removes_batches_work()
    {
        using var store = new VectorIndexVectorStore();
        var hotels = store.GetCollection<Guid, Hotel>("hotels");
        await hotels.EnsureCollectionExistsAsync();
        var batch = Enumerable.Range(0, 10).Select(i => NewHotel($"h{i}", i)).ToList();
        await hotels.UpsertAsync(batch);
        (await hotels.GetAsync(batch.Select(b => b.Id)).CollectAsync()).Select(h => h.Name).Should().Equal(batch.Select(b => b.Name));

        batch[0].Name = "renamed";
        batch[0].Embedding = null;
        await hotels.UpsertAsync(batch[0]);
        (await hotels.GetAsync(batch[0].Id))!.Name.Should().Be("renamed");
        var hits = await hotels.SearchAsync(new float[] { 1, 2, 3, 4 }, 20, new() { VectorProperty = h => h.Embedding }).CollectAsync();
        hits.Should().HaveCount(9, "the record without an embedding left the index");

        await hotels.DeleteAsync(batch[1].Id);
        await hotels.DeleteAsync(batch.Skip(2).Take(3).Select(b => b.Id));
        await hotels.DeleteAsync(Guid.NewGuid()); // absent: no error
        (await hotels.GetAsync(batch[1].Id)).Should().BeNull();
        (await hotels.GetAsync(batch.Select(b => b.Id)).CollectAsync()).Should().HaveCount(6);
        (await hotels.SearchAsync(new float[] { 1, 2, 3, 4 }, 20, new() { VectorProperty = h => h.Embedding }).CollectAsync()).Should().HaveCount(5);
    }

    [Fact]
    public async Task Guid_keys_are_generated_when_empty()
    {
        using var store = new VectorIndexVectorStore();
        var hotels = store.GetCollection<Guid, Hotel>("hotels");
        await hotels.EnsureCollectionExistsAsync();
        var hotel = NewHotel("auto");
        hotel.Id = Guid.Empty;
        await hotels.UpsertAsync(hotel);
        hotel.Id.Should().NotBe(Guid.Empty);
        (await hotels.GetAsync(hotel.Id))!.Name.Should().Be("auto");
    }

    [Fact]
    public void Auto_generation_on_a_non_Guid_key_throws_NotSupported()
    {
        using var store = new VectorIndexVectorStore();
        var definition = new VectorStoreCollectionDefinition
        {
            Properties = [new VectorStoreKeyProperty("Key", typeof(int)) { IsAutoGenerated = true }, new VectorStoreVectorProperty("Vector", typeof(ReadOnlyMemory<float>), 2)],
        };
        var act = () => store.GetCollection<int, KeyedRecord<int>>("x", definition);
        act.Should().Throw<NotSupportedException>();
    }

    public static TheoryData<object> KeySamples => new() { Guid.NewGuid(), "key-ü", 0, -7, 0L, long.MinValue, 0UL, ulong.MaxValue };

    [Theory]
    [MemberData(nameof(KeySamples))]
    public async Task Every_key_type_round_trips(object key)
    {
        var method = typeof(CrudTests).GetMethod(nameof(RoundTrip), System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!
            .MakeGenericMethod(key.GetType());
        await (Task)method.Invoke(null, [key])!;
    }

    private static async Task RoundTrip<TKey>(TKey key)
        where TKey : notnull
    {
        using var store = new VectorIndexVectorStore();
        var collection = store.GetCollection<TKey, KeyedRecord<TKey>>("keys");
        await collection.EnsureCollectionExistsAsync();
        await collection.UpsertAsync(new KeyedRecord<TKey> { Key = key, Text = "t", Vector = new float[] { 1, 0 } });
        var read = await collection.GetAsync(key);
        read!.Key.Should().Be(key);
        read.Text.Should().Be("t");
        var hit = (await collection.SearchAsync(new float[] { 1, 0 }, 1).CollectAsync()).Single();
        hit.Record.Key.Should().Be(key);
        await collection.DeleteAsync(key);
        (await collection.GetAsync(key)).Should().BeNull();
    }

    private static VectorStoreCollectionDefinition HotelDefinition() => new()
    {
        Properties =
        [
            new VectorStoreKeyProperty("Id", typeof(Guid)),
            new VectorStoreDataProperty("Name", typeof(string)) { IsIndexed = true },
            new VectorStoreDataProperty("Rating", typeof(int)),
            new VectorStoreDataProperty("Tags", typeof(List<string>)),
            new VectorStoreVectorProperty("Embedding", typeof(ReadOnlyMemory<float>), 4),
        ],
    };

    [Fact]
    public async Task Dynamic_records_round_trip_and_share_the_collection_with_typed_ones()
    {
        using var store = new VectorIndexVectorStore();
        var typed = store.GetCollection<Guid, Hotel>("hotels");
        await typed.EnsureCollectionExistsAsync();
        var dynamicCollection = store.GetDynamicCollection("hotels", HotelDefinition());

        var hotel = NewHotel("typed");
        await typed.UpsertAsync(hotel);
        var asDynamic = await dynamicCollection.GetAsync(hotel.Id, new RecordRetrievalOptions { IncludeVectors = true });
        asDynamic!["Name"].Should().Be("typed");
        asDynamic["Rating"].Should().Be(3);
        asDynamic["Tags"].Should().BeOfType<List<string>>().Which.Should().Equal("a", "b"); // stored as string[], read as List<string>
        ((ReadOnlyMemory<float>)asDynamic["Embedding"]!).ToArray().Should().Equal(1, 2, 3, 4);

        var id = Guid.NewGuid();
        await dynamicCollection.UpsertAsync(new Dictionary<string, object?>
        {
            ["Id"] = id,
            ["Name"] = "dynamic",
            ["Rating"] = 5,
            ["Tags"] = new List<string> { "x" },
            ["Embedding"] = new ReadOnlyMemory<float>([4, 3, 2, 1]),
        });
        var asTyped = await typed.GetAsync(id, new RecordRetrievalOptions { IncludeVectors = true });
        asTyped!.Name.Should().Be("dynamic");
        asTyped.Rating.Should().Be(5);
        asTyped.Tags.Should().Equal("x");
        asTyped.Embedding!.Value.ToArray().Should().Equal(4, 3, 2, 1);

        var filtered = await dynamicCollection.GetAsync(r => (string)r["Name"]! == "dynamic", 10).CollectAsync();
        filtered.Should().ContainSingle().Which["Id"].Should().Be(id);
        var searched = await dynamicCollection.SearchAsync(new float[] { 4, 3, 2, 1 }, 1, new() { Filter = r => (int)r["Rating"]! > 4 }).CollectAsync();
        searched.Single().Record["Id"].Should().Be(id);
    }

    [Fact]
    public async Task Opening_with_another_shape_throws()
    {
        using var store = new VectorIndexVectorStore();
        var typed = store.GetCollection<Guid, Hotel>("hotels");
        await typed.EnsureCollectionExistsAsync();
        var wrongDimensions = store.GetDynamicCollection("hotels", new VectorStoreCollectionDefinition
        {
            Properties = [new VectorStoreKeyProperty("Id", typeof(Guid)), new VectorStoreVectorProperty("Embedding", typeof(ReadOnlyMemory<float>), 5)],
        });
        var act = () => wrongDimensions.GetAsync(Guid.NewGuid());
        await act.Should().ThrowAsync<InvalidOperationException>().WithMessage("*5 dimensions*");
    }

    [Fact]
    public async Task Collection_management_and_metadata()
    {
        using var store = new VectorIndexVectorStore();
        (await store.CollectionExistsAsync("a")).Should().BeFalse();
        var a = store.GetCollection<int, KeyedRecord<int>>("a");
        (await a.CollectionExistsAsync()).Should().BeFalse();
        var missing = () => a.UpsertAsync(new KeyedRecord<int> { Key = 1, Vector = new float[] { 1, 1 } });
        (await missing.Should().ThrowAsync<VectorStoreException>()).Which.CollectionName.Should().Be("a");

        await a.EnsureCollectionExistsAsync();
        await a.EnsureCollectionExistsAsync();
        await store.GetCollection<string, KeyedRecord<string>>("b c/ü").EnsureCollectionExistsAsync();
        (await store.ListCollectionNamesAsync().CollectAsync()).Should().BeEquivalentTo("a", "b c/ü");
        (await a.CollectionExistsAsync()).Should().BeTrue();

        await a.UpsertAsync(new KeyedRecord<int> { Key = 1, Vector = new float[] { 1, 1 } });
        await store.EnsureCollectionDeletedAsync("a");
        await store.EnsureCollectionDeletedAsync("a");
        (await a.CollectionExistsAsync()).Should().BeFalse();
        await a.EnsureCollectionExistsAsync();
        (await a.GetAsync(1)).Should().BeNull("a deleted collection starts empty when created again");

        store.GetService(typeof(VectorStoreMetadata)).Should().BeOfType<VectorStoreMetadata>().Which.VectorStoreSystemName.Should().Be("vectorindex");
        a.GetService(typeof(VectorStoreCollectionMetadata)).Should().BeOfType<VectorStoreCollectionMetadata>().Which.CollectionName.Should().Be("a");
        a.GetService(typeof(VectorStoreCollectionMetadata), "key").Should().BeNull();
        store.GetService(typeof(VectorStore)).Should().BeSameAs(store);
    }

    [Fact]
    public async Task Argument_checks_use_the_abstractions_parameter_names()
    {
        using var store = new VectorIndexVectorStore();
        var c = store.GetCollection<string, KeyedRecord<string>>("c");
        await c.EnsureCollectionExistsAsync();
        await FluentActions.Awaiting(() => c.GetAsync((string)null!)).Should().ThrowAsync<ArgumentNullException>().WithParameterName("key");
        await FluentActions.Awaiting(() => c.UpsertAsync((KeyedRecord<string>)null!)).Should().ThrowAsync<ArgumentNullException>().WithParameterName("record");
        await FluentActions.Awaiting(() => c.UpsertAsync((IEnumerable<KeyedRecord<string>>)null!)).Should().ThrowAsync<ArgumentNullException>().WithParameterName("records");
        await FluentActions.Awaiting(() => c.DeleteAsync((IEnumerable<string>)null!)).Should().ThrowAsync<ArgumentNullException>().WithParameterName("keys");
        FluentActions.Invoking(() => c.SearchAsync(new float[] { 1, 0 }, 0)).Should().Throw<ArgumentOutOfRangeException>().WithParameterName("top");
        FluentActions.Invoking(() => c.SearchAsync((float[])null!, 1)).Should().Throw<ArgumentNullException>().WithParameterName("searchValue");
        FluentActions.Invoking(() => c.GetAsync(null!, 1)).Should().Throw<ArgumentNullException>().WithParameterName("filter");
        FluentActions.Invoking(() => c.SearchAsync("text", 1)).Should().Throw<NotSupportedException>();
        FluentActions.Invoking(() => store.GetCollection<string, KeyedRecord<string>>("")).Should().Throw<ArgumentException>().WithParameterName("name");
        FluentActions.Invoking(() => store.GetCollection<object, Dictionary<string, object?>>("d")).Should().Throw<NotSupportedException>();
        await FluentActions.Awaiting(() => c.UpsertAsync(new KeyedRecord<string> { Key = "k", Vector = new float[] { 1, 2, 3 } }))
            .Should().ThrowAsync<ArgumentException>().WithMessage("*2 dimensions*3*");

        // An unset (empty) vector is no vector: the record is stored and not found by searches.
        await c.UpsertAsync(new KeyedRecord<string> { Key = "empty", Text = "no vector" });
        (await c.GetAsync("empty"))!.Text.Should().Be("no vector");
        (await c.SearchAsync(new float[] { 1, 0 }, 10).CollectAsync()).Should().BeEmpty();
    }
}
