using Microsoft.Extensions.VectorData;

namespace VectorIndex.VectorData;

/// <summary>Options of a <see cref="VectorIndexCollection{TKey, TRecord}"/> made directly (not through a store).</summary>
public sealed class VectorIndexCollectionOptions : VectorStoreCollectionOptions
{
    /// <summary>Creates default options: in memory, the record type's attributes as the schema.</summary>
    public VectorIndexCollectionOptions()
    {
    }

    /// <summary>Copies options.</summary>
    /// <param name="source">The options to copy.</param>
    public VectorIndexCollectionOptions(VectorIndexCollectionOptions source)
        : base(source)
    {
        ArgumentNullException.ThrowIfNull(source);
        Directory = source.Directory;
        SnapshotThresholdBytes = source.SnapshotThresholdBytes;
        HnswM = source.HnswM;
        HnswEfConstruction = source.HnswEfConstruction;
        HnswEfSearch = source.HnswEfSearch;
    }

    /// <summary>
    /// Null (the default): in memory only. Otherwise the store directory: the collection lives in a folder under it,
    /// shared with any store opened on the same directory, and survives a restart or a crash.
    /// </summary>
    public string? Directory { get; init; }

    /// <summary>See <see cref="VectorIndexVectorStoreOptions.SnapshotThresholdBytes"/>.</summary>
    public long SnapshotThresholdBytes { get; init; } = VectorIndexVectorStoreOptions.DefaultSnapshotThresholdBytes;

    /// <summary>See <see cref="VectorIndexVectorStoreOptions.HnswM"/>; applies when this collection object creates the collection.</summary>
    public int? HnswM { get; init; }

    /// <summary>See <see cref="VectorIndexVectorStoreOptions.HnswEfConstruction"/>; applies when this collection object creates the collection.</summary>
    public int? HnswEfConstruction { get; init; }

    /// <summary>See <see cref="VectorIndexVectorStoreOptions.HnswEfSearch"/>; applies when this collection object creates the collection.</summary>
    public int? HnswEfSearch { get; init; }
}
