using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace VectorIndex.Orleans.Grains;

[GenerateSerializer]
internal sealed class SequencerState
{
    /// <summary>One more on every activation; replicas refuse writes from a lower one.</summary>
    [Id(0)] public long Epoch { get; set; }

    /// <summary>The collection was deleted: writes are refused until the collection grain has a definition again.</summary>
    [Id(1)] public bool Deleted { get; set; }
}

/// <summary>
/// Orders a shard's writes. Not reentrant: one batch (or one catch-up) at a time, so sequence numbers are handed out
/// without gaps and a log-tail catch-up of a lagging replica sees no write in between. A replica that needs a copy pulls
/// a peer's snapshot in the background (<see cref="IShardReplicaGrain.StartCopyAsync"/>): this grain only starts it, and
/// writes go on meanwhile.
/// </summary>
[ReplicaPlacement]
internal sealed partial class ShardSequencerGrain(
    [PersistentState("sequencer", VectorIndexSiloOptions.StorageName)] IPersistentState<SequencerState> state,
    IOptions<VectorIndexSiloOptions> options,
    CollectionDefinitions definitions,
    ILogger<ShardSequencerGrain> logger)
    : Grain, IShardSequencerGrain
{
    private readonly VectorIndexSiloOptions _options = options.Value;
    private ShardedCollectionDefinition _definition = null!;
    private string _collection = "";
    private IShardReplicaGrain[] _replicas = [];
    private long _lastLsn = -1; // unknown until the replicas were asked
    private bool _needsSync = true;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        string key = this.GetPrimaryKeyString();
        int slash = key.LastIndexOf('/');
        string collection = _collection = key[..slash];
        int shard = int.Parse(key.AsSpan(slash + 1), System.Globalization.CultureInfo.InvariantCulture);
        _definition = await definitions.GetAsync(collection);
        _replicas = [.. Enumerable.Range(0, _definition.ReplicationFactor)
            .Select(r => GrainFactory.GetGrain<IShardReplicaGrain>(ShardRouting.ReplicaKey(collection, shard, r)))];
        state.State.Epoch++;
        await state.WriteStateAsync(cancellationToken);
    }

    public async Task<long> WriteAsync(ShardWrite[] writes)
    {
        ArgumentNullException.ThrowIfNull(writes);
        for (int i = 0; i < writes.Length; i++)
        {
            ArgumentNullException.ThrowIfNull(writes[i], nameof(writes));
            if (writes[i].Vector is { } vector)
            {
                Validation.CheckVector(vector, _definition, nameof(writes));
            }
        }

        if (state.State.Deleted)
        {
            // Deleted, then possibly re-created (with the same definition: see ICollectionGrain.CreateAsync).
            if (await GrainFactory.GetGrain<ICollectionGrain>(_collection).GetDefinitionAsync() is null)
            {
                throw new CollectionNotFoundException($"The collection '{_collection}' does not exist (it was deleted).");
            }

            state.State.Deleted = false;
            await state.WriteStateAsync();
        }

        if (_needsSync || _lastLsn < 0)
        {
            await SyncAsync();
        }

        if (_lastLsn < 0)
        {
            throw new WriteQuorumException(
                $"Shard '{this.GetPrimaryKeyString()}': too few replicas answered to know the shard's last sequence number ({_replicas.Length - _definition.EffectiveWriteQuorum + 1} that kept their data, or all, are needed); the write was not sent.");
        }

        if (writes.Any(w => w.OriginalKey is not null))
        {
            writes = await CheckOriginalKeysAsync(writes);
        }

        if (writes.Length == 0)
        {
            return _lastLsn;
        }

        var batch = new SequencedWrite[writes.Length];
        for (int i = 0; i < writes.Length; i++)
        {
            batch[i] = new SequencedWrite { Lsn = _lastLsn + 1 + i, Write = writes[i] };
        }

        long last = batch[^1].Lsn;
        _lastLsn = last; // the numbers are used even when the write fails: a replica may have logged them
        var calls = _replicas.Select(r => r.ApplyAsync(state.State.Epoch, batch).WaitAsync(_options.ReplicaCallTimeout)).ToArray();
        int acks = 0;
        Exception? failure = null;
        foreach (var call in calls)
        {
            try
            {
                var status = await call;
                if (status.AppliedLsn >= last)
                {
                    acks++;
                }
                else
                {
                    _needsSync = true; // behind: it is copied before the next write
                }
            }
            catch (Exception ex)
            {
                failure ??= ex;
                _needsSync = true;
            }
        }

        if (acks < _definition.EffectiveWriteQuorum)
        {
            throw new WriteQuorumException(
                $"Shard '{this.GetPrimaryKeyString()}': {acks} of {_replicas.Length} replicas flushed the write, {_definition.EffectiveWriteQuorum} needed; it is not acknowledged.",
                failure ?? new ReplicaUnavailableException("A replica is behind."));
        }

        return last;
    }

    // Checks the original keys of writes to hashed keys against the records their keys hold at the shard's last sequence
    // number (no write runs meanwhile: this grain is not reentrant), in batch order: an upsert over another original key
    // refuses the batch; a delete of another original key is dropped. Returns the writes to sequence.
    private async Task<ShardWrite[]> CheckOriginalKeysAsync(ShardWrite[] writes)
    {
        ulong[] keys = [.. writes.Where(w => w.OriginalKey is not null).Select(w => w.Key).Distinct()];
        var stored = await ReadCurrentAsync(keys);
        var current = new Dictionary<ulong, (bool Exists, string? Original)>(keys.Length);
        for (int i = 0; i < keys.Length; i++)
        {
            current[keys[i]] = stored[i] is { } record ? (true, HashedKeys.OriginalKeyOf(record.Payload)) : (false, null);
        }

        var kept = new List<ShardWrite>(writes.Length);
        foreach (var write in writes)
        {
            if (current.TryGetValue(write.Key, out var now))
            {
                if (write.OriginalKey is { } original)
                {
                    if (write.IsDelete)
                    {
                        if (!now.Exists || !string.Equals(now.Original, original, StringComparison.Ordinal))
                        {
                            continue; // the record this delete names does not exist
                        }
                    }
                    else if (now.Exists && !string.Equals(now.Original, original, StringComparison.Ordinal))
                    {
                        throw new KeyCollisionException(
                            $"The key '{original}' hashes to storage key {write.Key}, which holds the record of key '{now.Original ?? "(none)"}' (a 64-bit collision); nothing of the batch to shard '{this.GetPrimaryKeyString()}' was written.");
                    }
                }

                current[write.Key] = write.IsDelete ? (false, null) : (true, write.OriginalKey ?? HashedKeys.OriginalKeyOf(write.Payload));
            }

            kept.Add(write);
        }

        return kept.Count == writes.Length ? writes : [.. kept];
    }

    // The records of keys as a replica at the shard's last sequence number holds them.
    private async Task<StoredRecord?[]> ReadCurrentAsync(ulong[] keys)
    {
        Exception? failure = null;
        foreach (var replica in _replicas)
        {
            try
            {
                var status = await replica.GetStatusAsync().WaitAsync(_options.ReplicaCallTimeout);
                if (status.Ready && !status.NeedsCopy && status.AppliedLsn == _lastLsn)
                {
                    return await replica.GetManyAsync(keys).WaitAsync(_options.ReplicaCallTimeout);
                }
            }
            catch (Exception ex)
            {
                failure ??= ex;
            }
        }

        throw new WriteQuorumException(
            $"Shard '{this.GetPrimaryKeyString()}': no replica at sequence number {_lastLsn} could be read to check the writes' original keys; nothing was written.",
            failure ?? new ReplicaUnavailableException("No replica is current."));
    }

    public async Task DropAsync(ShardedCollectionDefinition definition)
    {
        ArgumentNullException.ThrowIfNull(definition);
        if (!state.State.Deleted)
        {
            state.State.Deleted = true;
            await state.WriteStateAsync();
        }

        try
        {
            long epoch = state.State.Epoch;
            await Task.WhenAll(_replicas.Select(r => r.DropAsync(epoch).WaitAsync(_options.ReplicaCallTimeout)));
        }
        catch (Exception ex) when (ex is not ReplicaUnavailableException)
        {
            throw new ReplicaUnavailableException($"Shard '{this.GetPrimaryKeyString()}': a replica did not drop its state; delete the collection again.", ex);
        }
        finally
        {
            _lastLsn = -1;
            _needsSync = true;
        }

        definitions.Evict(_collection);
        DeactivateOnIdle();
    }

    public async Task<ReplicaStatus?[]> SyncAsync()
    {
        var statuses = new ReplicaStatus?[_replicas.Length];
        for (int i = 0; i < _replicas.Length; i++)
        {
            statuses[i] = await TryAsync(_replicas[i].GetStatusAsync());
        }

        // A fresh activation (or one after a drop) does not know how far the shard got: it hands out no numbers until
        // enough replicas answered to include every acknowledged write, or numbers already logged would be reused.
        if (_lastLsn < 0 && !KnowsLastLsn(statuses, _definition.EffectiveWriteQuorum))
        {
            _needsSync = true;
            return statuses;
        }

        // Only replicas that did not lose data say how far the shard got: an empty replica that lost its folder must
        // not become the source of truth (sequence numbers would be handed out again).
        long max = statuses.Max(s => s is { NeedsCopy: false } ? s.AppliedLsn : -1);
        if (max < 0)
        {
            _needsSync = true;
            return statuses;
        }

        if (_lastLsn > max && statuses.All(x => x is not null))
        {
            // Every replica answered and none holds the numbers above max: they went to a batch that failed on every
            // replica before any logged it (its silos died, or it timed out everywhere). Handing out numbers after
            // them would leave a gap no replica can fill, and the shard would refuse every write until this grain is
            // re-activated; taking them back is safe once no late call can still log them: a new epoch, recorded by
            // every replica under its write gate, makes a replica refuse any call of the old one still queued.
            var fenced = await FenceAsync();
            if (fenced is not null)
            {
                statuses = fenced;
                max = statuses.Max(x => x is { NeedsCopy: false } ? x.AppliedLsn : -1);
                LogNumbersTakenBack(logger, this.GetPrimaryKeyString(), max + 1, _lastLsn);
                _lastLsn = max;
            }
        }

        _lastLsn = Math.Max(_lastLsn, max);

        // A source for catch-ups and copies: a replica at the last sequence number, preferably one already serving.
        int source = -1;
        for (int i = 0; i < statuses.Length; i++)
        {
            if (statuses[i] is { NeedsCopy: false, Copying: false } s && s.AppliedLsn == _lastLsn && (source < 0 || (s.Ready && !statuses[source]!.Ready)))
            {
                source = i;
            }
        }

        bool allCurrent = true;
        for (int i = 0; i < _replicas.Length; i++)
        {
            if (statuses[i] is not { } s)
            {
                allCurrent = false;
                continue;
            }

            if (s.AppliedLsn == _lastLsn && !s.NeedsCopy && !s.Copying)
            {
                if (!s.Ready)
                {
                    statuses[i] = await TryAsync(_replicas[i].MarkReadyAsync(state.State.Epoch));
                }
            }
            else if (source >= 0)
            {
                // Behind with its data: the source's log tail, when it reaches back far enough; else a snapshot copy,
                // which the replica pulls in the background (a copy already running goes on). Once installed, the
                // replica is behind with its data at the snapshot's sequence number and a later sync catches it up.
                statuses[i] = (s.NeedsCopy || s.Copying ? null : await CatchUpAsync(source, i, s.AppliedLsn)) ?? await StartCopyAsync(source, i);
            }

            allCurrent &= statuses[i] is { Ready: true } current && current.AppliedLsn == _lastLsn;
        }

        _needsSync = !allCurrent;
        return statuses;
    }

    /// <summary>
    /// Whether the replicas that answered (null: no answer) tell the shard's last acknowledged sequence number. An
    /// acknowledged write is in the logs of W replicas, so any R - W + 1 that kept their data include one holding it
    /// (with W = 1 and R = 2: both). A replica that lost data holds nothing; once every replica answered, waiting
    /// tells nothing more.
    /// </summary>
    internal static bool KnowsLastLsn(ReadOnlySpan<ReplicaStatus?> statuses, int writeQuorum)
    {
        int intact = 0;
        bool all = true;
        foreach (var status in statuses)
        {
            all &= status is not null;
            intact += status is { NeedsCopy: false } ? 1 : 0;
        }

        return all || intact >= statuses.Length - writeQuorum + 1;
    }

    // A new epoch, written to grain state and then recorded by every replica (each waits for its write in progress
    // first). Null when a replica did not answer: then nothing is known about what it may still log.
    private async Task<ReplicaStatus?[]?> FenceAsync()
    {
        state.State.Epoch++;
        await state.WriteStateAsync();
        var statuses = new ReplicaStatus?[_replicas.Length];
        for (int i = 0; i < _replicas.Length; i++)
        {
            statuses[i] = await TryAsync(_replicas[i].FenceAsync(state.State.Epoch));
            if (statuses[i] is null)
            {
                return null;
            }
        }

        return statuses;
    }

    // Sends a lagging replica the writes it missed, from a current replica's log tail (in memory, else its log on disk
    // since its last snapshot). Null when the tail does not reach back far enough or a call fails: the caller starts a
    // snapshot copy instead. No write runs meanwhile (this grain
    // is not reentrant), so the source stays at the last sequence number throughout.
    private async Task<ReplicaStatus?> CatchUpAsync(int source, int target, long applied)
    {
        long epoch = state.State.Epoch;
        try
        {
            while (applied < _lastLsn)
            {
                var tail = await _replicas[source].ReadTailAsync(applied, _options.CopyPageSize).WaitAsync(_options.ReplicaCallTimeout);
                if (tail is not { Length: > 0 })
                {
                    return null;
                }

                var status = await _replicas[target].CatchUpAsync(epoch, tail).WaitAsync(_options.ReplicaCallTimeout);
                if (status.AppliedLsn <= applied)
                {
                    return null; // it did not move (a gap: it went back meanwhile)
                }

                applied = status.AppliedLsn;
            }

            LogCaughtUp(logger, this.GetPrimaryKeyString(), target, source, _lastLsn);
            return await _replicas[target].MarkReadyAsync(epoch).WaitAsync(_options.ReplicaCallTimeout);
        }
        catch (Exception ex)
        {
            LogCopyFailed(logger, ex, this.GetPrimaryKeyString(), target);
            return null;
        }
    }

    // Has the target pull the source's snapshot in the background (or lets a copy it runs go on under this epoch) and
    // returns at once: the transfer and the load do not hold up this grain's writes.
    private async Task<ReplicaStatus?> StartCopyAsync(int source, int target)
    {
        try
        {
            var status = await _replicas[target].StartCopyAsync(state.State.Epoch, _replicas[source]).WaitAsync(_options.ReplicaCallTimeout);
            LogCopy(logger, this.GetPrimaryKeyString(), source, target, _lastLsn);
            return status;
        }
        catch (Exception ex)
        {
            LogCopyFailed(logger, ex, this.GetPrimaryKeyString(), target);
            return null;
        }
    }

    private async Task<ReplicaStatus?> TryAsync(Task<ReplicaStatus> call)
    {
        try
        {
            return await call.WaitAsync(_options.ReplicaCallTimeout);
        }
        catch (Exception ex)
        {
            LogReplicaFailed(logger, ex, this.GetPrimaryKeyString());
            return null;
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Shard {Shard}: replica {Target} copies replica {Source}'s snapshot (the shard at sequence number {Lsn})")]
    private static partial void LogCopy(ILogger logger, string shard, int source, int target, long lsn);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Shard {Shard}: sequence numbers {First} to {Last} were logged by no replica; taken back after a new epoch")]
    private static partial void LogNumbersTakenBack(ILogger logger, string shard, long first, long last);

    [LoggerMessage(Level = LogLevel.Information, Message = "Shard {Shard}: replica {Target} caught up from replica {Source}'s log tail to sequence number {Lsn}")]
    private static partial void LogCaughtUp(ILogger logger, string shard, int target, int source, long lsn);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Shard {Shard}: the copy to replica {Target} failed")]
    private static partial void LogCopyFailed(ILogger logger, Exception exception, string shard, int target);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Shard {Shard}: a replica did not answer")]
    private static partial void LogReplicaFailed(ILogger logger, Exception exception, string shard);
}
