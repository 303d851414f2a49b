using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.VectorData;
using Microsoft.Extensions.VectorData.ProviderServices;
using VectorIndex.VectorData.Storage;

namespace VectorIndex.VectorData;

/// <summary>
/// A vector store backed by VectorIndex: in memory, or durable under <see cref="VectorIndexVectorStoreOptions.Directory"/>.
/// Stores opened on the same directory in one process share their collections. Every member is thread-safe.
/// </summary>
public sealed class VectorIndexVectorStore : VectorStore
{
    private readonly VectorIndexVectorStoreOptions _options;
    private readonly CollectionRegistry _registry;
    private readonly VectorStoreMetadata _metadata;
    private int _disposed;

    /// <summary>Creates a store.</summary>
    /// <param name="options">Options; null for an in-memory store without an embedding generator.</param>
    public VectorIndexVectorStore(VectorIndexVectorStoreOptions? options = null)
    {
        _options = options ?? new VectorIndexVectorStoreOptions();
        if (_options.SnapshotThresholdBytes < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(options), _options.SnapshotThresholdBytes, "SnapshotThresholdBytes must be positive.");
        }

        _registry = _options.Directory is null
            ? CollectionRegistry.CreateInMemory()
            : CollectionRegistry.Acquire(_options.Directory, _options.SnapshotThresholdBytes);
        _metadata = new VectorStoreMetadata { VectorStoreSystemName = CollectionRegistry.SystemName, VectorStoreName = _registry.Directory };
    }

    /// <inheritdoc/>
    [RequiresDynamicCode("Typed records are mapped by reflection over TRecord; use GetDynamicCollection for NativeAOT.")]
    [RequiresUnreferencedCode("Typed records are mapped by reflection over TRecord; use GetDynamicCollection for trimmed apps.")]
    public override VectorIndexCollection<TKey, TRecord> GetCollection<TKey, TRecord>(string name, VectorStoreCollectionDefinition? definition = null)
    {
        ThrowIfDisposed();
        if (typeof(TRecord) == typeof(Dictionary<string, object?>))
        {
            throw new NotSupportedException(VectorDataStrings.GetCollectionWithDictionaryNotSupported);
        }

        return new VectorIndexCollection<TKey, TRecord>(name, CollectionOptions(definition), _registry, _options.EmbeddingGenerator);
    }

    /// <inheritdoc/>
    public override VectorIndexDynamicCollection GetDynamicCollection(string name, VectorStoreCollectionDefinition definition)
    {
        ThrowIfDisposed();
        ArgumentNullException.ThrowIfNull(definition);
        return new VectorIndexDynamicCollection(name, CollectionOptions(definition), _registry, _options.EmbeddingGenerator);
    }

    /// <inheritdoc/>
    public override async IAsyncEnumerable<string> ListCollectionNamesAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        IReadOnlyList<string> names;
        try
        {
            names = _registry.Names();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw NewException($"VectorIndex failed to list the collections: {ex.Message}", "ListCollectionNames", ex);
        }

        foreach (string name in names)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return name;
        }

        await Task.CompletedTask.ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public override Task<bool> CollectionExistsAsync(string name, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ThrowIfDisposed();
        return Task.FromResult(_registry.Exists(name));
    }

    /// <inheritdoc/>
    public override Task EnsureCollectionDeletedAsync(string name, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ThrowIfDisposed();
        try
        {
            _registry.Delete(name);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw NewException($"VectorIndex failed to delete collection '{name}': {ex.Message}", "EnsureCollectionDeleted", ex);
        }

        return Task.CompletedTask;
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

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0 && disposing)
        {
            // Collections obtained from this store share its registry; the last store or collection on the directory
            // to go closes the files.
            _registry.Release();
        }

        base.Dispose(disposing);
    }

    private VectorIndexCollectionOptions CollectionOptions(VectorStoreCollectionDefinition? definition) => new()
    {
        Definition = definition,
        HnswM = _options.HnswM,
        HnswEfConstruction = _options.HnswEfConstruction,
        HnswEfSearch = _options.HnswEfSearch,
    };

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);

    private VectorStoreException NewException(string message, string operation, Exception inner) =>
        new(message, inner)
        {
            VectorStoreSystemName = CollectionRegistry.SystemName,
            VectorStoreName = _registry.Directory,
            OperationName = operation,
        };
}
