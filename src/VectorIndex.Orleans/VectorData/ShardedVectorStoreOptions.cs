using Microsoft.Extensions.AI;

namespace VectorIndex.Orleans.VectorData;

/// <summary>Settings of a <see cref="ShardedVectorStore"/>: the layout of the collections it creates and the query defaults.</summary>
public sealed class ShardedVectorStoreOptions
{
    /// <summary>Shards of each new collection (see <see cref="ShardedCollectionDefinition.ShardCount"/>); default 8.</summary>
    public int ShardCount { get; init; } = 8;

    /// <summary>Replicas per shard of each new collection; default 1.</summary>
    public int ReplicationFactor { get; init; } = 1;

    /// <summary>Write quorum of each new collection (0: all replicas); default 0.</summary>
    public int WriteQuorum { get; init; }

    /// <summary>HNSW M of each shard index; default 16.</summary>
    public int HnswM { get; init; } = 16;

    /// <summary>HNSW build breadth of each shard index; default 200.</summary>
    public int HnswEfConstruction { get; init; } = 200;

    /// <summary>The per-shard search breadth when a search gives none; null for the index default (64).</summary>
    public int? HnswEfSearch { get; init; }

    /// <summary>The deadline of a search; default 5 s.</summary>
    public TimeSpan SearchDeadline { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// When false (the default), a search that some shard did not answer within the deadline throws
    /// <see cref="Microsoft.Extensions.VectorData.VectorStoreException"/> instead of returning a partial answer as if it
    /// were complete. When true, the partial answer is returned (MEVD has no place to report the coverage).
    /// </summary>
    public bool AllowPartialResults { get; init; }

    /// <summary>
    /// The embedding generator of vector properties that hold generator inputs (a <c>string</c>, for example) and have
    /// none of their own (on the property or the record definition): records are embedded on upsert and such inputs
    /// are embedded for search, on the client, as in the in-process connector. Null (the default) for none;
    /// <c>AddShardedVectorStore</c> then uses the container's <see cref="IEmbeddingGenerator"/>, if any.
    /// </summary>
    public IEmbeddingGenerator? EmbeddingGenerator { get; init; }

    internal ShardedVectorStoreOptions WithEmbeddingGenerator(IEmbeddingGenerator generator) => new()
    {
        ShardCount = ShardCount,
        ReplicationFactor = ReplicationFactor,
        WriteQuorum = WriteQuorum,
        HnswM = HnswM,
        HnswEfConstruction = HnswEfConstruction,
        HnswEfSearch = HnswEfSearch,
        SearchDeadline = SearchDeadline,
        AllowPartialResults = AllowPartialResults,
        EmbeddingGenerator = generator,
    };
}
