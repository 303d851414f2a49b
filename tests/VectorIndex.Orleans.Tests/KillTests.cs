using System.Collections.Concurrent;
using System.Diagnostics;
using Orleans.Runtime;
using Orleans.TestingHost;
using VectorIndex.Orleans.SiloHost;
using Xunit.Abstractions;

namespace VectorIndex.Orleans.Tests;

/// <summary>
/// Test 4: no acknowledged write is lost when a silo process is killed (out-of-process silos, a real kill) and, with
/// two replicas, its data folder is removed too (a lost machine: the replicas are copied whole); or kept (a shared
/// disk: they come back behind and catch up from a peer's log tail).
/// </summary>
public class KillTests(ITestOutputHelper output)
{
    private const int Dims = 8;

    // The vector of a key's version-th write: recognisable when read back.
    private static float[] VectorOf(ulong key, int version)
    {
        var v = new float[Dims];
        for (int d = 0; d < Dims; d++)
        {
            v[d] = (float)(key * 31 % 97) + d + (version * 1000f);
        }

        return v;
    }

    [Fact(Timeout = 300_000)]
    public async Task Acknowledged_writes_survive_a_killed_silo_process_and_its_lost_data_folder()
    {
        var statuses = await KillWhileWritingAsync(loseFolder: true);

        // The victim's replicas came back empty on other silos: each was copied whole, as a snapshot.
        statuses.Where(x => x.CopiedRecords > 0 && x.CopiedBytes > 0).Should().NotBeEmpty("a replica that lost its folder is copied by snapshot");
    }

    [Fact(Timeout = 300_000)]
    public async Task A_replica_that_comes_back_behind_with_its_data_catches_up_from_the_log_tail()
    {
        // One shared data folder (a network disk): the victim's replicas re-activate elsewhere from their own files,
        // behind by the writes made while their silo was dead, and catch up from a peer's log tail without a copy.
        var statuses = await KillWhileWritingAsync(loseFolder: false);
        statuses.Where(x => x.CaughtUpWrites > 0).Should().NotBeEmpty("a replica that came back behind catches up by the log tail");
        statuses.Should().OnlyContain(x => x.CopiedRecords == 0 && x.CopiedBytes == 0, "no replica lost data, so none is copied whole");
    }

    [Fact(Timeout = 300_000)]
    public async Task With_one_replica_a_batch_lost_with_its_silo_does_not_block_the_shard()
    {
        // R = 1: a batch in flight to the killed silo's replica is logged by no replica; the shard's sequencer (when
        // it lives elsewhere) must take those sequence numbers back, or every later write would leave a gap. The
        // check inside: every shard acknowledges writes again after the kill.
        var statuses = await KillWhileWritingAsync(loseFolder: false, replication: 1);
        statuses.Should().OnlyContain(x => x.Ready && x.CopiedRecords == 0);
    }

    // The secondary silo to kill: the one with the most shards that have a replica on it and their sequencer elsewhere
    // (those shards go on acknowledging writes while the replica is down, so it comes back behind). A sequencer lives
    // with its shard's replica 0, so the victim must host some replica 1; chosen from the placement, not assumed (the
    // first secondary once hosted every sequencer, and the test saw no replica come back behind).
    private async Task<SiloHandle> PickVictimAsync(TestClusterHandle cluster, string collection, int shards)
    {
        var (sequencerSilo, replicaSilos) = await cluster.PlacementAsync(collection);
        sequencerSilo.Should().HaveCount(shards, "every shard has written, so every sequencer is active");
        int Exposed(SiloHandle silo) => replicaSilos.Count(x => x.Silo.Equals(silo.SiloAddress) && !sequencerSilo[x.Shard].Equals(silo.SiloAddress));
        var victim = cluster.Cluster.SecondarySilos.MaxBy(Exposed)!;
        output.WriteLine($"sequencers per silo: {string.Join(", ", sequencerSilo.Values.GroupBy(a => a).Select(g => $"{g.Key}: {g.Count()}"))}; victim {victim.SiloAddress} with {Exposed(victim)} replicas whose sequencer lives elsewhere");
        Exposed(victim).Should().BePositive("some shard must keep its sequencer while it loses a replica");
        return victim;
    }

    // Writes while a silo process is killed (and, with loseFolder, its data folder removed), until every replica is
    // back and current; then checks that every acknowledged key is on every replica with its last acknowledged vector
    // (or a later attempted one). Returns the replicas' final states.
    private async Task<ReplicaStatus[]> KillWhileWritingAsync(bool loseFolder, int replication = 2)
    {
        // More shards when the folder is kept: the more shards have a replica on the victim and their sequencer
        // elsewhere, the surer it is that some replica misses writes while it is down.
        int shards = loseFolder ? 4 : 8;
        await using var cluster = await TestClusterHandle.StartAsync(silos: 3, outOfProcess: true, folderPerSilo: loseFolder);
        var collection = new ShardedCollection(cluster.Grains, $"kill-{(loseFolder ? "lost" : "kept")}-r{replication}");
        // With the folder kept, one flushed replica acknowledges a write (W = 1), so writes go on while the victim's
        // replicas are down and those replicas come back behind.
        await collection.CreateAsync(new ShardedCollectionDefinition { Dimensions = Dims, ShardCount = shards, ReplicationFactor = replication, WriteQuorum = loseFolder ? 0 : 1, EfConstruction = 32 });

        // One writer per shard (a shard whose sequencer died does not hold up the others); per key: the last
        // acknowledged version and the highest version attempted (an unacknowledged write may or may not be applied).
        var acked = new ConcurrentDictionary<ulong, int>();
        var attempted = new ConcurrentDictionary<ulong, int>();
        int acks = 0, failures = 0;
        var shardAcks = new int[shards];
        using var stop = new CancellationTokenSource();
        var keysOf = Enumerable.Range(0, 400).Select(k => (ulong)k).GroupBy(k => ShardRouting.ShardOf(k, shards)).ToDictionary(g => g.Key, g => g.ToArray());
        var writers = keysOf.Select(shardKeys => Task.Run(async () =>
        {
            var random = new Random(17 + shardKeys.Key);
            int version = 0;
            while (!stop.IsCancellationRequested)
            {
                version++;
                var keys = Enumerable.Range(0, 4).Select(_ => shardKeys.Value[random.Next(shardKeys.Value.Length)]).Distinct().ToArray();
                foreach (var key in keys)
                {
                    attempted[key] = version;
                }

                try
                {
                    await collection.WriteAsync(keys.Select(k => new ShardWrite { Key = k, Vector = VectorOf(k, version) }))
                        .WaitAsync(TimeSpan.FromSeconds(5));
                    foreach (var key in keys)
                    {
                        acked[key] = version;
                    }

                    Interlocked.Increment(ref acks);
                    Interlocked.Increment(ref shardAcks[shardKeys.Key]);
                }
                catch (Exception)
                {
                    Interlocked.Increment(ref failures); // not acknowledged: the check below allows it to be applied or not
                    await Task.Delay(100);
                }
            }
        })).ToArray();

        await Task.Delay(2000);
        var victim = await PickVictimAsync(cluster, collection.Name, shards);
        var clock = Stopwatch.StartNew();
        int pid = await TestClusterHandle.KillProcessAsync(victim);
        if (loseFolder)
        {
            Directory.Delete(SiloConfigurator.PerProcessFolder(cluster.DataPath, pid), recursive: true); // the machine is lost
        }

        output.WriteLine($"killed silo process {pid}{(loseFolder ? " and removed its data folder" : "")}");

        // Keep writing until every shard accepts writes again (its replicas are back and caught up), then a little more.
        int acksAtKill = acks;
        int[] shardAcksAtKill = [.. shardAcks];
        bool EveryShardAcknowledgesAgain() => shardAcks.Select((a, s) => a - shardAcksAtKill[s]).All(d => d >= 5);
        while (clock.Elapsed < TimeSpan.FromSeconds(120))
        {
            await Task.Delay(500);
            var statuses = await Task.WhenAll(Enumerable.Range(0, shards).Select(s => TestClusterHandle.RetryAsync(() => collection.Sequencer(s).SyncAsync())));
            if (statuses.All(r => r.All(x => x is { Ready: true })) && EveryShardAcknowledgesAgain())
            {
                break;
            }
        }

        output.WriteLine($"all replicas ready {clock.Elapsed.TotalSeconds:F1} s after the kill; {acks} acknowledged batches, {failures} failed");
        await stop.CancelAsync();
        await Task.WhenAll(writers);

        EveryShardAcknowledgesAgain().Should().BeTrue($"every shard acknowledges writes again after recovery (after the kill: {string.Join(", ", shardAcks.Select((a, s) => a - shardAcksAtKill[s]))})");
        var final = await Task.WhenAll(Enumerable.Range(0, shards).Select(s => TestClusterHandle.RetryAsync(() => collection.Sequencer(s).SyncAsync())));
        final.SelectMany(r => r).Should().OnlyContain(x => x != null && x.Ready);

        // Every acknowledged key is on every replica with its last acknowledged vector (or a later attempted one).
        for (int s = 0; s < shards; s++)
        {
            for (int r = 0; r < replication; r++)
            {
                var stored = new Dictionary<ulong, float[]>();
                ulong? after = null;
                while (true)
                {
                    var page = await TestClusterHandle.RetryAsync(() => collection.Replica(s, r).ReadPageAsync(after, 500));
                    if (page.Length == 0)
                    {
                        break;
                    }

                    foreach (var record in page)
                    {
                        stored[record.Key] = record.Vector;
                    }

                    after = page[^1].Key;
                }

                foreach (var (key, version) in acked.Where(p => ShardRouting.ShardOf(p.Key, shards) == s))
                {
                    stored.Should().ContainKey(key, $"key {key} was acknowledged (replica {s}/r{r})");
                    var accepted = Enumerable.Range(version, attempted[key] - version + 1).Select(v => VectorOf(key, v));
                    accepted.Should().Contain(v => v.SequenceEqual(stored[key]), $"key {key}'s last acknowledged version is {version}");
                }
            }
        }

        var replicas = final.SelectMany(r => r).Select(x => x!).ToArray();
        output.WriteLine($"caught up by log tail: {replicas.Sum(x => x.CaughtUpWrites)} writes; copied: {replicas.Sum(x => x.CopiedRecords)} records, {replicas.Sum(x => x.CopiedBytes)} snapshot bytes");
        return replicas;
    }
}
