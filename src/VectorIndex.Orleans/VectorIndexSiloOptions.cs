namespace VectorIndex.Orleans;

/// <summary>The silo-side settings of sharded VectorIndex collections.</summary>
public sealed class VectorIndexSiloOptions
{
    /// <summary>The name of the grain storage provider that holds the catalog and the replicas' manifests.</summary>
    public const string StorageName = "VectorIndex";

    /// <summary>
    /// The folder under which every replica keeps its log and snapshots (<c>{DataPath}/{collection}/{shard}/r{replica}</c>).
    /// Silos may share it (a shared disk: a replica that moves to another silo finds its files) or each have their own
    /// (a replica that moves finds nothing and is copied from another replica). Required.
    /// </summary>
    public string DataPath { get; set; } = "";

    /// <summary>The log size in bytes above which a replica folds its log into a new snapshot; default 64 MiB.</summary>
    public long CheckpointLogBytes { get; set; } = 64L << 20;

    /// <summary>How long the sequencer waits for one replica's answer before counting it as failed; default 5 s.</summary>
    public TimeSpan ReplicaCallTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Writes per message of a log-tail catch-up; default 2,000.</summary>
    public int CopyPageSize { get; set; } = 2000;

    /// <summary>
    /// How many bytes of its latest writes (vectors, payloads and a small overhead each) a replica keeps in memory, so
    /// that a peer that comes back a few writes behind catches up by this log tail instead of a copy of every record;
    /// default 16 MiB; 0 keeps none. The tail holds only writes applied since the replica's activation (recovery
    /// included) and is dropped by a copy; past it, a peer catches up from the replica's log on disk, which holds the
    /// writes since its last snapshot.
    /// </summary>
    public long CatchUpTailBytes { get; set; } = 16L << 20;

    /// <summary>
    /// Bytes per message when a replica pulls a peer's snapshot files (a replica that lost its data, or whose gap the
    /// peer's log no longer covers); default 1 MiB; at most 16 MiB.
    /// </summary>
    public int SnapshotChunkBytes { get; set; } = 1 << 20;
}
