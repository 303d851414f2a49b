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

    /// <summary>Records per message when a replica is copied to another; default 2,000.</summary>
    public int CopyPageSize { get; set; } = 2000;
}
