using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.VectorData;

namespace VectorIndex.Orleans.VectorData;

/// <summary>
/// A Microsoft.Extensions.VectorData store whose collections are sharded over an Orleans cluster, so code written
/// against <see cref="VectorStore"/> (for example over the in-process <c>VectorIndexVectorStore</c>) runs unchanged:
/// typed and dynamic collections, <c>ulong</c>, <c>long</c>, <c>int</c>, <see cref="Guid"/> and <c>string</c> keys,
/// filtered searches and reads, embedding generation, collection deletion (see
/// <see cref="ShardedVectorStoreCollection{TKey, TRecord}"/> for what differs).
/// </summary>
public sealed class ShardedVectorStore : VectorStore
{
    /// <summary>The system name reported in metadata and exceptions.</summary>
    public const string SystemName = "VectorIndex.Orleans";

    private readonly IGrainFactory _grains;
    private readonly ShardedVectorStoreOptions _options;
    private readonly VectorStoreMetadata _metadata = new() { VectorStoreSystemName = SystemName };

    /// <summary>Creates the store over a cluster.</summary>
    /// <param name="grains">The cluster client (or a silo's grain factory).</param>
    /// <param name="options">Layout of new collections and query defaults; null for the defaults.</param>
    public ShardedVectorStore(IGrainFactory grains, ShardedVectorStoreOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(grains);
        _grains = grains;
        _options = options ?? new ShardedVectorStoreOptions();
    }

    /// <inheritdoc/>
    [RequiresDynamicCode("Typed records are mapped by reflection over TRecord.")]
    [RequiresUnreferencedCode("Typed records are mapped by reflection over TRecord.")]
    public override ShardedVectorStoreCollection<TKey, TRecord> GetCollection<TKey, TRecord>(string name, VectorStoreCollectionDefinition? definition = null) =>
        new(_grains, name, _options, definition);

    /// <summary>
    /// A collection of dynamic records (<c>Dictionary&lt;string, object?&gt;</c>, keyed by property name) described by a
    /// record definition; it may open the same collection as a typed one. Filters read values as <c>r["Name"]</c>.
    /// </summary>
    /// <param name="name">The collection name.</param>
    /// <param name="definition">The record definition (its key type: ulong, long, int, Guid or string).</param>
    /// <returns>The collection.</returns>
    /// <exception cref="NotSupportedException">The key type, vector type or distance function is not supported.</exception>
    public override ShardedVectorStoreCollection<object, Dictionary<string, object?>> GetDynamicCollection(string name, VectorStoreCollectionDefinition definition)
    {
        ArgumentNullException.ThrowIfNull(definition);
        return new(_grains, name, _options, definition, dynamic: true);
    }

    /// <inheritdoc/>
    public override async IAsyncEnumerable<string> ListCollectionNamesAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        foreach (string name in await _grains.GetGrain<ICatalogGrain>(0).ListAsync().ConfigureAwait(false))
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return name;
        }
    }

    /// <inheritdoc/>
    public override async Task<bool> CollectionExistsAsync(string name, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        return await new ShardedCollection(_grains, name).ExistsAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// Deletes a collection and all its records on every shard (see <see cref="ShardedCollection.DeleteCollectionAsync"/>);
    /// nothing happens when it does not exist.
    /// </summary>
    /// <param name="name">The collection name.</param>
    /// <param name="cancellationToken">Unused: the deletion runs to its end in the cluster.</param>
    /// <returns>A task.</returns>
    /// <exception cref="VectorStoreException">A shard did not drop its state; call again.</exception>
    public override async Task EnsureCollectionDeletedAsync(string name, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        try
        {
            await new ShardedCollection(_grains, name).DeleteCollectionAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is ReplicaUnavailableException or TimeoutException or OrleansException)
        {
            throw new VectorStoreException($"Deleting sharded collection '{name}' failed: {ex.Message}", ex)
            {
                VectorStoreSystemName = SystemName,
                CollectionName = name,
                OperationName = "EnsureCollectionDeleted",
            };
        }
    }

    /// <inheritdoc/>
    public override object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        return serviceKey is not null ? null
            : serviceType == typeof(VectorStoreMetadata) ? _metadata
            : serviceType.IsInstanceOfType(this) ? this
            : null;
    }
}
