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

    // Coordinator keys a query may name: the client routes all calls of one grain through one gateway, so successive
    // attempts take successive keys to reach (most likely) other gateways. Each key has its own stateless-worker
    // activations per silo, so the set is kept small.
    private const int CoordinatorKeys = 8;

    // At most this many coordinators work on one query at a time (the first and its hedges).
    private const int MaxCoordinatorsInFlight = 3;

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

    /// <summary>Whether the collection exists (asks the cluster each time).</summary>
    /// <returns>True when it does.</returns>
    public async Task<bool> ExistsAsync()
    {
        _definition = await _grains.GetGrain<ICollectionGrain>(Name).GetDefinitionAsync().ConfigureAwait(false);
        return _definition is not null;
    }

    /// <summary>
    /// Deletes the collection and everything it holds; nothing happens when it does not exist. It stops existing at once
    /// (it leaves the catalog); then each shard's sequencer completes the writes it sequenced before, drops every replica's
    /// records and files, and refuses later writes (<see cref="InvalidOperationException"/>) until the collection is
    /// created again. When this completes, no record written before it was called remains, and a re-created collection
    /// starts empty. A write racing with the deletion is dropped with the collection, refused, or (when it reaches its
    /// shard after the collection was re-created) applied to the new collection. Other handles that cached the
    /// definition find out at their next write; a search through a silo that still caches it may answer empty or
    /// incomplete instead of throwing (and activate empty replicas, which leave empty replica folders behind).
    /// </summary>
    /// <returns>A task.</returns>
    /// <exception cref="ReplicaUnavailableException">A replica did not drop its state: the collection no longer exists, but cannot be re-created before a later call completes the deletion.</exception>
    public async Task DeleteCollectionAsync()
    {
        _definition = null;
        await _grains.GetGrain<ICollectionGrain>(Name).DeleteAsync().ConfigureAwait(false);
    }

    /// <summary>The definition, or null when the collection does not exist.</summary>
    /// <returns>The definition.</returns>
    public async Task<ShardedCollectionDefinition?> TryGetDefinitionAsync() =>
        _definition ??= await _grains.GetGrain<ICollectionGrain>(Name).GetDefinitionAsync().ConfigureAwait(false);

    private async Task<ShardedCollectionDefinition> DefinitionAsync() =>
        await TryGetDefinitionAsync().ConfigureAwait(false) ?? throw new CollectionNotFoundException($"The collection '{Name}' does not exist.");

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

    /// <summary>Reads several records, each from a serving replica of its shard (the shards in parallel).</summary>
    /// <param name="keys">The keys.</param>
    /// <returns>The records found, in the order of <paramref name="keys"/> (a key without a record is left out).</returns>
    /// <exception cref="ReplicaUnavailableException">No replica of some shard could serve.</exception>
    public async Task<IReadOnlyList<StoredRecord>> GetManyAsync(IEnumerable<ulong> keys)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var definition = await DefinitionAsync().ConfigureAwait(false);
        ulong[] all = [.. keys];
        var byShard = all.Distinct().GroupBy(k => ShardRouting.ShardOf(k, definition.ShardCount));
        var found = new Dictionary<ulong, StoredRecord>();
        var answers = await Task.WhenAll(byShard.Select(g => OnShardAsync(g.Key, definition, r => Replica(g.Key, r).GetManyAsync([.. g])))).ConfigureAwait(false);
        foreach (var record in answers.SelectMany(a => a))
        {
            if (record is not null)
            {
                found[record.Key] = record;
            }
        }

        return [.. all.Where(found.ContainsKey).Select(k => found[k])];
    }

    /// <summary>
    /// Scans every shard (one serving replica each, in parallel) for the records that pass a filter: each shard returns
    /// up to <see cref="ShardScan.Max"/> of its matching records, the first in key order.
    /// </summary>
    /// <param name="scan">The filter, the count per shard, the projection.</param>
    /// <returns>The records of every shard, in key order.</returns>
    /// <exception cref="ReplicaUnavailableException">No replica of some shard could serve.</exception>
    /// <exception cref="ArgumentException">The filter is malformed.</exception>
    public async Task<IReadOnlyList<StoredRecord>> ScanAsync(ShardScan scan)
    {
        ArgumentNullException.ThrowIfNull(scan);
        scan.Filter?.Validate();
        var definition = await DefinitionAsync().ConfigureAwait(false);
        var answers = await Task.WhenAll(Enumerable.Range(0, definition.ShardCount)
            .Select(shard => OnShardAsync(shard, definition, r => Replica(shard, r).ScanAsync(scan)))).ConfigureAwait(false);
        var merged = answers.SelectMany(a => a).ToList();
        merged.Sort(static (a, b) => a.Key.CompareTo(b.Key));
        return merged;
    }

    // Calls a shard's replicas in turn until one answers.
    private async Task<T> OnShardAsync<T>(int shard, ShardedCollectionDefinition definition, Func<int, Task<T>> call)
    {
        Exception? last = null;
        for (int r = 0; r < definition.ReplicationFactor; r++)
        {
            try
            {
                return await call(r).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not ArgumentException)
            {
                last = ex;
            }
        }

        throw new ReplicaUnavailableException($"No replica of shard {shard} of '{Name}' could serve the read.", last!);
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
    /// the shards that answered. Returns by the deadline (plus scheduling delays): when the query coordinator has not
    /// answered by half the deadline or twice <see cref="ShardedSearchOptions.ReplicaTimeout"/>, or fails, another coordinator is asked through (most likely) another gateway,
    /// and the first complete answer wins.
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
        // gateway: the call fails at once, or hangs when it was in flight at the crash). Hedged: the first attempt may
        // use the whole deadline; when it has not answered by half of it or by twice the replica timeout (a coordinator
        // waits that long only when a replica and its hedge both stall), another coordinator is asked beside it, and
        // so on at that pace (up to three at a time: a hedge may meet the same dead gateway); a failed attempt is
        // replaced at once. Each attempt names another coordinator key: the client sends all
        // calls of one grain through one gateway, so another key is most likely another gateway. The first complete
        // answer wins; at the deadline the most complete one obtained is returned, without any an empty one.
        var clock = System.Diagnostics.Stopwatch.StartNew();
        int key = Random.Shared.Next(CoordinatorKeys);
        var inFlight = new List<Task<ShardedSearchResult>>(MaxCoordinatorsInFlight);
        var hedgeAt = TimeSpan.Zero; // when a second coordinator is asked even without a failure
        ShardedSearchResult? best = null;
        try
        {
            while (true)
            {
                var remaining = options.Deadline - clock.Elapsed;
                if (remaining <= TimeSpan.Zero)
                {
                    break;
                }

                if (inFlight.Count == 0 || (clock.Elapsed >= hedgeAt && inFlight.Count < MaxCoordinatorsInFlight))
                {
                    if (remaining <= MinimumAttempt)
                    {
                        break;
                    }

                    var coordinatorDeadline = remaining - Min(remaining / 5, TimeSpan.FromMilliseconds(250));
                    var coordinator = _grains.GetGrain<IShardQueryGrain>(key++ % CoordinatorKeys);
                    inFlight.Add(coordinator.SearchAsync(Name, vector, k, options with { Deadline = coordinatorDeadline }));
                    hedgeAt = clock.Elapsed + Min(remaining / 2, 2 * options.ReplicaTimeout);
                    continue;
                }

                var untilHedge = hedgeAt - clock.Elapsed;
                var wait = inFlight.Count < MaxCoordinatorsInFlight && untilHedge < remaining ? untilHedge : remaining;
                var done = await Hedging.FirstOrNoneAsync(inFlight, wait).ConfigureAwait(false);
                if (done is null)
                {
                    continue; // the hedge time or the deadline came
                }

                inFlight.Remove(done);
                if (done.IsCompletedSuccessfully)
                {
                    var result = done.Result;
                    if (result.IsComplete)
                    {
                        return result;
                    }

                    if (best is null || result.ShardsAnswered > best.ShardsAnswered)
                    {
                        best = result;
                    }
                }
                else if (done.Exception?.InnerException is { } error and (ArgumentException or InvalidOperationException))
                {
                    System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(error); // the query itself is bad
                }
                else
                {
                    // The gateway or coordinator failed: the next attempt starts after a breath, not in a tight loop.
                    await Task.Delay(10).ConfigureAwait(false);
                    hedgeAt = TimeSpan.Zero;
                }
            }
        }
        finally
        {
            Hedging.Forget(inFlight);
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
