using Orleans.Concurrency;

namespace VectorIndex.Orleans;

/// <summary>A sharded collection's catalog entry (grain key: the collection name): its definition, kept in grain state.</summary>
public interface ICollectionGrain : IGrainWithStringKey
{
    /// <summary>Creates the collection, or returns the existing definition when it already exists with the same one.</summary>
    /// <param name="definition">The layout.</param>
    /// <returns>The definition in effect.</returns>
    /// <exception cref="ArgumentOutOfRangeException">A value of the definition is out of range.</exception>
    /// <exception cref="InvalidOperationException">
    /// The collection exists with a different definition; or a deletion of it did not complete (call
    /// <see cref="DeleteAsync"/> again); or a collection of this name was deleted with a different definition (silos
    /// cache definitions, so a name is re-created only with the definition it had).
    /// </exception>
    Task<ShardedCollectionDefinition> CreateAsync(ShardedCollectionDefinition definition);

    /// <summary>The definition, or null when the collection does not exist (or is being deleted).</summary>
    /// <returns>The definition.</returns>
    /// <remarks>Interleaves with <see cref="CreateAsync"/>, which activates the shards, whose activation reads the definition.</remarks>
    [AlwaysInterleave]
    Task<ShardedCollectionDefinition?> GetDefinitionAsync();

    /// <summary>The definition the shards' grains are activated with: also while the collection is being deleted (its replicas activate to drop their files); null when it does not exist.</summary>
    /// <returns>The definition.</returns>
    [AlwaysInterleave]
    Task<ShardedCollectionDefinition?> GetShardDefinitionAsync();

    /// <summary>
    /// Deletes the collection: it stops existing at once (<see cref="GetDefinitionAsync"/> returns null, it leaves the
    /// catalog), then every shard's sequencer drops its replicas' records, logs, snapshots and folders. Nothing happens
    /// when the collection does not exist. When a shard does not answer, this throws and the collection stays deleted
    /// but cannot be re-created until a later call completes the deletion.
    /// </summary>
    /// <returns>A task.</returns>
    Task DeleteAsync();
}

/// <summary>
/// The sequencer of one shard (grain key <c>{collection}/{shard}</c>): it gives every write the next log sequence number,
/// sends it to the shard's replicas and acknowledges it once the write quorum flushed it to their logs. It also brings
/// replicas that are behind up to date (a peer's log tail, or a snapshot copy the replica pulls in the background and
/// then the log tail) before they serve.
/// </summary>
public interface IShardSequencerGrain : IGrainWithStringKey
{
    /// <summary>Sequences and replicates writes; completes once the write quorum has them in its logs, on disk.</summary>
    /// <param name="writes">The writes, applied in this order; all for this shard.</param>
    /// <returns>The log sequence number of the last write.</returns>
    /// <exception cref="ArgumentException">A vector has the wrong length, a NaN or infinity, or is all zeros under cosine; nothing is written.</exception>
    /// <exception cref="WriteQuorumException">Fewer replicas than the write quorum flushed the writes; they are not acknowledged.</exception>
    /// <exception cref="KeyCollisionException">An upsert's <see cref="ShardWrite.OriginalKey"/> differs from the one of the record its key holds; nothing is written.</exception>
    /// <exception cref="InvalidOperationException">The collection was deleted (and not re-created).</exception>
    Task<long> WriteAsync(ShardWrite[] writes);

    /// <summary>
    /// Drops the shard (the collection is being deleted): after the writes sequenced before this call, it refuses
    /// writes until the collection exists again, and every replica drops its records and files.
    /// </summary>
    /// <param name="definition">The deleted collection's definition (its replication factor names the replicas).</param>
    /// <returns>A task.</returns>
    /// <exception cref="ReplicaUnavailableException">A replica did not drop its state; call again.</exception>
    Task DropAsync(ShardedCollectionDefinition definition);

    /// <summary>Asks every replica for its state, catches up the ones that are behind and marks the current ones ready.</summary>
    /// <returns>The replicas' states (null for a replica that did not answer).</returns>
    Task<ReplicaStatus?[]> SyncAsync();
}

/// <summary>
/// One replica of one shard (grain key <c>{collection}/{shard}/r{replica}</c>): an HNSW index with its write-ahead log
/// and snapshots in the silo's data folder, and a small manifest (epoch, snapshot generation, sequence number) in grain state.
/// </summary>
public interface IShardReplicaGrain : IGrainWithStringKey
{
    /// <summary>The replica's state.</summary>
    /// <returns>The state.</returns>
    Task<ReplicaStatus> GetStatusAsync();

    /// <summary>
    /// Logs and applies sequenced writes and completes once they are on disk. Writes at or below the applied number are
    /// skipped; when the first write leaves a gap, nothing is applied (the returned number shows how far behind it is).
    /// </summary>
    /// <param name="sequencerEpoch">The calling sequencer's epoch; a lower one than the replica has seen is refused.</param>
    /// <param name="writes">Writes in sequence order.</param>
    /// <returns>The state after the writes.</returns>
    /// <exception cref="ReplicaUnavailableException">The sequencer is stale, the replica is being copied, or it was fenced out.</exception>
    Task<ReplicaStatus> ApplyAsync(long sequencerEpoch, SequencedWrite[] writes);

    /// <summary>As <see cref="ApplyAsync"/>, for writes a peer's log tail supplies (<see cref="ReadTailAsync"/>); counted in <see cref="ReplicaStatus.CaughtUpWrites"/>.</summary>
    /// <param name="sequencerEpoch">The calling sequencer's epoch.</param>
    /// <param name="writes">Writes in sequence order.</param>
    /// <returns>The state after the writes.</returns>
    /// <exception cref="ReplicaUnavailableException">The sequencer is stale, the replica is being copied, or it was fenced out.</exception>
    Task<ReplicaStatus> CatchUpAsync(long sequencerEpoch, SequencedWrite[] writes);

    /// <summary>Searches the replica's index.</summary>
    /// <param name="query">The query.</param>
    /// <returns>The hits, nearest first, with exact distances.</returns>
    /// <exception cref="ReplicaUnavailableException">The replica is not caught up yet.</exception>
    Task<ShardHit[]> SearchAsync(ShardQuery query);

    /// <summary>Reads a record.</summary>
    /// <param name="key">The key.</param>
    /// <returns>The record, or null when there is none.</returns>
    /// <exception cref="ReplicaUnavailableException">The replica is not caught up yet.</exception>
    Task<StoredRecord?> GetAsync(ulong key);

    /// <summary>Reads several records.</summary>
    /// <param name="keys">The keys.</param>
    /// <returns>The records, in the order of <paramref name="keys"/>; null for a key with none.</returns>
    /// <exception cref="ReplicaUnavailableException">The replica is not caught up yet.</exception>
    Task<StoredRecord?[]> GetManyAsync(ulong[] keys);

    /// <summary>Scans the replica's records in key order for those that pass a filter.</summary>
    /// <param name="scan">The filter, the count, the projection.</param>
    /// <returns>Up to <see cref="ShardScan.Max"/> matching records, in key order.</returns>
    /// <exception cref="ReplicaUnavailableException">The replica is not caught up yet.</exception>
    /// <exception cref="ArgumentException">The filter is malformed.</exception>
    Task<StoredRecord[]> ScanAsync(ShardScan scan);

    /// <summary>Reads records in key order, for listing and checks (the replica need not serve).</summary>
    /// <param name="afterKey">Start after this key, or null for the first page.</param>
    /// <param name="max">The page size.</param>
    /// <returns>Up to <paramref name="max"/> records.</returns>
    Task<StoredRecord[]> ReadPageAsync(ulong? afterKey, int max);

    /// <summary>
    /// The writes after <paramref name="afterLsn"/> from the replica's in-memory log tail (see
    /// <see cref="VectorIndexSiloOptions.CatchUpTailBytes"/>), or else from its log on disk, which holds the writes after
    /// its current snapshot (so a peer that installed that snapshot catches up from it), for catching a lagging peer
    /// up without a copy.
    /// </summary>
    /// <param name="afterLsn">The peer's applied sequence number.</param>
    /// <param name="max">At most this many writes.</param>
    /// <returns>
    /// The writes in sequence order (empty when the peer is not behind), or null when neither the in-memory tail nor the
    /// log since the replica's current snapshot reaches back that far.
    /// </returns>
    Task<SequencedWrite[]?> ReadTailAsync(long afterLsn, int max);

    /// <summary>
    /// Pins a snapshot of the replica's state for a peer to copy: a new snapshot when writes arrived since the last one
    /// (so that the writes after it are few and in the replica's log tail), else the current one. The pin holds the
    /// files open until <see cref="CloseSnapshotAsync"/>, the replica's deactivation, or (once it went ten minutes without
    /// a read) the next pin.
    /// </summary>
    /// <returns>The snapshot, or null when the replica cannot be a source (it lost data, is being copied, or was fenced out or dropped).</returns>
    Task<SnapshotOffer?> OpenSnapshotAsync();

    /// <summary>Reads bytes of a pinned snapshot's file.</summary>
    /// <param name="snapshotId">The <see cref="SnapshotOffer.SnapshotId"/>.</param>
    /// <param name="file">The file's position in <see cref="SnapshotOffer.Files"/>.</param>
    /// <param name="offset">The offset in the file.</param>
    /// <param name="maxBytes">At most this many bytes (at least 1; capped at 16 MiB).</param>
    /// <returns>The bytes from <paramref name="offset"/>; empty at the end of the file.</returns>
    /// <exception cref="ReplicaUnavailableException">The snapshot is not pinned (any more) on this activation.</exception>
    Task<byte[]> ReadSnapshotChunkAsync(Guid snapshotId, int file, long offset, int maxBytes);

    /// <summary>Releases a pinned snapshot (nothing happens when it is not pinned).</summary>
    /// <param name="snapshotId">The <see cref="SnapshotOffer.SnapshotId"/>.</param>
    /// <returns>A task.</returns>
    Task CloseSnapshotAsync(Guid snapshotId);

    /// <summary>
    /// Starts copying <paramref name="source"/>'s snapshot to this replica and returns at once. The replica stops
    /// serving and refuses writes; in the background it pulls the snapshot's files in chunks of
    /// <see cref="VectorIndexSiloOptions.SnapshotChunkBytes"/>, checks their lengths and checksums, loads them, makes
    /// them its durable state (at the snapshot's sequence number) and asks the sequencer to sync, which catches it up from
    /// a log tail. A refused or failed copy leaves it waiting for the next one. Calling again with the same or a newer
    /// epoch while a copy runs lets that copy go on (under the newer epoch); a copy whose epoch the replica has since seen
    /// superseded, or that belongs to an earlier activation, is not installed.
    /// </summary>
    /// <param name="sequencerEpoch">The calling sequencer's epoch.</param>
    /// <param name="source">A current replica of the same shard.</param>
    /// <returns>The state (<see cref="ReplicaStatus.Copying"/>).</returns>
    /// <exception cref="ReplicaUnavailableException">The sequencer is stale, or the replica was fenced out or dropped.</exception>
    Task<ReplicaStatus> StartCopyAsync(long sequencerEpoch, IShardReplicaGrain source);

    /// <summary>
    /// Records a new sequencer epoch after the write in progress (if any): from then on the replica refuses calls of
    /// older epochs, including any still queued.
    /// </summary>
    /// <param name="sequencerEpoch">The calling sequencer's new epoch.</param>
    /// <returns>The state.</returns>
    /// <exception cref="ReplicaUnavailableException">The epoch is older than one the replica has seen, or the replica was fenced out or dropped.</exception>
    Task<ReplicaStatus> FenceAsync(long sequencerEpoch);

    /// <summary>Marks the replica caught up (the sequencer found it at the shard's last sequence number).</summary>
    /// <param name="sequencerEpoch">The calling sequencer's epoch.</param>
    /// <returns>The state.</returns>
    Task<ReplicaStatus> MarkReadyAsync(long sequencerEpoch);

    /// <summary>Drops the replica's records, log, snapshots and folder (its collection is being deleted) and deactivates it.</summary>
    /// <param name="sequencerEpoch">The calling sequencer's epoch.</param>
    /// <returns>A task.</returns>
    Task DropAsync(long sequencerEpoch);

    /// <summary>Folds the log into a new snapshot now.</summary>
    /// <returns>The state after the snapshot.</returns>
    Task<ReplicaStatus> CheckpointAsync();

    /// <summary>Deactivates the replica when it is idle (its next call activates it again, possibly on another silo).</summary>
    /// <returns>A task.</returns>
    Task DeactivateAsync();
}

/// <summary>
/// The query coordinator: a reentrant stateless worker on every silo that fans a query out to one replica of every
/// shard, fails over to another replica inside the deadline, merges by exact distance and reports the coverage.
/// </summary>
public interface IShardQueryGrain : IGrainWithIntegerKey
{
    /// <summary>Searches every shard of a collection.</summary>
    /// <param name="collection">The collection name.</param>
    /// <param name="vector">The query vector.</param>
    /// <param name="k">The number of hits, at least 1.</param>
    /// <param name="options">Per-shard ef, deadline, replica timeout, filters.</param>
    /// <returns>The merged hits and the coverage.</returns>
    /// <exception cref="ArgumentException">The vector has the wrong length or a NaN or infinity.</exception>
    /// <exception cref="ArgumentOutOfRangeException">k is less than 1.</exception>
    /// <exception cref="InvalidOperationException">The collection does not exist.</exception>
    Task<ShardedSearchResult> SearchAsync(string collection, float[] vector, int k, ShardedSearchOptions options);
}

/// <summary>The list of sharded collection names (one grain, key 0), kept in grain state.</summary>
public interface ICatalogGrain : IGrainWithIntegerKey
{
    /// <summary>Adds a name (nothing happens when it is listed already).</summary>
    /// <param name="name">The collection name.</param>
    /// <returns>A task.</returns>
    Task AddAsync(string name);

    /// <summary>Removes a name (nothing happens when it is not listed).</summary>
    /// <param name="name">The collection name.</param>
    /// <returns>A task.</returns>
    Task RemoveAsync(string name);

    /// <summary>The names, in ordinal order.</summary>
    /// <returns>The names.</returns>
    Task<string[]> ListAsync();
}
