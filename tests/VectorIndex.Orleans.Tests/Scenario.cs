namespace VectorIndex.Orleans.Tests;

/// <summary>A collection loaded with clustered vectors, its queries, the exact answers and the answers before a disturbance.</summary>
public sealed class Scenario
{
    public const int K = 10;
    public const int Ef = 64;

    private Scenario(ShardedCollection collection, float[][] vectors, float[][] queries, ulong[][] truth)
    {
        Collection = collection;
        Vectors = vectors;
        Queries = queries;
        Truth = truth;
    }

    public ShardedCollection Collection { get; }

    public float[][] Vectors { get; }

    public float[][] Queries { get; }

    public ulong[][] Truth { get; }

    public int ShardCount { get; private set; }

    public static async Task<Scenario> CreateAsync(TestClusterHandle cluster, string name, int shards, int replication, int count = 4000, int dims = 16)
    {
        var vectors = TestData.Clustered(count, dims, clusters: 20, seed: 5);
        var queries = TestData.Clustered(40, dims, clusters: 20, seed: 5 + 1000);
        var collection = new ShardedCollection(cluster.Grains, name);
        await collection.CreateAsync(new ShardedCollectionDefinition { Dimensions = dims, ShardCount = shards, ReplicationFactor = replication, EfConstruction = 64 });
        await TestData.LoadAsync(collection, vectors);
        return new Scenario(collection, vectors, queries, TestData.GroundTruth(vectors, queries, K)) { ShardCount = shards };
    }

    public async Task<ShardedSearchResult[]> AnswersAsync(TimeSpan? deadline = null)
    {
        var options = new ShardedSearchOptions { Ef = Ef, Deadline = deadline ?? TimeSpan.FromSeconds(20), ReplicaTimeout = TimeSpan.FromSeconds(5) };
        return await Task.WhenAll(Queries.Select(q => Collection.SearchAsync(q, K, options)));
    }

    public double Recall(IEnumerable<ShardedSearchResult> results) =>
        TestData.Recall([.. results.Select(r => r.Hits.Select(h => h.Key))], Truth);

    /// <summary>Polls until every query gets a complete answer; returns those answers.</summary>
    public async Task<ShardedSearchResult[]> WaitForFullCoverageAsync(TimeSpan limit)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            var answers = await AnswersAsync(TimeSpan.FromSeconds(3));
            if (answers.All(a => a.IsComplete))
            {
                return answers;
            }

            clock.Elapsed.Should().BeLessThan(limit, "full coverage comes back after failure detection and re-activation");
            await Task.Delay(250);
        }
    }
}
