namespace VectorIndex.Orleans.Tests;

public class RoutingTests
{
    [Fact]
    public void Sequential_keys_spread_evenly_over_the_shards()
    {
        const int Shards = 8, Keys = 80_000;
        var counts = new int[Shards];
        for (ulong key = 0; key < Keys; key++)
        {
            counts[ShardRouting.ShardOf(key, Shards)]++;
        }

        counts.Should().OnlyContain(c => c > Keys / Shards * 0.95 && c < Keys / Shards * 1.05);
    }

    [Fact]
    public void A_key_always_goes_to_the_same_shard_and_bad_counts_throw()
    {
        ShardRouting.ShardOf(12345, 7).Should().Be(ShardRouting.ShardOf(12345, 7));
        ShardRouting.ShardOf(ulong.MaxValue, 1).Should().Be(0);
        var act = () => ShardRouting.ShardOf(1, 0);
        act.Should().Throw<ArgumentOutOfRangeException>();
    }

    [Fact]
    public void Replica_keys_round_trip()
    {
        string key = ShardRouting.ReplicaKey("docs/v2", 13, 1);
        key.Should().Be("docs/v2/13/r1");
        ShardRouting.TryParseReplicaKey(key, out string collection, out int shard, out int replica).Should().BeTrue();
        (collection, shard, replica).Should().Be(("docs/v2", 13, 1));
        ShardRouting.TryParseReplicaKey("docs/13", out _, out _, out _).Should().BeFalse();
        ShardRouting.TryParseReplicaKey("docs/x/r1", out _, out _, out _).Should().BeFalse();
    }
}
