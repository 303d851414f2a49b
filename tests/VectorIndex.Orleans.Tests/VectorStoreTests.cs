using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.VectorData;
using VectorIndex.Orleans.VectorData;
using VectorIndex.VectorData;

namespace VectorIndex.Orleans.Tests;

public sealed class Hotel
{
    [VectorStoreKey]
    public ulong Id { get; set; }

    [VectorStoreData]
    public string Name { get; set; } = "";

    [VectorStoreData]
    public int Rating { get; set; }

    [VectorStoreData]
    public List<string> Tags { get; set; } = [];

    [VectorStoreVector(8, DistanceFunction = DistanceFunction.EuclideanSquaredDistance)]
    public ReadOnlyMemory<float> Embedding { get; set; }
}

/// <summary>The same Microsoft.Extensions.VectorData code over the in-process store and over the cluster.</summary>
public class VectorStoreTests
{
    // Application code: it knows only VectorStore.
    private static async Task<List<(ulong Id, string Name, int Rating, string Tags, double Score)>> ApplicationAsync(VectorStore store)
    {
        var hotels = store.GetCollection<ulong, Hotel>("hotels");
        await hotels.EnsureCollectionExistsAsync();
        var vectors = TestData.Clustered(300, 8, clusters: 6, seed: 9);
        await hotels.UpsertAsync(Enumerable.Range(0, 300).Select(i => new Hotel
        {
            Id = (ulong)i,
            Name = "hotel " + i,
            Rating = i % 5,
            Tags = ["t" + (i % 3), "all"],
            Embedding = vectors[i],
        }));
        await hotels.DeleteAsync(7);
        await hotels.UpsertAsync(new Hotel { Id = 8, Name = "renamed", Rating = 9, Embedding = vectors[8] });

        (await hotels.GetAsync(7)).Should().BeNull();
        var eight = await hotels.GetAsync(8, new RecordRetrievalOptions { IncludeVectors = true });
        eight!.Name.Should().Be("renamed");
        eight.Embedding.ToArray().Should().Equal(vectors[8]);

        var results = new List<(ulong, string, int, string, double)>();
        foreach (int q in new[] { 0, 8, 100, 250 })
        {
            await foreach (var hit in hotels.SearchAsync(new ReadOnlyMemory<float>(vectors[q]), top: 5))
            {
                results.Add((hit.Record.Id, hit.Record.Name, hit.Record.Rating, string.Join(",", hit.Record.Tags), hit.Score ?? double.NaN));
            }
        }

        // A filter evaluated inside each shard, with the in-process connector's C# semantics.
        int threshold = 3, filtered = 0;
        foreach (int q in new[] { 0, 100 })
        {
            await foreach (var hit in hotels.SearchAsync(new ReadOnlyMemory<float>(vectors[q]), top: 5, new VectorSearchOptions<Hotel>
            {
                Filter = h => (h.Rating >= threshold && h.Tags.Contains("t1")) || h.Name == "hotel 42" || !(h.Rating != 9),
            }))
            {
                var h = hit.Record;
                ((h.Rating >= threshold && h.Tags.Contains("t1")) || h.Name == "hotel 42" || h.Rating == 9).Should().BeTrue();
                results.Add((h.Id, h.Name, h.Rating, string.Join(",", h.Tags), hit.Score ?? double.NaN));
                filtered++;
            }
        }

        filtered.Should().Be(10, "each filtered search finds its 5 records");
        return results;
    }

    [Fact(Timeout = 180_000)]
    public async Task Application_code_gives_the_same_results_in_process_and_on_the_cluster()
    {
        using var local = new VectorIndexVectorStore();
        var expected = await ApplicationAsync(local);

        await using var cluster = await TestClusterHandle.StartAsync(silos: 2);
        var services = new ServiceCollection();
        services.AddSingleton<IGrainFactory>(cluster.Cluster.Client);
        services.AddShardedVectorStore(_ => new ShardedVectorStoreOptions { ShardCount = 4, ReplicationFactor = 2 });
        await using var provider = services.BuildServiceProvider();
        var store = provider.GetRequiredService<VectorStore>();
        store.Should().BeOfType<ShardedVectorStore>();

        var actual = await ApplicationAsync(store);
        actual.Select(r => (r.Id, r.Name, r.Rating, r.Tags)).Should().Equal(expected.Select(r => (r.Id, r.Name, r.Rating, r.Tags)));
        actual.Select(r => r.Score).Should().Equal(expected.Select(r => r.Score), (a, b) => Math.Abs(a - b) < 1e-4);
        (await store.ListCollectionNamesAsync().ToListAsync()).Should().Equal("hotels");
        (await store.CollectionExistsAsync("hotels")).Should().BeTrue();
        (await store.CollectionExistsAsync("other")).Should().BeFalse();
    }

    [Fact]
    public void Filters_translate_to_shard_filters_with_CSharp_semantics()
    {
        var filter = new ShardFilter
        {
            Operator = ShardFilterOperator.And,
            Children = [ShardFilter.Compare("Rating", ShardFilterOperator.GreaterThanOrEqual, 3), ShardFilter.Compare("Tags", ShardFilterOperator.Contains, "a")],
        }.Compile();
        filter(System.Text.Json.Nodes.JsonNode.Parse("{\"Rating\":3,\"Tags\":[\"a\",\"b\"]}")!.AsObject()).Should().BeTrue();
        filter(System.Text.Json.Nodes.JsonNode.Parse("{\"Rating\":2.5,\"Tags\":[\"a\"]}")!.AsObject()).Should().BeFalse();
        filter(System.Text.Json.Nodes.JsonNode.Parse("{\"Rating\":null,\"Tags\":[\"a\"]}")!.AsObject()).Should().BeFalse();
        filter(null).Should().BeFalse();
        var bad = () => new ShardFilter { Operator = ShardFilterOperator.And }.Compile();
        bad.Should().Throw<ArgumentException>();
    }

    [Fact]
    public void Unsupported_key_types_throw_NotSupportedException()
    {
        var store = new ShardedVectorStore(new NoGrains());
        var act = () => store.GetCollection<decimal, DecimalKeyed>("x");
        act.Should().Throw<NotSupportedException>();
    }

    public sealed class DecimalKeyed
    {
        [VectorStoreKey]
        public decimal Id { get; set; }

        [VectorStoreVector(4)]
        public float[] Vector { get; set; } = [];
    }

    private sealed class NoGrains : IGrainFactory
    {
        public TGrainInterface GetGrain<TGrainInterface>(Guid primaryKey, string? grainClassNamePrefix = null) where TGrainInterface : IGrainWithGuidKey => throw new NotSupportedException();
        public TGrainInterface GetGrain<TGrainInterface>(long primaryKey, string? grainClassNamePrefix = null) where TGrainInterface : IGrainWithIntegerKey => throw new NotSupportedException();
        public TGrainInterface GetGrain<TGrainInterface>(string primaryKey, string? grainClassNamePrefix = null) where TGrainInterface : IGrainWithStringKey => throw new NotSupportedException();
        public TGrainInterface GetGrain<TGrainInterface>(Guid primaryKey, string keyExtension, string? grainClassNamePrefix = null) where TGrainInterface : IGrainWithGuidCompoundKey => throw new NotSupportedException();
        public TGrainInterface GetGrain<TGrainInterface>(long primaryKey, string keyExtension, string? grainClassNamePrefix = null) where TGrainInterface : IGrainWithIntegerCompoundKey => throw new NotSupportedException();
        public TGrainObserverInterface CreateObjectReference<TGrainObserverInterface>(IGrainObserver obj) where TGrainObserverInterface : IGrainObserver => throw new NotSupportedException();
        public void DeleteObjectReference<TGrainObserverInterface>(IGrainObserver obj) where TGrainObserverInterface : IGrainObserver => throw new NotSupportedException();
        public IGrain GetGrain(Type grainInterfaceType, Guid grainPrimaryKey) => throw new NotSupportedException();
        public IGrain GetGrain(Type grainInterfaceType, long grainPrimaryKey) => throw new NotSupportedException();
        public IGrain GetGrain(Type grainInterfaceType, string grainPrimaryKey) => throw new NotSupportedException();
        public IGrain GetGrain(Type grainInterfaceType, Guid grainPrimaryKey, string keyExtension) => throw new NotSupportedException();
        public IGrain GetGrain(Type grainInterfaceType, long grainPrimaryKey, string keyExtension) => throw new NotSupportedException();
        public TGrainInterface GetGrain<TGrainInterface>(GrainId grainId) where TGrainInterface : IAddressable => throw new NotSupportedException();
        public IAddressable GetGrain(GrainId grainId) => throw new NotSupportedException();
        public IAddressable GetGrain(GrainId grainId, GrainInterfaceType interfaceType) => throw new NotSupportedException();
        public IAddressable GetGrain(Type grainInterfaceType, IdSpan grainPrimaryKey) => throw new NotSupportedException();
        public IAddressable GetGrain(Type grainInterfaceType, IdSpan grainPrimaryKey, string grainClassNamePrefix) => throw new NotSupportedException();
    }
}
