namespace VectorIndex.Orleans.Tests;

/// <summary>Test 5: a torn log tail and a corrupted newest snapshot.</summary>
public class DamageTests
{
    private static string ReplicaFolder(TestClusterHandle cluster, string collection, int shard) =>
        Path.Combine(cluster.DataPath, collection, shard.ToString(System.Globalization.CultureInfo.InvariantCulture), "r0");

    // Two shards, one replica each: 600 records, a snapshot, then 400 more records that are only in the log.
    private static async Task<(TestClusterHandle, ShardedCollection, float[][], ShardedSearchResult[])> SetUpAsync(string name)
    {
        var cluster = await TestClusterHandle.StartAsync(silos: 2);
        var vectors = TestData.Clustered(1000, 8, clusters: 10, seed: 3);
        var collection = new ShardedCollection(cluster.Grains, name);
        await collection.CreateAsync(new ShardedCollectionDefinition { Dimensions = 8, ShardCount = 2, EfConstruction = 32 });
        await TestData.LoadAsync(collection, vectors[..600], batch: 200);
        for (int s = 0; s < 2; s++)
        {
            await collection.Replica(s, 0).CheckpointAsync();
        }

        await TestData.LoadAsync(collection, vectors, batch: 200); // rewrites the first 600 too: the log is longer than the snapshot's
        var answers = await Task.WhenAll(vectors.Take(20).Select(v => collection.SearchAsync(v, 10, new ShardedSearchOptions { Ef = 64 })));
        for (int s = 0; s < 2; s++)
        {
            await collection.Replica(s, 0).DeactivateAsync();
        }

        await Task.Delay(300);
        return (cluster, collection, vectors, answers);
    }

    private static void Damage(string folder, bool snapshot, bool tearLog)
    {
        var files = Directory.GetFiles(folder).Order(StringComparer.Ordinal).ToArray();
        if (snapshot)
        {
            string index = files.Last(f => f.EndsWith(".index", StringComparison.Ordinal));
            using var stream = new FileStream(index, FileMode.Open, FileAccess.ReadWrite);
            stream.Position = stream.Length / 2;
            int b = stream.ReadByte();
            stream.Position = stream.Length / 2;
            stream.WriteByte((byte)(b ^ 0x5A));
        }

        if (tearLog)
        {
            // Half a record: a frame header announcing 100 bytes, and 30 of them (a write the crash cut short).
            string wal = files.Last(f => f.EndsWith(".wal", StringComparison.Ordinal));
            using var stream = new FileStream(wal, FileMode.Append, FileAccess.Write);
            stream.Write([100, 0, 0, 0, 1, 2, 3, 4]);
            stream.Write(new byte[30]);
        }
    }

    [Fact(Timeout = 180_000)]
    public async Task A_corrupted_newest_snapshot_and_a_torn_log_recover_from_the_previous_snapshot_and_the_longer_log()
    {
        var (cluster, collection, vectors, before) = await SetUpAsync("damage");
        await using var _ = cluster;
        string folder = ReplicaFolder(cluster, "damage", 0);
        Damage(folder, snapshot: true, tearLog: true);

        (await collection.Replica(0, 0).GetStatusAsync()).Ready.Should().BeTrue();
        Directory.GetDirectories(Path.GetDirectoryName(folder)!, "r0.damaged-*").Should().ContainSingle("the damaged folder is refused and kept aside");
        (await collection.CountAsync()).Should().Be(1000);
        for (int i = 0; i < vectors.Length; i++)
        {
            var record = await collection.GetAsync((ulong)i);
            record.Should().NotBeNull();
            record!.Vector.Should().Equal(vectors[i]);
        }

        var after = await Task.WhenAll(vectors.Take(20).Select(v => collection.SearchAsync(v, 10, new ShardedSearchOptions { Ef = 64 })));
        after.Should().OnlyContain(a => a.IsComplete);
        after.Select(a => a.Hits.Select(h => h.Key)).Should().BeEquivalentTo(before.Select(a => a.Hits.Select(h => h.Key)), o => o.WithStrictOrdering());
    }

    [Fact(Timeout = 180_000)]
    public async Task A_replica_that_cannot_recover_is_refused_and_the_answers_say_the_shard_is_missing()
    {
        var (cluster, collection, vectors, _) = await SetUpAsync("lost");
        await using var __ = cluster;
        string folder = ReplicaFolder(cluster, "lost", 1);
        Damage(folder, snapshot: true, tearLog: false);
        Directory.Delete(folder + ".previous", recursive: true);

        var status = await collection.Replica(1, 0).GetStatusAsync();
        status.Ready.Should().BeFalse();
        status.Count.Should().Be(0);
        var result = await collection.SearchAsync(vectors[0], 10, new ShardedSearchOptions { Deadline = TimeSpan.FromSeconds(1) });
        result.IsComplete.Should().BeFalse();
        result.ShardsAnswered.Should().Be(1);
        result.MissingShards.Should().Equal(1);
        result.Hits.Should().HaveCount(10).And.OnlyContain(h => ShardRouting.ShardOf(h.Key, 2) == 0);
        ulong keyOfShard1 = Enumerable.Range(0, 1000).Select(i => (ulong)i).First(k => ShardRouting.ShardOf(k, 2) == 1);
        await FluentActions.Awaiting(() => collection.GetAsync(keyOfShard1)).Should().ThrowAsync<ReplicaUnavailableException>();
        await FluentActions.Awaiting(() => collection.CountAsync()).Should().ThrowAsync<ReplicaUnavailableException>();
    }
}
