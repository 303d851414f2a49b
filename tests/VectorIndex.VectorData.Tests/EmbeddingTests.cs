using Microsoft.Extensions.AI;
using Microsoft.Extensions.VectorData;

namespace VectorIndex.VectorData.Tests;

public sealed class Doc
{
    [VectorStoreKey]
    public int Id { get; set; }

    [VectorStoreData]
    public string Text { get; set; } = string.Empty;

    [VectorStoreVector(8)]
    public string? Embedding { get; set; }
}

public sealed class DocWithVector
{
    [VectorStoreKey]
    public int Id { get; set; }

    [VectorStoreData]
    public string Text { get; set; } = string.Empty;

    [VectorStoreVector(8)]
    public ReadOnlyMemory<float>? Embedding { get; set; }
}

public class EmbeddingTests
{
    private static readonly string[] s_texts = ["the quick brown fox", "lorem ipsum dolor", "vector search in dotnet", "hnsw graphs are fast"];

    private static IEnumerable<Doc> Docs() => s_texts.Select((t, i) => new Doc { Id = i, Text = t, Embedding = t });

    [Fact]
    public async Task A_store_generator_embeds_inputs_on_upsert_and_search()
    {
        var generator = new FakeEmbeddingGenerator(8);
        using var store = new VectorIndexVectorStore(new VectorIndexVectorStoreOptions { EmbeddingGenerator = generator });
        var docs = store.GetCollection<int, Doc>("docs");
        await docs.EnsureCollectionExistsAsync();
        await docs.UpsertAsync(Docs());

        var hit = (await docs.SearchAsync("vector search in dotnet", 1).CollectAsync()).Single();
        hit.Record.Id.Should().Be(2);
        hit.Score.Should().BeApproximately(1.0, 1e-5);
        hit.Record.Embedding.Should().BeNull("the input is not stored");

        FluentActions.Invoking(() => docs.SearchAsync("x", 1, new() { IncludeVectors = true })).Should().Throw<NotSupportedException>();
        await FluentActions.Awaiting(() => docs.GetAsync(1, new RecordRetrievalOptions { IncludeVectors = true })).Should().ThrowAsync<NotSupportedException>();

        // The same collection read through a record type with a native vector: the generated vector is not returned,
        // but searching with a vector finds it, and the generator still serves string queries.
        var asVectors = store.GetCollection<int, DocWithVector>("docs");
        (await asVectors.GetAsync(2, new RecordRetrievalOptions { IncludeVectors = true }))!.Embedding.Should().BeNull();
        var byVector = await asVectors.SearchAsync(FakeEmbeddingGenerator.Embed("lorem ipsum dolor", 8), 1).CollectAsync();
        byVector.Single().Record.Id.Should().Be(1);
        (await asVectors.SearchAsync("lorem ipsum dolor", 1).CollectAsync()).Single().Record.Id.Should().Be(1);
    }

    [Fact]
    public async Task Generator_precedence_is_property_definition_collection_store()
    {
        var storeGenerator = new FakeEmbeddingGenerator(8);
        var collectionGenerator = new FakeEmbeddingGenerator(8);
        var definitionGenerator = new FakeEmbeddingGenerator(8);
        var propertyGenerator = new FakeEmbeddingGenerator(8);

        VectorStoreCollectionDefinition Definition(IEmbeddingGenerator? onDefinition, IEmbeddingGenerator? onProperty) => new()
        {
            EmbeddingGenerator = onDefinition,
            Properties =
            [
                new VectorStoreKeyProperty("Id", typeof(int)),
                new VectorStoreDataProperty("Text", typeof(string)),
                new VectorStoreVectorProperty("Embedding", typeof(string), 8) { EmbeddingGenerator = onProperty },
            ],
        };

        async Task<int> Used(VectorIndexCollection<int, Doc> collection, params FakeEmbeddingGenerator[] candidates)
        {
            var before = candidates.Select(c => c.Calls).ToArray();
            await collection.EnsureCollectionExistsAsync();
            await collection.UpsertAsync(Docs());
            return Array.FindIndex(candidates, c => c.Calls > before[Array.IndexOf(candidates, c)]);
        }

        FakeEmbeddingGenerator[] all = [propertyGenerator, definitionGenerator, collectionGenerator, storeGenerator];
        using var store = new VectorIndexVectorStore(new VectorIndexVectorStoreOptions { EmbeddingGenerator = storeGenerator });
        (await Used(store.GetCollection<int, Doc>("a", Definition(definitionGenerator, propertyGenerator)), all)).Should().Be(0);
        (await Used(store.GetCollection<int, Doc>("b", Definition(definitionGenerator, null)), all)).Should().Be(1);
        (await Used(store.GetCollection<int, Doc>("c"), all)).Should().Be(3);
        using var direct = new VectorIndexCollection<int, Doc>("d", new VectorIndexCollectionOptions { EmbeddingGenerator = collectionGenerator });
        (await Used(direct, all)).Should().Be(2);
    }

    [Fact]
    public void A_string_vector_without_a_generator_is_rejected()
    {
        using var store = new VectorIndexVectorStore();
        FluentActions.Invoking(() => store.GetCollection<int, Doc>("docs")).Should().Throw<InvalidOperationException>();
    }
}
