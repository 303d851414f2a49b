using Microsoft.Extensions.AI;
using VectorIndex.VectorData.Storage;

namespace VectorIndex.VectorData;

/// <summary>
/// A collection of dynamic records (<c>Dictionary&lt;string, object?&gt;</c>, keyed by property name) described by a
/// record definition. It may open the same stored collection as a typed <see cref="VectorIndexCollection{TKey, TRecord}"/>.
/// </summary>
public sealed class VectorIndexDynamicCollection : VectorIndexCollection<object, Dictionary<string, object?>>
{
    /// <summary>Creates a dynamic collection object.</summary>
    /// <param name="name">The collection name.</param>
    /// <param name="options">Options; <see cref="Microsoft.Extensions.VectorData.VectorStoreCollectionOptions.Definition"/> is required.</param>
    public VectorIndexDynamicCollection(string name, VectorIndexCollectionOptions options)
        : base(name, options ?? throw new ArgumentNullException(nameof(options)), registry: null, storeEmbeddingGenerator: null, dynamic: true)
    {
    }

    internal VectorIndexDynamicCollection(string name, VectorIndexCollectionOptions options, CollectionRegistry registry, IEmbeddingGenerator? storeEmbeddingGenerator)
        : base(name, options, registry, storeEmbeddingGenerator, dynamic: true)
    {
    }
}
