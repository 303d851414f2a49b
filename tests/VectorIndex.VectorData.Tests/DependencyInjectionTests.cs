using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.VectorData;

namespace VectorIndex.VectorData.Tests;

public class DependencyInjectionTests
{
    [Fact]
    public void Store_registrations_resolve_with_their_lifetime()
    {
        using var singleton = new ServiceCollection().AddVectorIndexVectorStore().BuildServiceProvider();
        singleton.GetRequiredService<VectorStore>().Should().BeSameAs(singleton.GetRequiredService<VectorIndexVectorStore>());
        singleton.GetRequiredService<VectorStore>().Should().BeSameAs(singleton.GetRequiredService<VectorStore>());

        using var transient = new ServiceCollection().AddVectorIndexVectorStore(lifetime: ServiceLifetime.Transient).BuildServiceProvider();
        transient.GetRequiredService<VectorStore>().Should().NotBeSameAs(transient.GetRequiredService<VectorStore>());

        using var keyed = new ServiceCollection().AddKeyedVectorIndexVectorStore("k").BuildServiceProvider();
        keyed.GetRequiredKeyedService<VectorStore>("k").Should().BeSameAs(keyed.GetRequiredKeyedService<VectorIndexVectorStore>("k"));
        keyed.GetService<VectorStore>().Should().BeNull();
    }

    [Fact]
    public async Task Store_options_come_from_the_provider_and_the_generator_from_the_container()
    {
        using var dir = new TempDirectory();
        var generator = new FakeEmbeddingGenerator(8);
        var services = new ServiceCollection()
            .AddSingleton<IEmbeddingGenerator>(generator)
            .AddVectorIndexVectorStore(_ => new VectorIndexVectorStoreOptions { Directory = dir.Path });
        using var provider = services.BuildServiceProvider();
        var store = provider.GetRequiredService<VectorStore>();
        store.GetService(typeof(VectorStoreMetadata)).Should().BeOfType<VectorStoreMetadata>().Which.VectorStoreName.Should().Be(Path.GetFullPath(dir.Path));
        var docs = store.GetCollection<int, Doc>("docs");
        await docs.EnsureCollectionExistsAsync();
        await docs.UpsertAsync(new Doc { Id = 1, Text = "a", Embedding = "hello" });
        generator.Calls.Should().Be(1);
    }

    [Fact]
    public async Task Collection_registrations_resolve_the_concrete_type_and_both_abstractions()
    {
        var services = new ServiceCollection()
            .AddVectorIndexCollection<int, KeyedRecord<int>>("c")
            .AddKeyedVectorIndexCollection<int, KeyedRecord<int>>("scoped", "s", lifetime: ServiceLifetime.Scoped);
        using var provider = services.BuildServiceProvider();
        var concrete = provider.GetRequiredService<VectorIndexCollection<int, KeyedRecord<int>>>();
        provider.GetRequiredService<VectorStoreCollection<int, KeyedRecord<int>>>().Should().BeSameAs(concrete);
        provider.GetRequiredService<IVectorSearchable<KeyedRecord<int>>>().Should().BeSameAs(concrete);
        concrete.Name.Should().Be("c");
        await concrete.EnsureCollectionExistsAsync();
        await concrete.UpsertAsync(new KeyedRecord<int> { Key = 1, Vector = new float[] { 1, 2 } });
        var searchable = provider.GetRequiredService<IVectorSearchable<KeyedRecord<int>>>();
        (await searchable.SearchAsync(new float[] { 1, 2 }, 1).CollectAsync()).Single().Record.Key.Should().Be(1);

        using var scope1 = provider.CreateScope();
        using var scope2 = provider.CreateScope();
        var a = scope1.ServiceProvider.GetRequiredKeyedService<VectorStoreCollection<int, KeyedRecord<int>>>("scoped");
        a.Should().BeSameAs(scope1.ServiceProvider.GetRequiredKeyedService<IVectorSearchable<KeyedRecord<int>>>("scoped"));
        a.Should().NotBeSameAs(scope2.ServiceProvider.GetRequiredKeyedService<VectorStoreCollection<int, KeyedRecord<int>>>("scoped"));
        a.Name.Should().Be("s");
    }
}
