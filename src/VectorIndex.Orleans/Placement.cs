using Orleans.Placement;
using Orleans.Runtime.Placement;

namespace VectorIndex.Orleans;

/// <summary>
/// Places the replicas of one shard on different silos (while there are at least as many silos as replicas), and the
/// shard's sequencer with its second replica (with one replica: on the next silo).
/// </summary>
[GenerateSerializer, Immutable]
public sealed class ReplicaPlacementStrategy : PlacementStrategy
{
    /// <summary>The one instance.</summary>
    public static ReplicaPlacementStrategy Instance { get; } = new();
}

/// <summary>Marks a grain class as placed by <see cref="ReplicaPlacementStrategy"/>.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class ReplicaPlacementAttribute : PlacementAttribute
{
    /// <summary>Creates the attribute.</summary>
    public ReplicaPlacementAttribute() : base(ReplicaPlacementStrategy.Instance) { }
}

/// <summary>
/// The placement director of shard replicas and sequencers: it orders the compatible silos by address and puts replica
/// r of shard s of a collection on silo <c>(hash(collection) + s + r) mod silos</c>, so the R replicas of a shard land
/// on R different silos and the shards spread evenly. A shard's sequencer goes to the silo of replica 1, slot
/// <c>hash(collection) + s + 1</c>: the write load spreads like the shards (left to Orleans, every sequencer was seen on
/// one silo), with R &gt;= 2 one of the R calls of each write stays in the silo, and with R = 1 the sequencer lives apart
/// from the replica (a silo's death leaves one of the two to tell what was logged). Any other key goes to a random
/// silo. A placement hint (a migration to a chosen silo) wins over all of this.
/// </summary>
internal sealed class ReplicaPlacementDirector : IPlacementDirector
{
    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        var silos = context.GetCompatibleSilos(target).OrderBy(s => s.ToParsableString(), StringComparer.Ordinal).ToArray();
        if (silos.Length == 0)
        {
            throw new OrleansException("No compatible silo to place a shard replica on.");
        }

        // A migration asked for a silo (TestCluster.MigrateAsync, or a rebalancer's hint): honour it. The replica opens
        // its folder there (a shared disk) or, finding none, waits for a snapshot copy from a peer.
        if (IPlacementDirector.GetPlacementHint(target.RequestContextData, silos) is { } hint)
        {
            return Task.FromResult(hint);
        }

        string key = target.GrainIdentity.Key.ToString() ?? "";
        if (!ShardRouting.TryParseReplicaKey(key, out string collection, out int shard, out int replica))
        {
            if (!ShardRouting.TryParseSequencerKey(key, out collection, out shard))
            {
                return Task.FromResult(silos[Random.Shared.Next(silos.Length)]);
            }

            replica = 1;
        }

        ulong slot = StableHash(collection) + (ulong)shard + (ulong)replica;
        return Task.FromResult(silos[(int)(slot % (ulong)silos.Length)]);
    }

    // FNV-1a over the UTF-16 code units: the same on every silo and every run (string.GetHashCode is randomised).
    private static ulong StableHash(string text)
    {
        ulong hash = 14695981039346656037UL;
        foreach (char c in text)
        {
            hash = (hash ^ c) * 1099511628211UL;
        }

        return hash % 1_000_003;
    }
}
