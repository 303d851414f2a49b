namespace VectorIndex.Orleans;

/// <summary>
/// A client's handle on a sharded collection: writes go to each key's shard sequencer, queries to the query
/// coordinator. Thread-safe; cheap to create.
/// </summary>
public sealed class ShardedCollection
{
    private readonly IGrainFactory _grains;
    private ShardedCollectionDefinition? _definition;

    /// <summary>Creates a handle; nothing is called until the first operation.</summary>
    /// <param name="grains">The cluster client or a silo's grain factory.</param>
    /// <param name="name">The collection name (not empty; '/' is allowed but not needed).</param>
    /// <exception cref="ArgumentException"><paramref name="name"/> is null or empty.</exception>
    public ShardedCollection(IGrainFactory grains, string name)
    {
        ArgumentNullException.ThrowIfNull(grains);
        ArgumentException.ThrowIfNullOrEmpty(name);
        _grains = grains;
        Name = name;
    }

    // An attempt shorter than this cannot get an answer through a coordinator.
    private static readonly TimeSpan MinimumAttempt = TimeSpan.FromMilliseconds(20);

    /// <summary>The collection name.</summary>
    public string Name { get; }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    /// <summary>Creates the collection (its shards' replicas are activated), or opens it when it exists with the same definition.</summary>
    /// <param name="definition">The layout, fixed for the life of the collection.</param>
    /// <returns>A task.</returns>
    /// <exception cref="ArgumentOutOfRangeException">A value of the definition is out of range.</exception>
    /// <exception cref="InvalidOperationException">The collection exists with a different definition.</exception>
    public async Task CreateAsync(ShardedCollectionDefinition definition)
    {
        ArgumentNullException.ThrowIfNull(definition);
        definition.Validate();
        _definition = await _grains.GetGrain<ICollectionGrain>(Name).CreateAsync(definition).ConfigureAwait(false);
    }

    /// <summary>Whether the collection exists.</summary>
    /// <returns>True when it does.</returns>
    public async Task<bool> ExistsAsync() => await TryGetDefinitionAsync().ConfigureAwait(false) is not null;

    /// <summary>The definition, or null when the collection does not exist.</summary>
    /// <returns>The definition.</returns>
    public async Task<ShardedCollectionDefinition?> TryGetDefinitionAsync() =>
        _definition ??= await _grains.GetGrain<ICollectionGrain>(Name).GetDefinitionAsync().ConfigureAwait(false);

    private async Task<ShardedCollectionDefinition> DefinitionAsync() =>
        await TryGetDefinitionAsync().ConfigureAwait(false) ?? throw new InvalidOperationException($"The collection '{Name}' does not exist.");

    /// <summary>
    /// Writes upserts and deletes. Each shard's part is sequenced and acknowledged by that shard as a unit; the shards
    /// are written in parallel. When this completes, every write is in the logs of the write quorum of its shard's replicas.
    /// </summary>
    /// <param name="writes">The writes; a key written twice takes its last write.</param>
    /// <returns>A task.</returns>
    /// <exception cref="ArgumentException">A vector is invalid (length, NaN, infinity, all zeros under cosine); nothing is written.</exception>
    /// <exception cref="WriteQuorumException">A shard's write quorum was not reached: that shard's part is not acknowledged (other shards' parts may be).</exception>
    /// <exception cref="InvalidOperationException">The collection does not exist.</exception>
    public async Task WriteAsync(IEnumerable<ShardWrite> writes)
    {
        ArgumentNullException.ThrowIfNull(writes);
        var definition = await DefinitionAsync().ConfigureAwait(false);
        var byShard = new Dictionary<int, List<ShardWrite>>();
        foreach (var write in writes)
        {
            ArgumentNullException.ThrowIfNull(write, nameof(writes));
            if (write.Vector is { } vector)
            {
                Validation.CheckVector(vector, definition, nameof(writes));
            }

            int shard = ShardRouting.ShardOf(write.Key, definition.ShardCount);
            if (!byShard.TryGetValue(shard, out var list))
            {
                byShard[shard] = list = [];
            }

            list.Add(write);
        }

        var calls = byShard.Select(p => _grains.GetGrain<IShardSequencerGrain>(ShardRouting.SequencerKey(Name, p.Key)).WriteAsync([.. p.Value]));
        await Task.WhenAll(calls).ConfigureAwait(false);
    }

    /// <summary>Upserts one vector (and an optional payload) under a key.</summary>
    /// <param name="key">The key.</param>
    /// <param name="vector">The vector.</param>
    /// <param name="payload">Bytes stored with it, or null.</param>
    /// <returns>A task.</returns>
    /// <exception cref="ArgumentException">The vector is invalid; nothing is written.</exception>
    /// <exception cref="WriteQuorumException">The write quorum was not reached; the write is not acknowledged.</exception>
    public Task UpsertAsync(ulong key, float[] vector, byte[]? payload = null)
    {
        ArgumentNullException.ThrowIfNull(vector);
        return WriteAsync([new ShardWrite { Key = key, Vector = vector, Payload = payload }]);
    }

    /// <summary>Deletes a key (nothing happens when it is absent).</summary>
    /// <param name="key">The key.</param>
    /// <returns>A task.</returns>
    /// <exception cref="WriteQuorumException">The write quorum was not reached; the delete is not acknowledged.</exception>
    public Task DeleteAsync(ulong key) => WriteAsync([new ShardWrite { Key = key }]);

    /// <summary>Reads a record from a serving replica of its shard.</summary>
    /// <param name="key">The key.</param>
    /// <returns>The record, or null when there is none.</returns>
    /// <exception cref="ReplicaUnavailableException">No replica of the shard could serve it.</exception>
    public async Task<StoredRecord?> GetAsync(ulong key)
    {
        var definition = await DefinitionAsync().ConfigureAwait(false);
        int shard = ShardRouting.ShardOf(key, definition.ShardCount);
        Exception? last = null;
        for (int r = 0; r < definition.ReplicationFactor; r++)
        {
            try
            {
                return await Replica(shard, r).GetAsync(key).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not ArgumentException)
            {
                last = ex;
            }
        }

        throw new ReplicaUnavailableException($"No replica of shard {shard} of '{Name}' could read key {key}.", last!);
    }

    /// <summary>A handle on one replica of one shard (for inspection and operations).</summary>
    /// <param name="shard">The shard number.</param>
    /// <param name="replica">The replica number.</param>
    /// <returns>The replica grain.</returns>
    public IShardReplicaGrain Replica(int shard, int replica) => _grains.GetGrain<IShardReplicaGrain>(ShardRouting.ReplicaKey(Name, shard, replica));

    /// <summary>A handle on a shard's sequencer.</summary>
    /// <param name="shard">The shard number.</param>
    /// <returns>The sequencer grain.</returns>
    public IShardSequencerGrain Sequencer(int shard) => _grains.GetGrain<IShardSequencerGrain>(ShardRouting.SequencerKey(Name, shard));

    /// <summary>
    /// Searches every shard for the k nearest vectors. The answer reports its coverage: when a shard had no replica
    /// answering within the deadline, <see cref="ShardedSearchResult.IsComplete"/> is false and the hits are the best of
    /// the shards that answered. Returns by the deadline (plus scheduling delays): a query coordinator that does not
    /// answer is retried through another gateway; the first attempt gets half the deadline.
    /// </summary>
    /// <param name="vector">The query.</param>
    /// <param name="k">The number of hits, at least 1.</param>
    /// <param name="options">Per-shard ef, deadline, filters; null for the defaults.</param>
    /// <returns>The hits and the coverage.</returns>
    /// <exception cref="ArgumentException">The vector has the wrong length or a NaN or infinity.</exception>
    /// <exception cref="ArgumentOutOfRangeException">k is less than 1.</exception>
    /// <exception cref="InvalidOperationException">The collection does not exist.</exception>
    public async Task<ShardedSearchResult> SearchAsync(float[] vector, int k, ShardedSearchOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(vector);
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        options ??= new ShardedSearchOptions();
        var definition = await DefinitionAsync().ConfigureAwait(false);
        Validation.CheckVector(vector, definition, nameof(vector));

        // The coordinator keeps the deadline. A coordinator may be unreachable (its silo died under this client's
        // gateway: the call fails at once, or hangs when it was in flight at the crash), so the first attempt gets half
        // of the time, and the attempts after it the rest; an attempt that fails at once is retried at once. The most
        // complete answer obtained by the deadline is returned; without any, an empty one with no coverage.
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var query = _grains.GetGrain<IShardQueryGrain>(0);
        ShardedSearchResult? best = null;
        for (int attempt = 0; ; attempt++)
        {
            var remaining = options.Deadline - clock.Elapsed;
            if (remaining <= MinimumAttempt)
            {
                break;
            }

            var budget = attempt == 0 ? remaining / 2 : remaining;
            var coordinatorDeadline = budget - Min(budget / 5, TimeSpan.FromMilliseconds(250));
            try
            {
                var result = await query.SearchAsync(Name, vector, k, options with { Deadline = coordinatorDeadline })
                    .WaitAsync(budget).ConfigureAwait(false);
                if (result.IsComplete)
                {
                    return result;
                }

                if (best is null || result.ShardsAnswered > best.ShardsAnswered)
                {
                    best = result;
                }
            }
            catch (Exception ex) when (ex is not (ArgumentException or InvalidOperationException))
            {
                // Timed out or the gateway failed: try again within the deadline.
                await Task.Delay(10).ConfigureAwait(false);
            }
        }

        if (best is not null)
        {
            return best;
        }

        return new ShardedSearchResult
        {
            Hits = [],
            ShardsAnswered = 0,
            ShardCount = definition.ShardCount,
            MissingShards = [.. Enumerable.Range(0, definition.ShardCount)],
        };
    }

    /// <summary>The number of records: the sum over shards of one serving replica's count.</summary>
    /// <returns>The count.</returns>
    /// <exception cref="ReplicaUnavailableException">A shard has no replica that answers.</exception>
    public async Task<long> CountAsync()
    {
        var definition = await DefinitionAsync().ConfigureAwait(false);
        var counts = await Task.WhenAll(Enumerable.Range(0, definition.ShardCount).Select(async shard =>
        {
            for (int r = 0; r < definition.ReplicationFactor; r++)
            {
                try
                {
                    var status = await Replica(shard, r).GetStatusAsync().ConfigureAwait(false);
                    if (status.Ready)
                    {
                        return (long)status.Count;
                    }
                }
                catch (Exception ex) when (ex is not ArgumentException)
                {
                    // try the next replica
                }
            }

            throw new ReplicaUnavailableException($"No replica of shard {shard} of '{Name}' is serving.");
        })).ConfigureAwait(false);
        return counts.Sum();
    }
}
