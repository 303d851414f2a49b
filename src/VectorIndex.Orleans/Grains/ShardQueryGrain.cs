using System.Collections.Concurrent;
using System.Diagnostics;
using Orleans.Concurrency;

namespace VectorIndex.Orleans.Grains;

/// <summary>
/// The query coordinator. Stateless (an activation on every silo that receives queries, several under load) and
/// reentrant: a query waiting for a slow or dead shard must not hold up the others on this silo.
/// </summary>
[StatelessWorker]
[Reentrant]
internal sealed class ShardQueryGrain : Grain, IShardQueryGrain
{
    // A pause before trying the same replicas again, when all of a shard's replicas failed and the deadline is not reached.
    private static readonly TimeSpan RetryPause = TimeSpan.FromMilliseconds(100);

    private readonly ConcurrentDictionary<string, ShardedCollectionDefinition> _definitions = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _lastSyncRequest = new(StringComparer.Ordinal);

    public async Task<ShardedSearchResult> SearchAsync(string collection, float[] vector, int k, ShardedSearchOptions options)
    {
        ArgumentNullException.ThrowIfNull(collection);
        ArgumentNullException.ThrowIfNull(vector);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        var clock = Stopwatch.StartNew();
        var definition = await GetDefinitionAsync(collection);
        Validation.CheckVector(vector, definition, nameof(vector));

        options.Filter?.Validate();
        var query = new ShardQuery { Vector = vector, K = k, Ef = options.Ef, AllowedKeys = options.AllowedKeys, MaxDistance = options.MaxDistance, Filter = options.Filter };
        var shards = new Task<(ShardHit[]? Hits, int Failovers)>[definition.ShardCount];
        for (int s = 0; s < shards.Length; s++)
        {
            shards[s] = QueryShardAsync(collection, s, definition.ReplicationFactor, query, options, clock);
        }

        var answers = await Task.WhenAll(shards);
        var merged = new List<ShardHit>(k * answers.Length);
        var missing = new List<int>();
        int failovers = 0;
        for (int s = 0; s < answers.Length; s++)
        {
            failovers += answers[s].Failovers;
            if (answers[s].Hits is { } hits)
            {
                merged.AddRange(hits);
            }
            else
            {
                missing.Add(s);
            }
        }

        // Every shard returned its exact distances: the global top-k is the k nearest of the union.
        merged.Sort(static (a, b) => a.Distance != b.Distance ? a.Distance.CompareTo(b.Distance) : a.Key.CompareTo(b.Key));
        if (merged.Count > k)
        {
            merged.RemoveRange(k, merged.Count - k);
        }

        return new ShardedSearchResult
        {
            Hits = merged,
            ShardsAnswered = definition.ShardCount - missing.Count,
            ShardCount = definition.ShardCount,
            MissingShards = missing,
            Failovers = failovers,
        };
    }

    private async Task<(ShardHit[]?, int)> QueryShardAsync(string collection, int shard, int replicas, ShardQuery query, ShardedSearchOptions options, Stopwatch clock)
    {
        // Start at a random replica (spreads the load), then go round the others, again and again until the deadline.
        int first = replicas == 1 ? 0 : Random.Shared.Next(replicas);
        int failovers = 0;
        for (int attempt = 0; ; attempt++)
        {
            var remaining = options.Deadline - clock.Elapsed;
            if (remaining <= TimeSpan.Zero)
            {
                return (null, failovers);
            }

            if (attempt > 0 && attempt % replicas == 0)
            {
                // Every replica failed once: pause a little (a replica may be re-activating) if the deadline allows.
                if (remaining <= RetryPause)
                {
                    return (null, failovers);
                }

                await Task.Delay(RetryPause);
                remaining = options.Deadline - clock.Elapsed;
            }

            int replica = (first + attempt) % replicas;
            var grain = GrainFactory.GetGrain<IShardReplicaGrain>(ShardRouting.ReplicaKey(collection, shard, replica));
            // The replicas not tried in this round share what is left of the deadline: a dead first replica cannot
            // take the time its live peer needs (a retried query may arrive with half its deadline left).
            var share = remaining / (replicas - (attempt % replicas));
            var timeout = share < options.ReplicaTimeout ? share : options.ReplicaTimeout;
            try
            {
                var hits = await grain.SearchAsync(query).WaitAsync(timeout);
                return (hits, failovers);
            }
            catch (ReplicaUnavailableException)
            {
                RequestSync(collection, shard);
                failovers++;
            }
            catch (Exception)
            {
                // Timed out, silo unreachable, activation failed: any failure of this replica sends the query to another.
                failovers++;
            }
        }
    }

    // A replica that is not caught up waits for its sequencer; ask it (at most once a second per shard) to catch it up.
    private void RequestSync(string collection, int shard)
    {
        string key = ShardRouting.SequencerKey(collection, shard);
        long now = Environment.TickCount64;
        long last = _lastSyncRequest.GetOrAdd(key, 0);
        if (now - last < 1000 || !_lastSyncRequest.TryUpdate(key, now, last))
        {
            return;
        }

        _ = GrainFactory.GetGrain<IShardSequencerGrain>(key).SyncAsync().ContinueWith(
            static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
    }

    private async Task<ShardedCollectionDefinition> GetDefinitionAsync(string collection)
    {
        if (_definitions.TryGetValue(collection, out var definition))
        {
            return definition;
        }

        definition = await GrainFactory.GetGrain<ICollectionGrain>(collection).GetDefinitionAsync()
            ?? throw new InvalidOperationException($"The collection '{collection}' does not exist.");
        return _definitions.GetOrAdd(collection, definition); // a definition never changes: caching it is safe
    }
}
