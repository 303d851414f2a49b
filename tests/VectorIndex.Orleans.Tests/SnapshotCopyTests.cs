using Xunit.Abstractions;

namespace VectorIndex.Orleans.Tests;

/// <summary>
/// A replica that lost its folder is copied by snapshot (the source's saved graph, pulled in chunks by the replica in the
/// background) while writes go on, then caught up from the source's log tail; a corrupted snapshot is refused and the
/// copy retried.
/// </summary>
public class SnapshotCopyTests(ITestOutputHelper output)
{
    private const int Dims = 16;

    private static string ReplicaFolder(TestClusterHandle cluster, string collection, int shard, int replica) =>
        Path.Combine(cluster.DataPath, collection, shard.ToString(System.Globalization.CultureInfo.InvariantCulture), "r" + replica.ToString(System.Globalization.CultureInfo.InvariantCulture));

    // The vector of a key's version-th write (version 0: the loaded one): recognisable when read back.
    private static float[] VectorOf(float[][] loaded, ulong key, int version)
    {
        var v = (float[])loaded[key].Clone();
        v[0] += version * 0.01f;
        return v;
    }

    // Removes a replica's folder (and its previous generation) while it is idle, deactivates it, and waits until its
    // next activation answers: it comes back empty and knows it lost data.
    private static async Task<ReplicaStatus> LoseFolderAsync(TestClusterHandle cluster, ShardedCollection collection, int shard, int replica)
    {
        var grain = collection.Replica(shard, replica);
        long epoch = (await grain.GetStatusAsync()).Epoch;
        string folder = ReplicaFolder(cluster, collection.Name, shard, replica);
        Directory.Delete(folder, recursive: true);
        Directory.Delete(folder + ".previous", recursive: true);
        await grain.DeactivateAsync();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            var status = await grain.GetStatusAsync();
            if (status.Epoch > epoch)
            {
                return status;
            }

            clock.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(30), "a deactivated replica activates again on its next call");
            await Task.Delay(100);
        }
    }

    private static async Task<Dictionary<ulong, float[]>> ReadAllAsync(IShardReplicaGrain replica)
    {
        var stored = new Dictionary<ulong, float[]>();
        ulong? after = null;
        while (true)
        {
            var page = await replica.ReadPageAsync(after, 500);
            if (page.Length == 0)
            {
                return stored;
            }

            foreach (var record in page)
            {
                stored[record.Key] = record.Vector;
            }

            after = page[^1].Key;
        }
    }

    private static async Task<ReplicaStatus[]> WaitAllReadyAsync(ShardedCollection collection, TimeSpan limit)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            var statuses = await collection.Sequencer(0).SyncAsync();
            if (statuses.All(x => x is { Ready: true }))
            {
                return [.. statuses.Select(x => x!)];
            }

            clock.Elapsed.Should().BeLessThan(limit, "the copied replica is caught up and serves");
            await Task.Delay(200);
        }
    }

    [Theory(Timeout = 180_000)]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_replica_that_lost_its_folder_is_copied_by_snapshot_while_writes_go_on(bool noTailInMemory)
    {
        // Small chunks: the copy takes hundreds of calls, so the writer below gets writes acknowledged during it. With
        // no log tail kept in memory, the catch-up after the snapshot reads the source's log on disk.
        await using var cluster = await TestClusterHandle.StartAsync(silos: 3, snapshotChunkBytes: 256, catchUpTailBytes: noTailInMemory ? 0 : null);
        var collection = new ShardedCollection(cluster.Grains, "snapcopy");
        await collection.CreateAsync(new ShardedCollectionDefinition { Dimensions = Dims, ShardCount = 1, ReplicationFactor = 2, WriteQuorum = 1, EfConstruction = 32 });
        var vectors = TestData.Clustered(3000, Dims, clusters: 20, seed: 11);
        await TestData.LoadAsync(collection, vectors, batch: 500);
        (await collection.Sequencer(0).SyncAsync()).Should().OnlyContain(x => x != null && x.Ready);

        var lost = await LoseFolderAsync(cluster, collection, 0, 1);
        lost.NeedsCopy.Should().BeTrue("its folder is gone");
        lost.Count.Should().Be(0);

        // One writer (W = 1: the source alone acknowledges while the target copies): per key the last acknowledged
        // version and the highest attempted one. A write counts as acknowledged during the copy when the target said it
        // was copying both before the write was sent and after it was acknowledged.
        var target = collection.Replica(0, 1);
        var acked = new Dictionary<ulong, int>();
        var attempted = new Dictionary<ulong, int>();
        int ackedWhileCopying = 0;
        bool targetReady = false;
        int writesAfterReady = 0;
        var random = new Random(5);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        for (int version = 1; writesAfterReady < 20; version++)
        {
            clock.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(90), "the target is copied, caught up and serves while writes go on");
            var keys = Enumerable.Range(0, 4).Select(_ => (ulong)random.Next(vectors.Length)).Distinct().ToArray();
            foreach (var key in keys)
            {
                attempted[key] = version;
            }

            bool copyingBefore = (await target.GetStatusAsync()).Copying;
            try
            {
                await collection.WriteAsync(keys.Select(k => new ShardWrite { Key = k, Vector = VectorOf(vectors, k, version) }));
            }
            catch (WriteQuorumException)
            {
                continue; // not acknowledged: the check below allows it to be applied or not
            }

            foreach (var key in keys)
            {
                acked[key] = version;
            }

            var after = await target.GetStatusAsync();
            if (copyingBefore && after.Copying)
            {
                ackedWhileCopying++;
            }

            targetReady |= after.Ready;
            writesAfterReady += targetReady ? 1 : 0;
        }

        var statuses = await WaitAllReadyAsync(collection, TimeSpan.FromSeconds(30));
        output.WriteLine($"{acked.Count} keys acknowledged, {ackedWhileCopying} batches while the target copied; target: {statuses[1]}");
        ackedWhileCopying.Should().BePositive("writes are acknowledged while the target copies the snapshot");
        var copied = statuses[1];
        copied.CopiedBytes.Should().BePositive("the target received the source's snapshot files");
        copied.CopiedRecords.Should().BeGreaterThanOrEqualTo(vectors.Length, "the installed snapshot held every loaded record");
        copied.CaughtUpWrites.Should().BePositive($"the writes after the snapshot came from the source's log tail ({(noTailInMemory ? "on disk" : "in memory")})");
        copied.NeedsCopy.Should().BeFalse();
        copied.AppliedLsn.Should().Be(statuses[0].AppliedLsn);

        // Every acknowledged key is on both replicas with its last acknowledged vector (or a later attempted one), and
        // both replicas hold the same records.
        var source = await ReadAllAsync(collection.Replica(0, 0));
        var copy = await ReadAllAsync(target);
        source.Should().HaveCount(vectors.Length);
        foreach (var (name, stored) in new[] { ("source", source), ("copy", copy) })
        {
            foreach (var (key, version) in acked)
            {
                stored.Should().ContainKey(key, $"key {key} was acknowledged ({name})");
                Enumerable.Range(version, attempted[key] - version + 1).Select(v => VectorOf(vectors, key, v))
                    .Should().Contain(v => v.SequenceEqual(stored[key]), $"key {key}'s last acknowledged version is {version} ({name})");
            }
        }

        copy.Keys.Should().BeEquivalentTo(source.Keys);
        foreach (var (key, vector) in source)
        {
            copy[key].Should().Equal(vector, $"both replicas are at sequence number {copied.AppliedLsn} (key {key})");
        }

        // The same graph: identical answers from both replicas.
        foreach (var query in TestData.Clustered(20, Dims, clusters: 20, seed: 12))
        {
            var shardQuery = new ShardQuery { Vector = query, K = 10, Ef = 32 };
            var fromSource = await collection.Replica(0, 0).SearchAsync(shardQuery);
            var fromCopy = await target.SearchAsync(shardQuery);
            fromCopy.Should().Equal(fromSource);
        }
    }

    [Fact(Timeout = 180_000)]
    public async Task A_corrupted_snapshot_is_refused_and_the_copy_is_retried()
    {
        await using var cluster = await TestClusterHandle.StartAsync(silos: 3);
        var collection = new ShardedCollection(cluster.Grains, "snapbad");
        await collection.CreateAsync(new ShardedCollectionDefinition { Dimensions = Dims, ShardCount = 1, ReplicationFactor = 2, WriteQuorum = 1, EfConstruction = 32 });
        var vectors = TestData.Clustered(2000, Dims, clusters: 20, seed: 13);
        await TestData.LoadAsync(collection, vectors, batch: 500);
        (await collection.Sequencer(0).SyncAsync()).Should().OnlyContain(x => x != null && x.Ready);

        // The source's current snapshot (no write after it, so a copy is served from it) is corrupted on disk after its
        // manifest recorded the checksum; its in-memory state is intact.
        var source = collection.Replica(0, 0);
        await source.CheckpointAsync();
        string index = Directory.GetFiles(ReplicaFolder(cluster, collection.Name, 0, 0), "*.index").Should().ContainSingle().Subject;
        using (var stream = new FileStream(index, FileMode.Open, FileAccess.ReadWrite))
        {
            stream.Position = stream.Length / 2;
            int b = stream.ReadByte();
            stream.Position = stream.Length / 2;
            stream.WriteByte((byte)(b ^ 0x5A));
        }

        var target = collection.Replica(0, 1);
        (await LoseFolderAsync(cluster, collection, 0, 1)).NeedsCopy.Should().BeTrue();

        // The copy starts (from the only current replica) and is refused at the target: nothing installed.
        await collection.Sequencer(0).SyncAsync();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        ReplicaStatus status;
        while ((status = await target.GetStatusAsync()).RefusedCopies == 0)
        {
            clock.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(30), "the corrupted snapshot reaches the target and is checked");
            await Task.Delay(100);
        }

        status.CopiedBytes.Should().BePositive();
        status.CopiedRecords.Should().Be(0, "a refused snapshot is not installed");
        status.Count.Should().Be(0);
        status.Ready.Should().BeFalse();

        // A write: the source has writes after its snapshot, so the next copy takes a new (intact) one.
        await collection.WriteAsync([new ShardWrite { Key = 5000, Vector = vectors[0] }]);
        var statuses = await WaitAllReadyAsync(collection, TimeSpan.FromSeconds(60));
        output.WriteLine($"target: {statuses[1]}");
        statuses[1].CopiedRecords.Should().BePositive("a later copy was installed");
        statuses[1].RefusedCopies.Should().BePositive();
        var copy = await ReadAllAsync(target);
        copy.Should().HaveCount(vectors.Length + 1);
        for (int i = 0; i < vectors.Length; i++)
        {
            copy[(ulong)i].Should().Equal(vectors[i]);
        }
    }

    [Fact(Timeout = 180_000)]
    public async Task A_replica_re_activated_during_its_copy_still_needs_one_and_is_copied_again()
    {
        // Tiny chunks: the copy lasts thousands of calls, long enough to re-activate the target in the middle of it.
        await using var cluster = await TestClusterHandle.StartAsync(silos: 3, snapshotChunkBytes: 256);
        var collection = new ShardedCollection(cluster.Grains, "snapgone");
        await collection.CreateAsync(new ShardedCollectionDefinition { Dimensions = Dims, ShardCount = 1, ReplicationFactor = 2, WriteQuorum = 1, EfConstruction = 32 });
        var vectors = TestData.Clustered(3000, Dims, clusters: 20, seed: 17);
        await TestData.LoadAsync(collection, vectors, batch: 500);
        (await collection.Sequencer(0).SyncAsync()).Should().OnlyContain(x => x != null && x.Ready);
        (await LoseFolderAsync(cluster, collection, 0, 1)).NeedsCopy.Should().BeTrue();

        var target = collection.Replica(0, 1);
        await collection.Sequencer(0).SyncAsync();
        var copying = await target.GetStatusAsync();
        copying.Copying.Should().BeTrue("the sequencer started the copy and returned");
        copying.Ready.Should().BeFalse();

        // The activation that ran the copy goes away; the next one (which took a snapshot of its empty state) still
        // knows it lost data, and the abandoned copy installs nothing.
        await target.DeactivateAsync();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        ReplicaStatus again;
        while ((again = await target.GetStatusAsync()).Epoch == copying.Epoch)
        {
            clock.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(30));
            await Task.Delay(100);
        }

        output.WriteLine($"before: {copying}; after re-activation: {again}");
        again.NeedsCopy.Should().BeTrue("the data is still lost");
        again.Copying.Should().BeFalse();
        again.Count.Should().Be(0);

        var statuses = await WaitAllReadyAsync(collection, TimeSpan.FromSeconds(60));
        statuses[1].Epoch.Should().Be(again.Epoch);
        statuses[1].CopiedBytes.Should().BePositive("the new activation was copied by snapshot");
        statuses[1].CopiedRecords.Should().Be(vectors.Length);
        var copy = await ReadAllAsync(target);
        copy.Should().HaveCount(vectors.Length);
        for (int i = 0; i < vectors.Length; i++)
        {
            copy[(ulong)i].Should().Equal(vectors[i]);
        }
    }
}
