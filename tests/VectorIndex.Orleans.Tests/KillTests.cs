using System.Diagnostics;
using VectorIndex.Orleans.SiloHost;
using Xunit.Abstractions;

namespace VectorIndex.Orleans.Tests;

/// <summary>
/// Test 4: no acknowledged write is lost when a silo process is killed (out-of-process silos, a real kill) and, with
/// two replicas, its data folder is removed too (a lost machine).
/// </summary>
public class KillTests(ITestOutputHelper output)
{
    private const int Dims = 8;
    private const int Shards = 4;

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
        await using var cluster = await TestClusterHandle.StartAsync(silos: 3, outOfProcess: true, folderPerSilo: true);
        var collection = new ShardedCollection(cluster.Grains, "acks");
        await collection.CreateAsync(new ShardedCollectionDefinition { Dimensions = Dims, ShardCount = Shards, ReplicationFactor = 2, EfConstruction = 32 });

        // One writer; per key: the last acknowledged version and the highest version attempted (an unacknowledged write
        // may or may not be applied).
        var acked = new Dictionary<ulong, int>();
        var attempted = new Dictionary<ulong, int>();
        var random = new Random(17);
        int acks = 0, failures = 0;
        using var stop = new CancellationTokenSource();
        var writer = Task.Run(async () =>
        {
            int version = 0;
            while (!stop.IsCancellationRequested)
            {
                version++;
                var keys = Enumerable.Range(0, 16).Select(_ => (ulong)random.Next(400)).Distinct().ToArray();
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

                    acks++;
                }
                catch (Exception)
                {
                    failures++; // not acknowledged: the check below allows it to be applied or not
                    await Task.Delay(100);
                }
            }
        });

        await Task.Delay(2000);
        var clock = Stopwatch.StartNew();
        int pid = await TestClusterHandle.KillProcessAsync(cluster.Cluster.SecondarySilos[0]);
        Directory.Delete(SiloConfigurator.PerProcessFolder(cluster.DataPath, pid), recursive: true); // the machine is lost
        output.WriteLine($"killed silo process {pid} and removed its data folder");

        // Keep writing until every shard accepts writes again (its replicas are back and caught up), then a little more.
        int acksAtKill = acks;
        while (clock.Elapsed < TimeSpan.FromSeconds(120))
        {
            await Task.Delay(500);
            var statuses = await Task.WhenAll(Enumerable.Range(0, Shards).Select(s => TestClusterHandle.RetryAsync(() => collection.Sequencer(s).SyncAsync())));
            if (statuses.All(r => r.All(x => x is { Ready: true })) && acks > acksAtKill + 20)
            {
                break;
            }
        }

        output.WriteLine($"all replicas ready {clock.Elapsed.TotalSeconds:F1} s after the kill; {acks} acknowledged batches, {failures} failed");
        await stop.CancelAsync();
        await writer;

        acks.Should().BeGreaterThan(acksAtKill, "writes are acknowledged again after recovery");
        var final = await Task.WhenAll(Enumerable.Range(0, Shards).Select(s => TestClusterHandle.RetryAsync(() => collection.Sequencer(s).SyncAsync())));
        final.SelectMany(r => r).Should().OnlyContain(x => x != null && x.Ready);

        // Every acknowledged key is on every replica with its last acknowledged vector (or a later attempted one).
        for (int s = 0; s < Shards; s++)
        {
            for (int r = 0; r < 2; r++)
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

                foreach (var (key, version) in acked.Where(p => ShardRouting.ShardOf(p.Key, Shards) == s))
                {
                    stored.Should().ContainKey(key, $"key {key} was acknowledged (replica {s}/r{r})");
                    var accepted = Enumerable.Range(version, attempted[key] - version + 1).Select(v => VectorOf(key, v));
                    accepted.Should().Contain(v => v.SequenceEqual(stored[key]), $"key {key}'s last acknowledged version is {version}");
                }
            }
        }
    }
}
