namespace VectorIndex.Orleans.Tests;

/// <summary>Test 1: a sharded query is at least as good as one index over the same data at the same ef.</summary>
public class RecallTests
{
    [Fact(Timeout = 180_000)]
    public async Task Sharded_recall_is_at_least_one_index_recall_at_each_ef()
    {
        const int Count = 20_000, Dims = 32, K = 10;
        var vectors = TestData.Clustered(Count, Dims, clusters: 40, seed: 11);
        var queries = TestData.Clustered(200, Dims, clusters: 40, seed: 11 + 1000);
        var truth = TestData.GroundTruth(vectors, queries, K);

        using var single = new HnswIndex(new HnswOptions { Dimensions = Dims, EfConstruction = 100 });
        single.AddRange(Enumerable.Range(0, Count).Select(i => (ulong)i).ToArray(), vectors.SelectMany(v => v).ToArray());

        await using var cluster = await TestClusterHandle.StartAsync(silos: 3);
        var collection = new ShardedCollection(cluster.Grains, "recall");
        await collection.CreateAsync(new ShardedCollectionDefinition { Dimensions = Dims, ShardCount = 6, EfConstruction = 100 });
        await TestData.LoadAsync(collection, vectors);
        (await collection.CountAsync()).Should().Be(Count);

        foreach (int ef in new[] { 16, 32, 64 })
        {
            var singleFound = queries.Select(q => single.Search(q, K, new SearchOptions { Ef = ef }).Select(r => r.Key)).ToList();
            var shardedFound = new List<IEnumerable<ulong>>();
            foreach (var q in queries)
            {
                var result = await collection.SearchAsync(q, K, new ShardedSearchOptions { Ef = ef, Deadline = TimeSpan.FromSeconds(30), ReplicaTimeout = TimeSpan.FromSeconds(30) });
                result.IsComplete.Should().BeTrue();
                result.Hits.Should().HaveCount(K);
                result.Hits.Select(h => h.Distance).Should().BeInAscendingOrder();
                shardedFound.Add(result.Hits.Select(h => h.Key));
            }

            double singleRecall = TestData.Recall(singleFound, truth);
            double shardedRecall = TestData.Recall(shardedFound, truth);
            shardedRecall.Should().BeGreaterThanOrEqualTo(singleRecall - 0.005, $"at ef {ef} one index has recall {singleRecall}");
        }

        // The hits carry exact distances: a record read back gives the same distance to the query.
        var first = await collection.SearchAsync(queries[0], K);
        var record = await collection.GetAsync(first.Hits[0].Key);
        record.Should().NotBeNull();
        record!.Payload.Should().Equal(BitConverter.GetBytes((int)first.Hits[0].Key));
        float exact = 0;
        for (int d = 0; d < Dims; d++)
        {
            float diff = record.Vector[d] - queries[0][d];
            exact += diff * diff;
        }

        first.Hits[0].Distance.Should().BeApproximately(exact, 1e-3f * Math.Max(1, exact));
    }
}
