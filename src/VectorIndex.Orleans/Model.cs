namespace VectorIndex.Orleans;

/// <summary>The fixed layout of a sharded collection, chosen at creation and never changed.</summary>
[GenerateSerializer, Immutable]
public sealed record ShardedCollectionDefinition
{
    /// <summary>The number of floats in every vector; at least 1.</summary>
    [Id(0)] public required int Dimensions { get; init; }

    /// <summary>The distance the shards rank by. Default <see cref="VectorIndex.Metric.L2Squared"/>.</summary>
    [Id(1)] public Metric Metric { get; init; } = Metric.L2Squared;

    /// <summary>The number of hash shards; from 1 to 4096, default 8 (a few times the silos expected).</summary>
    [Id(2)] public int ShardCount { get; init; } = 8;

    /// <summary>The replicas per shard (R), placed on different silos while there are enough silos; from 1 to 16, default 1.</summary>
    [Id(3)] public int ReplicationFactor { get; init; } = 1;

    /// <summary>
    /// How many replicas (W) must have flushed a write to their log before it is acknowledged; from 1 to
    /// <see cref="ReplicationFactor"/>; 0 (the default) means all of them.
    /// </summary>
    [Id(4)] public int WriteQuorum { get; init; }

    /// <summary>The HNSW graph's M of every shard index (see <see cref="HnswOptions.M"/>); default 16.</summary>
    [Id(5)] public int M { get; init; } = 16;

    /// <summary>The HNSW build breadth of every shard index (see <see cref="HnswOptions.EfConstruction"/>); default 200.</summary>
    [Id(6)] public int EfConstruction { get; init; } = 200;

    /// <summary>The acknowledgement count in effect: <see cref="WriteQuorum"/>, or <see cref="ReplicationFactor"/> when it is 0.</summary>
    public int EffectiveWriteQuorum => WriteQuorum == 0 ? ReplicationFactor : WriteQuorum;

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> for a value out of its documented range.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A value is out of range.</exception>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(Dimensions, 1, nameof(Dimensions));
        ArgumentOutOfRangeException.ThrowIfLessThan(ShardCount, 1, nameof(ShardCount));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(ShardCount, 4096, nameof(ShardCount));
        ArgumentOutOfRangeException.ThrowIfLessThan(ReplicationFactor, 1, nameof(ReplicationFactor));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(ReplicationFactor, 16, nameof(ReplicationFactor));
        ArgumentOutOfRangeException.ThrowIfNegative(WriteQuorum, nameof(WriteQuorum));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(WriteQuorum, ReplicationFactor, nameof(WriteQuorum));
        // The shard indexes check the rest (M, ef, metric) the same way.
        _ = ToHnswOptions();
    }

    /// <summary>The options of one shard's index.</summary>
    /// <returns>The options.</returns>
    public HnswOptions ToHnswOptions()
    {
        var options = new HnswOptions { Dimensions = Dimensions, Metric = Metric, M = M, EfConstruction = EfConstruction };
        using var probe = new HnswIndex(options); // validates: the constructor throws ArgumentOutOfRangeException
        return options;
    }
}

/// <summary>One change to a shard: an upsert of a vector (and an opaque payload) under a key, or a delete.</summary>
[GenerateSerializer, Immutable]
public sealed record ShardWrite
{
    /// <summary>The record key.</summary>
    [Id(0)] public required ulong Key { get; init; }

    /// <summary>The vector to store, or null for a delete.</summary>
    [Id(1)] public float[]? Vector { get; init; }

    /// <summary>Bytes stored with the vector and returned by reads (the record's data), or null.</summary>
    [Id(2)] public byte[]? Payload { get; init; }

    /// <summary>
    /// For a record whose own key was hashed to <see cref="Key"/> (see <see cref="HashedKeys"/>): that original key,
    /// which an upsert's payload also holds in <see cref="HashedKeys.OriginalKeyProperty"/>. The shard's sequencer
    /// checks it against the record <see cref="Key"/> holds when the write is sequenced: an upsert over a record with
    /// another original key (a 64-bit collision) refuses the shard's whole batch with <see cref="KeyCollisionException"/>;
    /// a delete of a record with another original key (or none) is dropped, as the record it names does not exist.
    /// Null (the default) writes unconditionally. Not stored (the payload holds it).
    /// </summary>
    [Id(3)] public string? OriginalKey { get; init; }

    /// <summary>Whether this is a delete.</summary>
    public bool IsDelete => Vector is null;
}

/// <summary>A write with the log sequence number its shard's sequencer gave it.</summary>
[GenerateSerializer, Immutable]
public sealed record SequencedWrite
{
    /// <summary>The log sequence number: 1 for the shard's first write, then one more per write, without gaps.</summary>
    [Id(0)] public required long Lsn { get; init; }

    /// <summary>The change.</summary>
    [Id(1)] public required ShardWrite Write { get; init; }
}

/// <summary>A scan of a shard's records (a read by filter, not by vector).</summary>
[GenerateSerializer, Immutable]
public sealed record ShardScan
{
    /// <summary>When set, only records whose payload (a JSON object) passes it are returned.</summary>
    [Id(0)] public ShardFilter? Filter { get; init; }

    /// <summary>The most records a shard returns: the first ones in key order; at least 1.</summary>
    [Id(1)] public int Max { get; init; } = int.MaxValue;

    /// <summary>
    /// When set, each record's payload holds only these fields of its JSON object (a projection, for sorting) and its
    /// vector is empty; when null, the whole payload.
    /// </summary>
    [Id(2)] public IReadOnlyList<string>? Fields { get; init; }

    /// <summary>Whether vectors are returned (without a projection); when false, each record's vector is empty.</summary>
    [Id(3)] public bool IncludeVectors { get; init; }
}

/// <summary>A stored record as read back from a replica.</summary>
[GenerateSerializer, Immutable]
public sealed record StoredRecord
{
    /// <summary>The key.</summary>
    [Id(0)] public required ulong Key { get; init; }

    /// <summary>The vector.</summary>
    [Id(1)] public required float[] Vector { get; init; }

    /// <summary>The payload, or null.</summary>
    [Id(2)] public byte[]? Payload { get; init; }
}

/// <summary>One nearest-neighbour hit: a key and its exact distance to the query under the collection's metric.</summary>
/// <param name="Key">The record key.</param>
/// <param name="Distance">The distance; smaller is nearer.</param>
[GenerateSerializer, Immutable]
public readonly record struct ShardHit([property: Id(0)] ulong Key, [property: Id(1)] float Distance);

/// <summary>What a replica reports about itself.</summary>
[GenerateSerializer, Immutable]
public sealed record ReplicaStatus
{
    /// <summary>The last log sequence number applied (and in the replica's log).</summary>
    [Id(0)] public long AppliedLsn { get; init; }

    /// <summary>Whether the replica is known to be caught up and serves queries.</summary>
    [Id(1)] public bool Ready { get; init; }

    /// <summary>The replica activation's epoch (one more on every activation).</summary>
    [Id(2)] public long Epoch { get; init; }

    /// <summary>The number of live records.</summary>
    [Id(3)] public int Count { get; init; }

    /// <summary>The silo the replica runs on, for diagnostics.</summary>
    [Id(4)] public string Silo { get; init; } = "";

    /// <summary>The snapshot generation of the replica's durable folder.</summary>
    [Id(5)] public long Generation { get; init; }

    /// <summary>
    /// Whether the replica knows it lost data (its folder was missing, damaged beyond recovery, or older than its
    /// manifest): it neither serves nor takes writes, nor counts as a source, until a current replica is copied to it.
    /// </summary>
    [Id(6)] public bool NeedsCopy { get; init; }

    /// <summary>Writes this activation received by log-tail catch-ups from a peer (it came back behind, with its data).</summary>
    [Id(7)] public long CaughtUpWrites { get; init; }

    /// <summary>
    /// Records this activation received by snapshot copies from a peer (it lost its data, or the peer's tail was too
    /// short): the records of each snapshot it installed.
    /// </summary>
    [Id(8)] public long CopiedRecords { get; init; }

    /// <summary>
    /// Whether the replica is being copied: it pulls a peer's snapshot in the background and neither serves nor takes
    /// writes until the snapshot is installed and the sequencer caught it up.
    /// </summary>
    [Id(9)] public bool Copying { get; init; }

    /// <summary>Snapshot bytes this activation received from peers (every attempt, installed or refused).</summary>
    [Id(10)] public long CopiedBytes { get; init; }

    /// <summary>Snapshot copies this activation refused: a received file had another length or failed its checksum, or did not load.</summary>
    [Id(11)] public long RefusedCopies { get; init; }
}

/// <summary>A snapshot a replica pinned for a peer to copy (<see cref="IShardReplicaGrain.OpenSnapshotAsync"/>).</summary>
[GenerateSerializer, Immutable]
public sealed record SnapshotOffer
{
    /// <summary>Names the pinned snapshot in <see cref="IShardReplicaGrain.ReadSnapshotChunkAsync"/>; valid only on the activation that pinned it.</summary>
    [Id(0)] public required Guid SnapshotId { get; init; }

    /// <summary>The log sequence number the snapshot holds every write up to.</summary>
    [Id(1)] public required long Lsn { get; init; }

    /// <summary>The snapshot's files as the source's manifest names them.</summary>
    [Id(2)] public required IReadOnlyList<SnapshotFile> Files { get; init; }
}

/// <summary>One file of a <see cref="SnapshotOffer"/>: its name, length and CRC-32C, which the receiver checks.</summary>
/// <param name="Name">The file's name in the snapshot.</param>
/// <param name="Length">Its length in bytes.</param>
/// <param name="Crc">Its CRC-32C (Castagnoli).</param>
[GenerateSerializer, Immutable]
public sealed record SnapshotFile([property: Id(0)] string Name, [property: Id(1)] long Length, [property: Id(2)] uint Crc);

/// <summary>The query one shard replica answers.</summary>
[GenerateSerializer, Immutable]
public sealed record ShardQuery
{
    /// <summary>The query vector.</summary>
    [Id(0)] public required float[] Vector { get; init; }

    /// <summary>How many hits each shard returns (the global k: the union of the shards' exact top-k holds the global top-k).</summary>
    [Id(1)] public required int K { get; init; }

    /// <summary>The search breadth in each shard, or null for the index default.</summary>
    [Id(2)] public int? Ef { get; init; }

    /// <summary>When set, only keys in this set are returned (evaluated inside each shard by the index's filtered search).</summary>
    [Id(3)] public ulong[]? AllowedKeys { get; init; }

    /// <summary>When set, no hit farther than this distance is returned.</summary>
    [Id(4)] public float? MaxDistance { get; init; }

    /// <summary>When set, only records whose payload passes it are returned (evaluated inside each shard).</summary>
    [Id(5)] public ShardFilter? Filter { get; init; }
}

/// <summary>The merged answer of a query over every shard, with its coverage.</summary>
[GenerateSerializer, Immutable]
public sealed record ShardedSearchResult
{
    /// <summary>The hits, nearest first, at most k.</summary>
    [Id(0)] public required IReadOnlyList<ShardHit> Hits { get; init; }

    /// <summary>The shards that answered.</summary>
    [Id(1)] public required int ShardsAnswered { get; init; }

    /// <summary>The collection's shard count.</summary>
    [Id(2)] public required int ShardCount { get; init; }

    /// <summary>The shards that did not answer within the deadline (no replica of them answered).</summary>
    [Id(3)] public IReadOnlyList<int> MissingShards { get; init; } = [];

    /// <summary>How many times another replica of a shard was asked because one failed or was silent for <see cref="ShardedSearchOptions.ReplicaTimeout"/>.</summary>
    [Id(4)] public int Failovers { get; init; }

    /// <summary>Whether every shard answered: only then are the hits the full answer.</summary>
    public bool IsComplete => ShardsAnswered == ShardCount;
}

/// <summary>Per-query settings of a sharded search.</summary>
[GenerateSerializer, Immutable]
public sealed record ShardedSearchOptions
{
    /// <summary>The search breadth in each shard, or null for the index default (64).</summary>
    [Id(0)] public int? Ef { get; init; }

    /// <summary>The whole query's deadline; shards that have not answered by then are reported missing. Default 5 s.</summary>
    [Id(1)] public TimeSpan Deadline { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long the coordinator waits for a replica before it asks another replica of the shard as well (a hedged
    /// request: the first stays in the race and the earlier answer wins); less when the replicas not yet asked would
    /// otherwise not get an equal share of what is left of the deadline. A replica that fails is replaced at once.
    /// Default 500 ms.
    /// </summary>
    [Id(2)] public TimeSpan ReplicaTimeout { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>When set, only these keys may be returned.</summary>
    [Id(3)] public ulong[]? AllowedKeys { get; init; }

    /// <summary>When set, no hit farther than this distance is returned.</summary>
    [Id(4)] public float? MaxDistance { get; init; }

    /// <summary>When set, only records whose payload (a JSON object) passes it are returned; evaluated inside each shard by the index's filtered search.</summary>
    [Id(5)] public ShardFilter? Filter { get; init; }
}

/// <summary>Thrown when fewer replicas than the write quorum flushed a write: the write is not acknowledged (it may still be applied on some replicas).</summary>
[GenerateSerializer]
public sealed class WriteQuorumException : Exception
{
    /// <summary>Creates the exception.</summary>
    public WriteQuorumException() { }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">The message.</param>
    public WriteQuorumException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and a cause.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public WriteQuorumException(string message, Exception innerException) : base(message, innerException) { }
}

/// <summary>Thrown by a replica asked to serve before it caught up with its shard, or after it was fenced out by a newer activation.</summary>
[GenerateSerializer]
public sealed class ReplicaUnavailableException : Exception
{
    /// <summary>Creates the exception.</summary>
    public ReplicaUnavailableException() { }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">The message.</param>
    public ReplicaUnavailableException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and a cause.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public ReplicaUnavailableException(string message, Exception innerException) : base(message, innerException) { }
}

/// <summary>
/// Thrown when an upsert's original key hashes (see <see cref="HashedKeys"/>) to a storage key that already holds a
/// record with another original key: two keys collide on 64 bits. Nothing of the shard's batch that held the write is
/// written; the stored record is unchanged.
/// </summary>
[GenerateSerializer]
public sealed class KeyCollisionException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    public KeyCollisionException() { }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">The message.</param>
    public KeyCollisionException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and a cause.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public KeyCollisionException(string message, Exception innerException) : base(message, innerException) { }
}

/// <summary>Thrown by an operation on a sharded collection that does not exist (never created, or deleted).</summary>
[GenerateSerializer]
public sealed class CollectionNotFoundException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    public CollectionNotFoundException() { }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">The message.</param>
    public CollectionNotFoundException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and a cause.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public CollectionNotFoundException(string message, Exception innerException) : base(message, innerException) { }
}
