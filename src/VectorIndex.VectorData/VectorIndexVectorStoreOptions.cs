using Microsoft.Extensions.AI;

namespace VectorIndex.VectorData;

/// <summary>Options of a <see cref="VectorIndexVectorStore"/>.</summary>
public sealed class VectorIndexVectorStoreOptions
{
    /// <summary>Creates default options: in memory, no embedding generator.</summary>
    public VectorIndexVectorStoreOptions()
    {
    }

    /// <summary>Copies options.</summary>
    /// <param name="source">The options to copy.</param>
    public VectorIndexVectorStoreOptions(VectorIndexVectorStoreOptions source)
    {
        ArgumentNullException.ThrowIfNull(source);
        Directory = source.Directory;
        EmbeddingGenerator = source.EmbeddingGenerator;
        SnapshotThresholdBytes = source.SnapshotThresholdBytes;
        HnswM = source.HnswM;
        HnswEfConstruction = source.HnswEfConstruction;
        HnswEfSearch = source.HnswEfSearch;
    }

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

    /// <summary>
    /// HNSW links per node (<c>HnswOptions.M</c>, at least 2) for the graphs of collections created through this store;
    /// null for the core's default (16). A collection keeps the settings it was created with.
    /// </summary>
    public int? HnswM { get; init; }

    /// <summary>HNSW build breadth (<c>HnswOptions.EfConstruction</c>, at least 1) for collections created through this store; null for 200.</summary>
    public int? HnswEfConstruction { get; init; }

    /// <summary>HNSW search breadth (<c>HnswOptions.EfSearch</c>, at least 1; raised to top + skip when smaller) for collections created through this store; null for 64.</summary>
    public int? HnswEfSearch { get; init; }
}
