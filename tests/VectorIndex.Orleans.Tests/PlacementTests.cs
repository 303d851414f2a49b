namespace VectorIndex.Orleans.Tests;

/// <summary>The placement director: a shard's replicas on different silos, its sequencer with replica 1, sequencers spread.</summary>
public class PlacementTests
{
    [Theory(Timeout = 120_000)]
    [InlineData(2)]
    [InlineData(1)]
    public async Task Replicas_go_to_different_silos_and_sequencers_spread_with_replica_1(int replication)
    {
        const int Shards = 6;
        await using var cluster = await TestClusterHandle.StartAsync(silos: 3);
        string name = $"placement-r{replication}";
        var collection = new ShardedCollection(cluster.Grains, name);
        await collection.CreateAsync(new ShardedCollectionDefinition { Dimensions = 4, ShardCount = Shards, ReplicationFactor = replication });
        await TestData.LoadAsync(collection, TestData.Clustered(600, 4, clusters: 4, seed: 3));

        var (sequencers, replicas) = await cluster.PlacementAsync(name);
        sequencers.Should().HaveCount(Shards, "every shard was written");
        var silos = cluster.Cluster.Silos.Select(s => s.SiloAddress).ToArray();
        for (int s = 0; s < Shards; s++)
        {
            string[] replicaSilos = new string[replication];
            for (int r = 0; r < replication; r++)
            {
                replicaSilos[r] = (await collection.Replica(s, r).GetStatusAsync()).Silo;
            }

            replicaSilos.Should().OnlyHaveUniqueItems($"shard {s}'s replicas are on different silos");
            int first = Array.FindIndex(silos.OrderBy(a => a.ToParsableString(), StringComparer.Ordinal).ToArray(), a => a.ToString() == replicaSilos[0]);
            var expected = silos.OrderBy(a => a.ToParsableString(), StringComparer.Ordinal).ElementAt((first + 1) % silos.Length);
            sequencers[s].Should().Be(expected, $"shard {s}'s sequencer goes to the silo after its replica 0's");
            if (replication > 1)
            {
                sequencers[s].ToString().Should().Be(replicaSilos[1], $"shard {s}'s sequencer lives with its replica 1");
            }
        }

        // Six shards on three silos: two sequencers each (Orleans' own placement put all six on one silo).
        sequencers.Values.GroupBy(a => a).Select(g => g.Count()).Should().AllBeEquivalentTo(2);
        replicas.Should().HaveCount(Shards * replication);
    }
}
