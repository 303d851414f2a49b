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
internal sealed class ShardQueryGrain(CollectionDefinitions definitions) : Grain, IShardQueryGrain
{
    // A pause before trying the same replicas again, when all of a shard's replicas failed and the deadline is not reached.
    private static readonly TimeSpan RetryPause = TimeSpan.FromMilliseconds(100);

    private readonly ConcurrentDictionary<string, long> _lastSyncRequest = new(StringComparer.Ordinal);

    public async Task<ShardedSearchResult> SearchAsync(string collection, float[] vector, int k, ShardedSearchOptions options)
    {
        ArgumentNullException.ThrowIfNull(collection);
        ArgumentNullException.ThrowIfNull(vector);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        var clock = Stopwatch.StartNew();
        var definition = await definitions.GetAsync(collection);
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
        // Hedged: start at a random replica (spreads the load). A replica that fails sends the query to the next one at
        // once; one that is silent for ReplicaTimeout gets the next one asked beside it, and stays in the race (a slow
        // replica is never abandoned, so its live peer does not have to share its time). When every replica of a round
        // has failed, pause a little (one may be re-activating) and go round again, until the deadline.
        int next = replicas == 1 ? 0 : Random.Shared.Next(replicas);
        int launches = 0, launchedInRound = 0;
        var inFlight = new List<Task<ShardHit[]>>(replicas);
        var hedgeAt = TimeSpan.Zero; // when the next replica is asked even without a failure
        try
        {
            while (true)
            {
                var remaining = options.Deadline - clock.Elapsed;
                if (remaining <= TimeSpan.Zero)
                {
                    return (null, Math.Max(0, launches - 1));
                }

                if (inFlight.Count == 0 && launchedInRound == replicas)
                {
                    // Every replica of this round failed.
                    if (remaining <= RetryPause)
                    {
                        return (null, Math.Max(0, launches - 1));
                    }

                    await Task.Delay(RetryPause);
                    launchedInRound = 0;
                    continue;
                }

                if (launchedInRound < replicas && (inFlight.Count == 0 || clock.Elapsed >= hedgeAt))
                {
                    var grain = GrainFactory.GetGrain<IShardReplicaGrain>(ShardRouting.ReplicaKey(collection, shard, next));
                    next = (next + 1) % replicas;
                    launchedInRound++;
                    launches++;
                    inFlight.Add(grain.SearchAsync(query));
                    // The replicas not yet asked in this round and the one just asked share what is left equally when
                    // that is less than ReplicaTimeout: a retried query may arrive with little of its deadline left.
                    var share = remaining / (replicas - launchedInRound + 1);
                    hedgeAt = clock.Elapsed + (share < options.ReplicaTimeout ? share : options.ReplicaTimeout);
                    continue;
                }

                var untilHedge = hedgeAt - clock.Elapsed;
                var wait = launchedInRound < replicas && untilHedge < remaining ? untilHedge : remaining;
                var done = await Hedging.FirstOrNoneAsync(inFlight, wait);
                if (done is null)
                {
                    continue; // the hedge time or the deadline came
                }

                inFlight.Remove(done);
                if (done.IsCompletedSuccessfully)
                {
                    return (done.Result, launches - 1);
                }

                hedgeAt = TimeSpan.Zero; // a failure sends the query to the next replica at once
                if (done.Exception?.InnerException is ReplicaUnavailableException)
                {
                    RequestSync(collection, shard);
                }
            }
        }
        finally
        {
            Hedging.Forget(inFlight); // still running when the shard has its answer or the deadline came
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

        Hedging.Forget([GrainFactory.GetGrain<IShardSequencerGrain>(key).SyncAsync()]);
    }
}
