using Microsoft.Extensions.VectorData;

namespace VectorIndex.VectorData.Tests;

public class SearchTests
{
    private static VectorStoreCollectionDefinition Definition(int dimensions, string distance, string? indexKind = null) => new()
    {
        Properties =
        [
            new VectorStoreKeyProperty("Key", typeof(int)),
            new VectorStoreDataProperty("Text", typeof(string)),
            new VectorStoreVectorProperty("Vector", typeof(ReadOnlyMemory<float>), dimensions) { DistanceFunction = distance, IndexKind = indexKind },
        ],
    };

    private static async Task<(VectorIndexVectorStore Store, VectorIndexCollection<int, KeyedRecord<int>> Collection, List<float[]> Vectors)> Fill(
        int count, int dimensions, string distance, string? indexKind = null, int seed = 1)
    {
        var store = new VectorIndexVectorStore();
        var collection = store.GetCollection<int, KeyedRecord<int>>("c", Definition(dimensions, distance, indexKind));
        await collection.EnsureCollectionExistsAsync();
        var random = new Random(seed);
        var vectors = Enumerable.Range(0, count).Select(_ => Vectors.Random(random, dimensions)).ToList();
        await collection.UpsertAsync(vectors.Select((v, i) => new KeyedRecord<int> { Key = i, Text = $"t{i}", Vector = v }));
        return (store, collection, vectors);
    }

    [Fact]
    public async Task Recall_at_10_against_brute_force_is_at_least_95_percent()
    {
        var (store, collection, vectors) = await Fill(2000, 32, DistanceFunction.CosineSimilarity);
        using var _ = store;
        var random = new Random(99);
        int found = 0, total = 0;
        for (int q = 0; q < 50; q++)
        {
            var query = Vectors.Random(random, 32);
            var exact = Enumerable.Range(0, vectors.Count).OrderByDescending(i => Vectors.Cosine(query, vectors[i])).Take(10).ToHashSet();
            var hits = await collection.SearchAsync(query, 10).CollectAsync();
            hits.Should().HaveCount(10);
            found += hits.Count(h => exact.Contains(h.Record.Key));
            total += 10;
        }

        ((double)found / total).Should().BeGreaterThanOrEqualTo(0.95);
    }

    public static TheoryData<string, string> Functions => new()
    {
        { DistanceFunction.CosineSimilarity, IndexKind.Hnsw },
        { DistanceFunction.CosineDistance, IndexKind.Flat },
        { DistanceFunction.DotProductSimilarity, IndexKind.Hnsw },
        { DistanceFunction.NegativeDotProductSimilarity, IndexKind.Dynamic },
        { DistanceFunction.EuclideanDistance, IndexKind.Flat },
        { DistanceFunction.EuclideanSquaredDistance, IndexKind.Hnsw },
    };

    private static double Expected(string function, float[] q, float[] v) => function switch
    {
        DistanceFunction.CosineSimilarity => Vectors.Cosine(q, v),
        DistanceFunction.CosineDistance => 1 - Vectors.Cosine(q, v),
        DistanceFunction.DotProductSimilarity => Vectors.Dot(q, v),
        DistanceFunction.NegativeDotProductSimilarity => -Vectors.Dot(q, v),
        DistanceFunction.EuclideanDistance => Math.Sqrt(Vectors.SquaredEuclidean(q, v)),
        _ => Vectors.SquaredEuclidean(q, v),
    };

    [Theory]
    [MemberData(nameof(Functions))]
    public async Task Scores_match_independently_computed_values_and_order(string function, string indexKind)
    {
        var (store, collection, vectors) = await Fill(60, 8, function, indexKind, seed: 5);
        using var _ = store;
        var query = Vectors.Random(new Random(6), 8);
        bool higherIsCloser = function is DistanceFunction.CosineSimilarity or DistanceFunction.DotProductSimilarity;
        var expectedOrder = Enumerable.Range(0, vectors.Count)
            .Select(i => (Key: i, Score: Expected(function, query, vectors[i])))
            .OrderBy(p => higherIsCloser ? -p.Score : p.Score).Take(5).ToList();

        var hits = await collection.SearchAsync(query, 5).CollectAsync();
        hits.Select(h => h.Record.Key).Should().Equal(expectedOrder.Select(e => e.Key));
        foreach (var hit in hits)
        {
            hit.Score!.Value.Should().BeApproximately(Expected(function, query, vectors[hit.Record.Key]), 1e-4);
        }

        // Similarities descend, distances ascend.
        var scores = hits.Select(h => h.Score!.Value).ToList();
        (higherIsCloser ? scores.Should().BeInDescendingOrder() : scores.Should().BeInAscendingOrder()).Should().NotBeNull();
    }

    [Theory]
    [InlineData(DistanceFunction.CosineSimilarity)]
    [InlineData(DistanceFunction.EuclideanDistance)]
    public async Task Score_threshold_is_inclusive(string function)
    {
        var (store, collection, _) = await Fill(40, 4, function, IndexKind.Flat, seed: 8);
        using var __ = store;
        var query = Vectors.Random(new Random(9), 4);
        var all = await collection.SearchAsync(query, 40).CollectAsync();
        double boundary = all[10].Score!.Value;
        var within = await collection.SearchAsync(query, 40, new() { ScoreThreshold = boundary }).CollectAsync();
        within.Select(h => h.Record.Key).Should().Equal(all.Take(11).Select(h => h.Record.Key), "the record exactly at the threshold is included");
    }

    [Fact]
    public async Task Skip_pages_through_results()
    {
        var (store, collection, _) = await Fill(50, 4, DistanceFunction.EuclideanSquaredDistance, IndexKind.Flat, seed: 10);
        using var __ = store;
        var query = Vectors.Random(new Random(11), 4);
        var all = await collection.SearchAsync(query, 20).CollectAsync();
        var page = await collection.SearchAsync(query, 5, new() { Skip = 10 }).CollectAsync();
        page.Select(h => h.Record.Key).Should().Equal(all.Skip(10).Take(5).Select(h => h.Record.Key));
    }

    [Fact]
    public async Task VectorProperty_selects_among_several_vectors()
    {
        using var store = new VectorIndexVectorStore();
        var hotels = store.GetCollection<Guid, Hotel>("hotels");
        await hotels.EnsureCollectionExistsAsync();
        var near = new Hotel { Id = Guid.NewGuid(), Name = "near", Embedding = new float[] { 1, 0, 0, 0 }, Location = [0, 0, 0] };
        var far = new Hotel { Id = Guid.NewGuid(), Name = "far", Embedding = new float[] { 0, 1, 0, 0 }, Location = [10, 10, 10] };
        await hotels.UpsertAsync([near, far]);

        var byLocation = await hotels.SearchAsync(new float[] { 9, 9, 9 }, 1, new() { VectorProperty = h => h.Location }).CollectAsync();
        byLocation.Single().Record.Name.Should().Be("far");
        byLocation.Single().Score.Should().BeApproximately(Math.Sqrt(3), 1e-5);
        var byEmbedding = await hotels.SearchAsync(new float[] { 1, 0.1f, 0, 0 }, 1, new() { VectorProperty = h => h.Embedding }).CollectAsync();
        byEmbedding.Single().Record.Name.Should().Be("near");
        FluentActions.Invoking(() => hotels.SearchAsync(new float[] { 1, 0, 0, 0 }, 1)).Should().Throw<InvalidOperationException>("two vector properties and none chosen");
    }

    [Fact]
    public void Unsupported_distance_functions_and_index_kinds_throw_NotSupported()
    {
        using var store = new VectorIndexVectorStore();
        FluentActions.Invoking(() => store.GetCollection<int, KeyedRecord<int>>("x", Definition(2, DistanceFunction.HammingDistance))).Should().Throw<NotSupportedException>();
        FluentActions.Invoking(() => store.GetCollection<int, KeyedRecord<int>>("x", Definition(2, DistanceFunction.ManhattanDistance))).Should().Throw<NotSupportedException>();
        FluentActions.Invoking(() => store.GetCollection<int, KeyedRecord<int>>("x", Definition(2, DistanceFunction.CosineSimilarity, IndexKind.DiskAnn))).Should().Throw<NotSupportedException>();
    }

    [Fact]
    public async Task Search_accepts_every_vector_input_type()
    {
        var (store, collection, vectors) = await Fill(10, 4, DistanceFunction.CosineSimilarity, IndexKind.Flat, seed: 3);
        using var _ = store;
        var q = vectors[7];
        (await collection.SearchAsync(q, 1).CollectAsync()).Single().Record.Key.Should().Be(7);
        (await collection.SearchAsync(new ReadOnlyMemory<float>(q), 1).CollectAsync()).Single().Record.Key.Should().Be(7);
        (await collection.SearchAsync(new Microsoft.Extensions.AI.Embedding<float>(q), 1).CollectAsync()).Single().Record.Key.Should().Be(7);
    }
}
