namespace VectorIndex.Orleans;

/// <summary>Routes a record's 64-bit key to one of a collection's fixed shards.</summary>
/// <remarks>
/// The key goes through the SplitMix64 finaliser (a bijective 64-bit mix, so sequential or clustered keys spread
/// evenly), and the mixed value is mapped to a shard by a multiply-high (<c>mixed * shardCount &gt;&gt; 64</c>), which
/// is uniform and needs no division. The mapping depends only on the key and the shard count, both fixed for the life
/// of a collection.
/// </remarks>
public static class ShardRouting
{
    /// <summary>The SplitMix64 finaliser of <paramref name="key"/>.</summary>
    /// <param name="key">A record key.</param>
    /// <returns>The mixed key.</returns>
    public static ulong Mix(ulong key)
    {
        key ^= key >> 30;
        key *= 0xBF58476D1CE4E5B9UL;
        key ^= key >> 27;
        key *= 0x94D049BB133111EBUL;
        key ^= key >> 31;
        return key;
    }

    /// <summary>The shard that holds <paramref name="key"/>.</summary>
    /// <param name="key">A record key.</param>
    /// <param name="shardCount">The collection's shard count, at least 1.</param>
    /// <returns>A shard number in <c>[0, shardCount)</c>.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="shardCount"/> is less than 1.</exception>
    public static int ShardOf(ulong key, int shardCount)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(shardCount, 1);
        return (int)Math.BigMul(Mix(key), (ulong)shardCount, out _);
    }

    /// <summary>The grain key of a shard's sequencer: <c>{collection}/{shard}</c>.</summary>
    /// <param name="collection">The collection name.</param>
    /// <param name="shard">The shard number.</param>
    /// <returns>The key.</returns>
    public static string SequencerKey(string collection, int shard) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{collection}/{shard}");

    /// <summary>The grain key of a shard replica: <c>{collection}/{shard}/r{replica}</c>.</summary>
    /// <param name="collection">The collection name.</param>
    /// <param name="shard">The shard number.</param>
    /// <param name="replica">The replica number, from 0 to the replication factor minus 1.</param>
    /// <returns>The key.</returns>
    public static string ReplicaKey(string collection, int shard, int replica) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{collection}/{shard}/r{replica}");

    // Splits a sequencer grain key ({collection}/{shard}) into its parts; false for any other key.
    internal static bool TryParseSequencerKey(string key, out string collection, out int shard)
    {
        collection = "";
        int last = key.LastIndexOf('/');
        if (last <= 0 || !int.TryParse(key.AsSpan(last + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out shard))
        {
            shard = -1;
            return false;
        }

        collection = key[..last];
        return true;
    }

    /// <summary>Splits a replica grain key into its parts.</summary>
    /// <param name="key">A key made by <see cref="ReplicaKey"/>.</param>
    /// <param name="collection">The collection name.</param>
    /// <param name="shard">The shard number.</param>
    /// <param name="replica">The replica number.</param>
    /// <returns>False when the key is not a replica key.</returns>
    public static bool TryParseReplicaKey(string key, out string collection, out int shard, out int replica)
    {
        collection = "";
        shard = replica = -1;
        int last = key.LastIndexOf('/');
        if (last <= 0 || last + 2 > key.Length || key[last + 1] != 'r')
        {
            return false;
        }

        int middle = key.LastIndexOf('/', last - 1);
        if (middle <= 0
            || !int.TryParse(key.AsSpan(middle + 1, last - middle - 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out shard)
            || !int.TryParse(key.AsSpan(last + 2), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out replica))
        {
            shard = replica = -1;
            return false;
        }

        collection = key[..middle];
        return true;
    }
}
