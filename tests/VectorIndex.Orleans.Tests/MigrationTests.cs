namespace VectorIndex.Orleans.Tests;

/// <summary>
/// Test 6: deactivation, live migration to a chosen silo, and a graceful silo stop (its replicas move to the other
/// silos) change neither counts nor answers.
/// </summary>
public class MigrationTests
{
    [Fact(Timeout = 180_000)]
    public async Task Deactivation_migration_and_graceful_stop_move_replicas_and_keep_counts_and_answers()
    {
        await using var cluster = await TestClusterHandle.StartAsync(silos: 3);
        var scenario = await Scenario.CreateAsync(cluster, "migrate", shards: 4, replication: 1);
        long count = await scenario.Collection.CountAsync();
        count.Should().Be(scenario.Vectors.Length);
        var before = await scenario.AnswersAsync();
        before.Should().OnlyContain(a => a.IsComplete);
        var beforeKeys = before.Select(a => a.Hits.Select(h => h.Key).ToArray()).ToArray();

        // Deactivate every replica: each re-activates from its snapshot and log.
        for (int s = 0; s < 4; s++)
        {
            await scenario.Collection.Replica(s, 0).DeactivateAsync();
        }

        await Task.Delay(500);
        (await scenario.Collection.CountAsync()).Should().Be(count);
        Keys(await scenario.AnswersAsync()).Should().BeEquivalentTo(beforeKeys, o => o.WithStrictOrdering());

        // Migrate a replica and a sequencer to chosen silos (Orleans' live migration with a placement hint, which the
        // placement director honours): the replica re-opens its folder there; counts and answers do not change.
        for (int s = 0; s < 2; s++)
        {
            var replica = scenario.Collection.Replica(s, 0);
            string from = (await replica.GetStatusAsync()).Silo;
            var to = cluster.Cluster.GetActiveSilos().First(x => x.SiloAddress.ToString() != from).SiloAddress;
            await cluster.Cluster.MigrateAsync(replica, to);
            (await replica.GetStatusAsync()).Silo.Should().Be(to.ToString(), $"shard {s}'s replica was migrated there");
        }

        var sequencer = scenario.Collection.Sequencer(2);
        var (sequencers, _) = await cluster.PlacementAsync(scenario.Collection.Name);
        var sequencerTarget = cluster.Cluster.GetActiveSilos().First(x => !x.SiloAddress.Equals(sequencers[2])).SiloAddress;
        await cluster.Cluster.MigrateAsync(sequencer, sequencerTarget);
        (await cluster.PlacementAsync(scenario.Collection.Name)).Sequencers[2].Should().Be(sequencerTarget);
        (await scenario.Collection.CountAsync()).Should().Be(count);
        Keys(await scenario.AnswersAsync()).Should().BeEquivalentTo(beforeKeys, o => o.WithStrictOrdering());

        // Stop a silo gracefully: its replicas move to the others; nothing is lost and the answers are the same.
        var victim = cluster.Cluster.SecondarySilos[0];
        var moved = new List<int>();
        for (int s = 0; s < 4; s++)
        {
            if ((await scenario.Collection.Replica(s, 0).GetStatusAsync()).Silo == victim.SiloAddress.ToString())
            {
                moved.Add(s);
            }
        }

        moved.Should().NotBeEmpty("the stopped silo hosts replicas");
        await cluster.Cluster.StopSiloAsync(victim);
        var after = await scenario.WaitForFullCoverageAsync(TimeSpan.FromSeconds(60));
        Keys(after).Should().BeEquivalentTo(beforeKeys, o => o.WithStrictOrdering());
        (await scenario.Collection.CountAsync()).Should().Be(count);
        foreach (int s in moved)
        {
            (await scenario.Collection.Replica(s, 0).GetStatusAsync()).Silo.Should().NotBe(victim.SiloAddress.ToString());
        }
    }

    private static ulong[][] Keys(IEnumerable<ShardedSearchResult> results) =>
        [.. results.Select(r => r.Hits.Select(h => h.Key).ToArray())];
}
