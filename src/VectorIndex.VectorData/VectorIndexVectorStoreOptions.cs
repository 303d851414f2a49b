using Microsoft.Extensions.AI;

namespace VectorIndex.VectorData;

/// <summary>Options of a <see cref="VectorIndexVectorStore"/>.</summary>
public sealed class VectorIndexVectorStoreOptions
{
    /// <summary>The default size of the write-ahead log, in bytes, past which a durable collection folds it into a snapshot.</summary>
    public const long DefaultSnapshotThresholdBytes = 64L << 20;

    /// <summary>
    /// Null (the default): collections live in memory only. Otherwise every collection lives in a folder under this
    /// directory and survives a restart or a crash: an upsert or delete that returned is on disk. Stores opened on the
    /// same directory in one process share the same collections.
    /// </summary>
    public string? Directory { get; init; }

    /// <summary>The embedding generator for vector properties that have none of their own (nor their definition or collection options).</summary>
    public IEmbeddingGenerator? EmbeddingGenerator { get; init; }

    /// <summary>
    /// The size of a durable collection's write-ahead log, in bytes, past which the log is folded into a snapshot (the
    /// first writer to see it does the work). Default <see cref="DefaultSnapshotThresholdBytes"/>. Applies to the
    /// first store or collection that opens the directory in this process.
    /// </summary>
    public long SnapshotThresholdBytes { get; init; } = DefaultSnapshotThresholdBytes;
}
