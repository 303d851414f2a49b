using Microsoft.Extensions.AI;
using Microsoft.Extensions.VectorData;
using Microsoft.Extensions.VectorData.ProviderServices;
using VectorIndex.VectorData.Filters;
using VectorIndex.VectorData.Model;
using VectorIndex.VectorData.Storage;

namespace VectorIndex.VectorData;

/// <summary>
/// A collection of records in VectorIndex: rows of their own (never the caller's objects), one HNSW (or, for
/// <see cref="IndexKind.Flat"/>, exact) index per vector property, LINQ filters with C# semantics, and, with a
/// directory, durability (see <see cref="VectorIndexVectorStoreOptions.Directory"/>). Every member is thread-safe.
/// </summary>
/// <typeparam name="TKey">The key type: <see cref="Guid"/>, <see cref="string"/>, <see cref="int"/>, <see cref="long"/> or <see cref="ulong"/> (<see cref="object"/> for dynamic records).</typeparam>
/// <typeparam name="TRecord">The record type.</typeparam>
public partial class VectorIndexCollection<TKey, TRecord> : VectorStoreCollection<TKey, TRecord>
    where TKey : notnull
    where TRecord : class
{
    private readonly CollectionRegistry _registry;
    private readonly bool _ownsRegistry;
    private readonly CollectionModel _model;
    private readonly CollectionSchema _schema;
    private readonly RecordMapper<TRecord> _mapper;
    private readonly VectorStoreCollectionMetadata _metadata;
    private readonly FilterCache _filters = new();
    private CollectionState? _boundState;
    private int _disposed;

    /// <summary>Creates a collection object (the collection itself is created by <see cref="EnsureCollectionExistsAsync"/>).</summary>
    /// <param name="name">The collection name.</param>
    /// <param name="options">Options; null for an in-memory collection described by the record type's attributes.</param>
    public VectorIndexCollection(string name, VectorIndexCollectionOptions? options = null)
        : this(name, options, registry: null, storeEmbeddingGenerator: null, dynamic: false)
    {
    }

    internal VectorIndexCollection(string name, VectorIndexCollectionOptions options, CollectionRegistry registry, IEmbeddingGenerator? storeEmbeddingGenerator)
        : this(name, options, registry, storeEmbeddingGenerator, dynamic: false)
    {
    }

    private protected VectorIndexCollection(
        string name, VectorIndexCollectionOptions? options, CollectionRegistry? registry, IEmbeddingGenerator? storeEmbeddingGenerator, bool dynamic)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (!dynamic && typeof(TRecord) == typeof(Dictionary<string, object?>))
        {
            throw new NotSupportedException(VectorDataStrings.NonDynamicCollectionWithDictionaryNotSupported(typeof(VectorIndexDynamicCollection)));
        }

        options ??= new VectorIndexCollectionOptions();
        Name = name;

        // Embedding generator precedence: property, definition, collection options, store options (or the DI container).
        var defaultGenerator = options.EmbeddingGenerator ?? storeEmbeddingGenerator;
        var builder = new VectorIndexModelBuilder();
        if (dynamic)
        {
            var definition = options.Definition
                ?? throw new ArgumentException("A dynamic collection needs a record definition.", nameof(options));
            _model = builder.BuildDynamic(definition, definition.EmbeddingGenerator ?? defaultGenerator);
        }
        else
        {
            _model = builder.Build(typeof(TRecord), typeof(TKey), options.Definition, defaultGenerator);
        }

        _schema = CollectionSchema.FromModel(_model, GraphSettingsOf(options));
        _mapper = new RecordMapper<TRecord>(_model, _schema);

        if (registry is null)
        {
            registry = options.Directory is null
                ? CollectionRegistry.CreateInMemory()
                : CollectionRegistry.Acquire(options.Directory, options.SnapshotThresholdBytes);
            _ownsRegistry = true;
        }

        _registry = registry;
        _metadata = new VectorStoreCollectionMetadata
        {
            VectorStoreSystemName = CollectionRegistry.SystemName,
            VectorStoreName = registry.Directory,
            CollectionName = name,
        };
    }

    /// <inheritdoc/>
    public override string Name { get; }

    private static GraphSettings GraphSettingsOf(VectorIndexCollectionOptions options)
    {
        var defaults = GraphSettings.Default;
        var graph = new GraphSettings(
            options.HnswM ?? defaults.M, options.HnswEfConstruction ?? defaults.EfConstruction, options.HnswEfSearch ?? defaults.EfSearch);
        if (graph.M < 2 || graph.EfConstruction < 1 || graph.EfSearch < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(options), graph,
                "HnswM must be at least 2, HnswEfConstruction and HnswEfSearch at least 1.");
        }

        return graph;
    }

    /// <summary>The options of the graph behind a vector property (tests and diagnostics); null for exact (Flat) indexes.</summary>
    internal HnswOptions? GraphOptions(string storageName) => State("Inspect").Slot(storageName).Hnsw?.Options;

    /// <inheritdoc/>
    public override Task<bool> CollectionExistsAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        return Task.FromResult(Guard("CollectionExists", () => _registry.Exists(Name)));
    }

    /// <inheritdoc/>
    public override Task EnsureCollectionExistsAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        var state = Guard("EnsureCollectionExists", () => _registry.GetOrCreate(Name, _schema));
        Bind(state);
        return Task.CompletedTask;
    }

    /// <inheritdoc/>
    public override Task EnsureCollectionDeletedAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        Guard("EnsureCollectionDeleted", () =>
        {
            _registry.Delete(Name);
            return true;
        });
        return Task.CompletedTask;
    }

    /// <inheritdoc/>
    public override object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        return serviceKey is not null ? null
            : serviceType == typeof(VectorStoreCollectionMetadata) ? _metadata
            : serviceType.IsInstanceOfType(this) ? this
            : null;
    }

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0 && disposing && _ownsRegistry)
        {
            _registry.Release();
        }

        base.Dispose(disposing);
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);

    /// <summary>The shared state of this collection, checked against this record type; throws when it does not exist.</summary>
    private CollectionState State(string operation)
    {
        ThrowIfDisposed();

        // The state this object last used, while it is open: no trip through the registry's lock per operation.
        if (Volatile.Read(ref _boundState) is { IsClosed: false } bound)
        {
            return bound;
        }

        var state = Guard(operation, () => _registry.TryGet(Name))
            ?? throw NewException($"Collection '{Name}' does not exist; call {nameof(EnsureCollectionExistsAsync)} first.", operation, null);
        Bind(state);
        return state;
    }

    private void Bind(CollectionState state)
    {
        if (ReferenceEquals(Volatile.Read(ref _boundState), state))
        {
            return;
        }

        state.Schema.CheckCompatible(_schema, Name);
        foreach (var data in _model.DataProperties)
        {
            if (data.IsIndexed)
            {
                state.EnsureInverted(data.StorageName);
            }
        }

        Volatile.Write(ref _boundState, state);
    }

    /// <summary>Enters the read side of the state's lock; a state deleted meanwhile becomes a <see cref="VectorStoreException"/>.</summary>
    private CollectionState.ReadScope BeginRead(CollectionState state, string operation) => Guard(operation, state.Read);

    /// <summary>Runs a store operation, wrapping storage failures (I/O, damaged files) in <see cref="VectorStoreException"/>.</summary>
    private T Guard<T>(string operation, Func<T> action)
    {
        try
        {
            return action();
        }
        catch (Exception ex) when (IsStoreFailure(ex))
        {
            throw NewException($"VectorIndex failed to {operation} on collection '{Name}': {ex.Message}", operation, ex);
        }
    }

    private async Task GuardAsync(string operation, Func<Task> action)
    {
        try
        {
            await action().ConfigureAwait(false);
        }
        catch (Exception ex) when (IsStoreFailure(ex))
        {
            throw NewException($"VectorIndex failed to {operation} on collection '{Name}': {ex.Message}", operation, ex);
        }
    }

    private static bool IsStoreFailure(Exception ex) =>
        ex is IOException or InvalidDataException or UnauthorizedAccessException
        || ex is CollectionClosedException;

    private VectorStoreException NewException(string message, string operation, Exception? inner) =>
        new(message, inner)
        {
            VectorStoreSystemName = CollectionRegistry.SystemName,
            VectorStoreName = _registry.Directory,
            CollectionName = Name,
            OperationName = operation,
        };
}
