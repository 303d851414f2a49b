using System.Linq.Expressions;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.VectorData;
using Microsoft.Extensions.VectorData.ProviderServices;

namespace VectorIndex.Orleans.VectorData;

/// <summary>
/// A Microsoft.Extensions.VectorData collection sharded over an Orleans cluster: keys <c>ulong</c>, <c>long</c>,
/// <c>int</c> (stored as they are), <see cref="Guid"/> or <c>string</c> (hashed to 64-bit storage keys by
/// <see cref="HashedKeys"/>, the original key kept in the payload property <see cref="HashedKeys.OriginalKeyProperty"/>,
/// so reads and searches return it; an upsert whose storage key holds another key's record throws
/// <see cref="KeyCollisionException"/> and writes nothing of the batch (a batch spanning shards is checked before it
/// is sent; only a colliding record written concurrently, between that check and the write, can let the other shards'
/// parts through, as with <see cref="WriteQuorumException"/>); Guid keys that are null or <see cref="Guid.Empty"/>
/// are generated and written back to the record); one vector property (<c>ReadOnlyMemory&lt;float&gt;</c>,
/// <c>float[]</c>, <c>Embedding&lt;float&gt;</c>, or generator inputs); data properties stored as JSON with the vector.
/// An operation on a collection that does not exist throws <see cref="VectorStoreException"/>. Searches go to every shard; by default a search some shard did not
/// answer throws <see cref="VectorStoreException"/> (see <see cref="ShardedVectorStoreOptions.AllowPartialResults"/>).
/// Search filters are evaluated inside each shard: comparisons of data properties with values, bool properties,
/// <c>Contains</c> on a collection property, <c>&amp;&amp;</c>, <c>||</c>, <c>!</c> (others throw
/// <see cref="NotSupportedException"/>). <see cref="EnsureCollectionDeletedAsync"/> drops every shard's records and
/// files. <c>GetAsync</c> with a filter reads the matching records of every shard (with <c>Skip</c> and <c>OrderBy</c>).
/// Embedding generation as in the in-process connector: a vector property that holds generator inputs (a
/// <c>string</c>, for example) with an <c>IEmbeddingGenerator</c> on the property, the record definition or
/// <see cref="ShardedVectorStoreOptions.EmbeddingGenerator"/> is embedded on the client on upsert, and search takes such
/// inputs; the inputs are not stored, so <c>IncludeVectors</c> throws <see cref="NotSupportedException"/> for such a
/// record type. Unlike in-process, a record whose input (or vector) is null is refused (every stored record has a
/// vector), and a record type with a vector property reading generated vectors gets them. Dynamic records
/// (<c>Dictionary&lt;string, object?&gt;</c>) come from <see cref="ShardedVectorStore.GetDynamicCollection"/>.
/// </summary>
/// <typeparam name="TKey">The key type.</typeparam>
/// <typeparam name="TRecord">The record type.</typeparam>
public sealed class ShardedVectorStoreCollection<TKey, TRecord> : VectorStoreCollection<TKey, TRecord>
    where TKey : notnull
    where TRecord : class
{
    private readonly ShardedCollection _collection;
    private readonly ShardedVectorStoreOptions _options;
    private readonly ShardedRecordMapper<TRecord> _mapper;
    private readonly VectorStoreCollectionMetadata _metadata;

    /// <summary>Creates a handle on a sharded collection (nothing is called until the first operation).</summary>
    /// <param name="grains">The cluster client.</param>
    /// <param name="name">The collection name.</param>
    /// <param name="options">Layout and query defaults; null for the defaults.</param>
    /// <param name="definition">The record definition, or null to read the record type's attributes.</param>
    /// <exception cref="NotSupportedException">The key type, vector type or distance function is not supported.</exception>
    public ShardedVectorStoreCollection(IGrainFactory grains, string name, ShardedVectorStoreOptions? options = null, VectorStoreCollectionDefinition? definition = null)
        : this(grains, name, options, definition, dynamic: false)
    {
    }

    internal ShardedVectorStoreCollection(IGrainFactory grains, string name, ShardedVectorStoreOptions? options, VectorStoreCollectionDefinition? definition, bool dynamic)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (!dynamic && typeof(TRecord) == typeof(Dictionary<string, object?>))
        {
            throw new NotSupportedException("Dictionary<string, object?> records are dynamic: use ShardedVectorStore.GetDynamicCollection.");
        }

        _collection = new ShardedCollection(grains, name);
        _options = options ?? new ShardedVectorStoreOptions();
        var model = dynamic
            ? new ShardedModelBuilder().BuildDynamic(definition ?? throw new ArgumentNullException(nameof(definition)), definition.EmbeddingGenerator ?? _options.EmbeddingGenerator)
            : new ShardedModelBuilder().Build(typeof(TRecord), typeof(TKey), definition, _options.EmbeddingGenerator);
        _mapper = new ShardedRecordMapper<TRecord>(model);
        _ = _mapper.Metric; // unsupported distance functions fail here, not at the first write
        Name = name;
        _metadata = new VectorStoreCollectionMetadata { VectorStoreSystemName = ShardedVectorStore.SystemName, CollectionName = name };
    }

    /// <inheritdoc/>
    public override string Name { get; }

    /// <summary>The underlying sharded collection (coverage-reporting searches, replica inspection).</summary>
    public ShardedCollection Collection => _collection;

    /// <inheritdoc/>
    public override Task<bool> CollectionExistsAsync(CancellationToken cancellationToken = default) => _collection.ExistsAsync();

    /// <inheritdoc/>
    public override Task EnsureCollectionExistsAsync(CancellationToken cancellationToken = default) =>
        _collection.CreateAsync(new ShardedCollectionDefinition
        {
            Dimensions = _mapper.Vector.Dimensions,
            Metric = _mapper.Metric,
            ShardCount = _options.ShardCount,
            ReplicationFactor = _options.ReplicationFactor,
            WriteQuorum = _options.WriteQuorum,
            M = _options.HnswM,
            EfConstruction = _options.HnswEfConstruction,
        });

    /// <summary>
    /// Deletes the collection and all its records on every shard (see <see cref="ShardedCollection.DeleteCollectionAsync"/> for
    /// what is guaranteed about writes in flight); nothing happens when it does not exist. A deleted name can be
    /// re-created only with the same layout (dimensions, metric, shard count, replication, HNSW parameters).
    /// </summary>
    /// <param name="cancellationToken">Unused: the deletion runs to its end in the cluster.</param>
    /// <returns>A task.</returns>
    /// <exception cref="VectorStoreException">A shard did not drop its state; call again.</exception>
    public override Task EnsureCollectionDeletedAsync(CancellationToken cancellationToken = default) =>
        Wrap("EnsureCollectionDeleted", async () =>
        {
            await _collection.DeleteCollectionAsync().ConfigureAwait(false);
            return true;
        });

    /// <inheritdoc/>
    public override async Task<TRecord?> GetAsync(TKey key, RecordRetrievalOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        bool includeVectors = _mapper.CheckIncludeVectors(options?.IncludeVectors ?? false);
        object normalized = _mapper.NormalizeKey(key, nameof(key));
        var stored = await Wrap("Get", () => _collection.GetAsync(ShardedRecordMapper<TRecord>.ToKey(normalized))).ConfigureAwait(false);
        return stored is null || !ShardedRecordMapper<TRecord>.IsRecordOf(stored, normalized) ? null : _mapper.ToRecord(stored, includeVectors);
    }

    /// <inheritdoc/>
    public override async IAsyncEnumerable<TRecord> GetAsync(IEnumerable<TKey> keys, RecordRetrievalOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keys);
        bool includeVectors = _mapper.CheckIncludeVectors(options?.IncludeVectors ?? false);
        var normalized = keys.Select(k => _mapper.NormalizeKey(k, nameof(keys))).ToList();
        var stored = await Wrap("Get", () => _collection.GetManyAsync(normalized.Select(ShardedRecordMapper<TRecord>.ToKey))).ConfigureAwait(false);
        var byKey = new Dictionary<ulong, StoredRecord>(stored.Count);
        foreach (var record in stored)
        {
            byKey[record.Key] = record;
        }

        foreach (object key in normalized)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (byKey.TryGetValue(ShardedRecordMapper<TRecord>.ToKey(key), out var record) && ShardedRecordMapper<TRecord>.IsRecordOf(record, key))
            {
                yield return _mapper.ToRecord(record, includeVectors);
            }
        }
    }

    /// <summary>
    /// Reads the records that pass a filter (the filters <c>SearchAsync</c> takes), evaluated inside every shard.
    /// Without <see cref="FilteredRecordRetrievalOptions{TRecord}.OrderBy"/>, records come in a stable order (by
    /// 64-bit storage key, not by insertion as in the in-process connector), so <c>Skip</c> pages through them; each
    /// shard returns at most <c>Skip + top</c>. With <c>OrderBy</c> (data properties or the key), every shard returns
    /// its matching records' sort values, which are ordered here as the in-process connector orders them
    /// (<see cref="Comparer{T}.Default"/> on the property values; ties by storage key), and the page's records are then read:
    /// a record deleted in between is left out.
    /// </summary>
    /// <param name="filter">The filter.</param>
    /// <param name="top">The most records to return, at least 1.</param>
    /// <param name="options">Skip, OrderBy, IncludeVectors; null for the defaults.</param>
    /// <param name="cancellationToken">Checked between records.</param>
    /// <returns>The records.</returns>
    /// <exception cref="NotSupportedException">The filter has a form sharded collections cannot evaluate.</exception>
    /// <exception cref="VectorStoreException">No replica of some shard answered.</exception>
    public override async IAsyncEnumerable<TRecord> GetAsync(
        Expression<Func<TRecord, bool>> filter, int top, FilteredRecordRetrievalOptions<TRecord>? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(filter);
        ArgumentOutOfRangeException.ThrowIfLessThan(top, 1);
        options ??= new FilteredRecordRetrievalOptions<TRecord>();
        if (options.Skip < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.Skip, "Skip must not be negative.");
        }

        bool includeVectors = _mapper.CheckIncludeVectors(options.IncludeVectors);
        var shardFilter = FilterTranslator.Translate(filter, _mapper.Model);
        var sorts = options.OrderBy?.Invoke(new FilteredRecordRetrievalOptions<TRecord>.OrderByDefinition()).Values
            .Select(s => (Property: _mapper.Model.GetDataOrKeyProperty(s.PropertySelector), s.Ascending)).ToList();
        int wanted = (int)Math.Min(int.MaxValue, (long)options.Skip + top);

        IEnumerable<StoredRecord> page;
        if (sorts is not { Count: > 0 })
        {
            var found = await Wrap("Get", () => _collection.ScanAsync(new ShardScan { Filter = shardFilter, Max = wanted, IncludeVectors = includeVectors })).ConfigureAwait(false);
            page = found.Skip(options.Skip).Take(top);
        }
        else
        {
            // Every match's sort values (and original key), ordered here with the values' own comparers, then the page read.
            var fields = sorts.Where(s => s.Property is DataPropertyModel).Select(s => s.Property.StorageName).ToList();
            if (_mapper.IsHashed)
            {
                fields.Add(HashedKeys.OriginalKeyProperty);
            }

            var projections = await Wrap("Get", () => _collection.ScanAsync(new ShardScan { Filter = shardFilter, Fields = fields })).ConfigureAwait(false);
            IOrderedEnumerable<StoredRecord>? sorted = null;
            foreach (var (property, ascending) in sorts)
            {
                Func<StoredRecord, object?> keyOf = SortValue(property);
                sorted = sorted is null
                    ? (ascending ? projections.OrderBy(keyOf, Comparer<object?>.Default) : projections.OrderByDescending(keyOf, Comparer<object?>.Default))
                    : (ascending ? sorted.ThenBy(keyOf, Comparer<object?>.Default) : sorted.ThenByDescending(keyOf, Comparer<object?>.Default));
            }

            var keys = sorted!.ThenBy(p => p.Key).Skip(options.Skip).Take(top).Select(p => p.Key).ToList();
            page = await Wrap("Get", () => _collection.GetManyAsync(keys)).ConfigureAwait(false);
        }

        foreach (var stored in page)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return _mapper.ToRecord(stored, includeVectors);
        }
    }

    private Func<StoredRecord, object?> SortValue(PropertyModel property) =>
        property is KeyPropertyModel
            ? _mapper.KeyOf
            : stored => stored.Payload is not null && JsonNode.Parse(stored.Payload) is JsonObject data
                && data.TryGetPropertyValue(property.StorageName, out var node) && node is not null
                    ? node.Deserialize(property.Type)
                    : null;

    /// <inheritdoc/>
    public override Task UpsertAsync(TRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        return UpsertAsync([record], cancellationToken);
    }

    /// <inheritdoc/>
    public override Task UpsertAsync(IEnumerable<TRecord> records, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(records);
        return Wrap("Upsert", async () =>
        {
            // Every record is mapped (embedded, checked) before anything is sent.
            var writes = await _mapper.ToWritesAsync([.. records], cancellationToken).ConfigureAwait(false);
            if (_mapper.IsHashed && writes.Count > 1)
            {
                await CheckCollisionsAsync(writes).ConfigureAwait(false);
            }

            await _collection.WriteAsync(writes).ConfigureAwait(false);
            return true;
        });
    }

    // A batch of hashed keys that spans shards is checked against the stored records before anything is sent: each
    // shard's sequencer refuses a collision in its own part, but the other shards' parts would be written.
    private async Task CheckCollisionsAsync(List<ShardWrite> writes)
    {
        if (await _collection.TryGetDefinitionAsync().ConfigureAwait(false) is not { } definition
            || writes.Select(w => ShardRouting.ShardOf(w.Key, definition.ShardCount)).Distinct().Take(2).Count() < 2)
        {
            return; // no collection (the write reports it) or one shard (its sequencer checks the whole part)
        }

        var originals = new Dictionary<ulong, string?>();
        foreach (var write in writes)
        {
            if (originals.TryGetValue(write.Key, out string? other) && !string.Equals(other, write.OriginalKey, StringComparison.Ordinal))
            {
                throw Collision(write, other);
            }

            originals[write.Key] = write.OriginalKey;
        }

        foreach (var stored in await _collection.GetManyAsync(originals.Keys).ConfigureAwait(false))
        {
            string? existing = HashedKeys.OriginalKeyOf(stored.Payload);
            if (!string.Equals(existing, originals[stored.Key], StringComparison.Ordinal))
            {
                throw Collision(writes.First(w => w.Key == stored.Key), existing);
            }
        }
    }

    private static KeyCollisionException Collision(ShardWrite write, string? existing) =>
        new($"The key '{write.OriginalKey}' hashes to storage key {write.Key}, which holds the record of key '{existing ?? "(none)"}' (a 64-bit collision); nothing of the batch was written.");

    /// <inheritdoc/>
    public override Task DeleteAsync(TKey key, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        return DeleteAsync([key], cancellationToken);
    }

    /// <inheritdoc/>
    public override Task DeleteAsync(IEnumerable<TKey> keys, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var writes = keys.Select(k => _mapper.ToDelete(k)).ToList();
        return Wrap("Delete", async () =>
        {
            await _collection.WriteAsync(writes).ConfigureAwait(false);
            return true;
        });
    }

    /// <inheritdoc/>
    public override async IAsyncEnumerable<VectorSearchResult<TRecord>> SearchAsync<TInput>(
        TInput searchValue, int top, VectorSearchOptions<TRecord>? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(searchValue);
        ArgumentOutOfRangeException.ThrowIfLessThan(top, 1);
        options ??= new VectorSearchOptions<TRecord>();
        var filter = options.Filter is null ? null : FilterTranslator.Translate(options.Filter, _mapper.Model);

        bool includeVectors = _mapper.CheckIncludeVectors(options.IncludeVectors);
        float[] vector = await _mapper.QueryVectorAsync(searchValue, cancellationToken).ConfigureAwait(false);

        ArgumentOutOfRangeException.ThrowIfNegative(options.Skip, nameof(options));
        int k = top + options.Skip;
        var result = await Wrap("Search", () => _collection.SearchAsync(vector, k, new ShardedSearchOptions
        {
            Ef = _options.HnswEfSearch is int ef ? Math.Max(ef, k) : null,
            Deadline = _options.SearchDeadline,
            Filter = filter,
        })).ConfigureAwait(false);

        if (!result.IsComplete && !_options.AllowPartialResults)
        {
            throw new VectorStoreException(
                $"Shards {string.Join(", ", result.MissingShards)} of '{Name}' did not answer within {_options.SearchDeadline.TotalSeconds} s: {result.ShardsAnswered} of {result.ShardCount} shards answered.")
            {
                VectorStoreSystemName = ShardedVectorStore.SystemName,
                CollectionName = Name,
                OperationName = "Search",
            };
        }

        // The hits within the threshold, then their records (each shard read once).
        var hits = result.Hits.Skip(options.Skip)
            .Select(hit => (hit.Key, Score: _mapper.ToScore(hit.Distance)))
            .Where(hit => options.ScoreThreshold is not double threshold || WithinThreshold(hit.Score, threshold))
            .ToList();
        var records = await Wrap("Search", () => _collection.GetManyAsync(hits.Select(h => h.Key))).ConfigureAwait(false);
        var byKey = records.ToDictionary(r => r.Key);
        foreach (var (key, score) in hits)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (byKey.TryGetValue(key, out var stored)) // else deleted since the search
            {
                yield return new VectorSearchResult<TRecord>(_mapper.ToRecord(stored, includeVectors), score);
            }
        }
    }

    private bool WithinThreshold(double score, double threshold) =>
        _mapper.Vector.DistanceFunction is null or DistanceFunction.CosineSimilarity or DistanceFunction.DotProductSimilarity
            ? score >= threshold
            : score <= threshold;

    /// <inheritdoc/>
    public override object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        return serviceKey is not null ? null
            : serviceType == typeof(VectorStoreCollectionMetadata) ? _metadata
            : serviceType.IsInstanceOfType(this) ? this
            : null;
    }

    // Cluster failures and a missing collection become VectorStoreException, as MEVD providers (the in-process one
    // too) report them; bad input and key collisions keep their own types.
    private async Task<T> Wrap<T>(string operation, Func<Task<T>> call)
    {
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is WriteQuorumException or ReplicaUnavailableException or CollectionNotFoundException or TimeoutException or OrleansException)
        {
            throw new VectorStoreException($"{operation} on sharded collection '{Name}' failed: {ex.Message}", ex)
            {
                VectorStoreSystemName = ShardedVectorStore.SystemName,
                CollectionName = Name,
                OperationName = operation,
            };
        }
    }
}
