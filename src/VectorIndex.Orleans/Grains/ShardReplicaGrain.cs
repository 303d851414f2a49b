using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;
using Orleans.Storage;
using VectorIndex.Orleans.Replication;
using VectorIndex.VectorData.Durability;

namespace VectorIndex.Orleans.Grains;

/// <summary>The replica's manifest in grain state: small, written on activation and on every snapshot.</summary>
[GenerateSerializer]
internal sealed class ReplicaManifest
{
    /// <summary>One more on every activation: a stale activation's state write fails on the storage's ETag.</summary>
    [Id(0)] public long Epoch { get; set; }

    /// <summary>The snapshot generation of the durable folder at the last snapshot.</summary>
    [Id(1)] public long Generation { get; set; }

    /// <summary>The sequence number of the last snapshot.</summary>
    [Id(2)] public long SnapshotLsn { get; set; }

    /// <summary>The highest sequencer epoch the replica accepted.</summary>
    [Id(3)] public long SequencerEpoch { get; set; }
}

[Reentrant]
[ReplicaPlacement]
internal sealed partial class ShardReplicaGrain(
    [PersistentState("replica", VectorIndexSiloOptions.StorageName)] IPersistentState<ReplicaManifest> manifest,
    IOptions<VectorIndexSiloOptions> options,
    CollectionDefinitions definitions,
    ILogger<ShardReplicaGrain> logger)
    : Grain, IShardReplicaGrain
{
    private readonly VectorIndexSiloOptions _options = options.Value;

    // Writes, copies and snapshots one at a time (the grain is reentrant so that searches run during a flush).
    private readonly SemaphoreSlim _writeGate = new(1, 1);
    private ReplicaStore? _store;
    private DurableDirectory? _directory;
    private string _folder = "";
    private bool _ready;
    private bool _copying;
    private bool _fenced;
    private bool _needsCopy;
    private long _caughtUpWrites;
    private long _copiedRecords;
    private bool _dropped;
    private string _collection = "";

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        string key = this.GetPrimaryKeyString();
        if (!ShardRouting.TryParseReplicaKey(key, out string collection, out int shard, out int replica))
        {
            throw new InvalidOperationException($"'{key}' is not a shard replica key.");
        }

        _collection = collection;
        var definition = await definitions.GetAsync(collection);
        if (string.IsNullOrEmpty(_options.DataPath))
        {
            throw new InvalidOperationException("VectorIndexSiloOptions.DataPath is not set.");
        }

        // Fence: from this write on, a previous activation's state writes fail (ETag), and the snapshot below starts a
        // new log generation, so anything a previous activation still appends goes to a file no manifest names.
        manifest.State.Epoch++;
        await manifest.WriteStateAsync(cancellationToken);

        _folder = Path.Combine(_options.DataPath, Uri.EscapeDataString(collection), shard.ToString(CultureInfo.InvariantCulture), "r" + replica.ToString(CultureInfo.InvariantCulture));
        _store = new ReplicaStore(definition.ToHnswOptions()) { TailLimit = _options.CatchUpTailBytes };
        bool intact = OpenFolder();
        await SnapshotAsync();

        // With one replica its own log holds every acknowledged write; with more, the sequencer confirms the replica
        // is current (or copies a current one to it) before it serves.
        _ready = definition.ReplicationFactor == 1 && intact;
        _needsCopy = !intact;
        LogActivated(logger, key, manifest.State.Epoch, _store.AppliedLsn, _ready);
    }

    private string PreviousFolder => _folder + ".previous";

    // Opens the replica folder. When its newest snapshot (or manifest) is damaged, the folder is refused (moved aside)
    // and the state is rebuilt from the copy of the previous generation plus the newer log: the previous snapshot and a
    // longer log. Returns whether the state holds everything the replica acknowledged.
    private bool OpenFolder()
    {
        if (DurableDirectory.Exists(_folder))
        {
            try
            {
                _directory = DurableDirectory.Open(_folder, _store!);
                // A folder behind the last snapshot the grain state records lost data (an older copy was put back).
                return _store!.AppliedLsn >= manifest.State.SnapshotLsn;
            }
            catch (Exception ex) when (ex is InvalidDataException or IOException)
            {
                string aside = _folder + ".damaged-" + manifest.State.Epoch.ToString(CultureInfo.InvariantCulture);
                LogDamaged(logger, ex, _folder, aside);
                _store!.Reset();
                bool recovered = TryRecoverFromPrevious();
                Directory.Move(_folder, aside);
                _directory = DurableDirectory.Create(_folder, []);
                if (recovered)
                {
                    return _store.AppliedLsn >= manifest.State.SnapshotLsn;
                }

                _store.Reset(); // start empty: the sequencer copies another replica to this one before it serves
                return false;
            }
        }

        _directory = DurableDirectory.Create(_folder, []);
        return manifest.State.SnapshotLsn == 0 && manifest.State.Generation == 0;
    }

    private bool TryRecoverFromPrevious()
    {
        if (!DurableDirectory.Exists(PreviousFolder))
        {
            return false;
        }

        try
        {
            long generation;
            using (var previous = DurableDirectory.Open(PreviousFolder, _store!))
            {
                generation = previous.Generation;
            }

            // The log of the next generation continues where the previous one ended; replay it up to its first torn
            // or damaged record. A damaged record followed by others means acknowledged writes may be lost: not intact.
            string newer = DurableDirectory.LogPath(_folder, generation + 1);
            if (File.Exists(newer))
            {
                try
                {
                    using var log = WriteAheadLog.Open(newer, generation + 1, _store!.Replay);
                }
                catch (InvalidDataException ex)
                {
                    LogRecoveryFailed(logger, ex, newer);
                    return false;
                }
            }

            LogRecovered(logger, _folder, generation, _store!.AppliedLsn);
            return true;
        }
        catch (Exception ex) when (ex is InvalidDataException or IOException)
        {
            LogRecoveryFailed(logger, ex, PreviousFolder);
            _store!.Reset();
            return false;
        }
    }

    // Keeps a copy of the current generation (manifest, snapshot files, complete log) before a snapshot replaces it, so
    // that a damaged newest snapshot can be rebuilt from this one and the newer log. Written beside and renamed.
    private void KeepPreviousGeneration()
    {
        string temp = PreviousFolder + ".tmp";
        if (Directory.Exists(temp))
        {
            Directory.Delete(temp, recursive: true);
        }

        Directory.CreateDirectory(temp);
        foreach (string file in Directory.EnumerateFiles(_folder))
        {
            string name = Path.GetFileName(file);
            if (!name.EndsWith(".tmp", StringComparison.Ordinal))
            {
                File.Copy(file, Path.Combine(temp, name));
            }
        }

        if (Directory.Exists(PreviousFolder))
        {
            Directory.Delete(PreviousFolder, recursive: true);
        }

        Directory.Move(temp, PreviousFolder);
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        _directory?.Dispose();
        _store?.Dispose();
        return Task.CompletedTask;
    }

    private ReplicaStatus Status() => new()
    {
        AppliedLsn = _store!.AppliedLsn,
        Ready = _ready && !_copying && !_fenced,
        Epoch = manifest.State.Epoch,
        Count = _store.Count,
        Silo = RuntimeIdentity,
        Generation = _directory?.Generation ?? -1,
        NeedsCopy = _needsCopy,
        CaughtUpWrites = _caughtUpWrites,
        CopiedRecords = _copiedRecords,
    };

    public Task<ReplicaStatus> GetStatusAsync() => Task.FromResult(Status());

    private void CheckSequencer(long sequencerEpoch)
    {
        if (_dropped)
        {
            throw new ReplicaUnavailableException($"Replica '{this.GetPrimaryKeyString()}' was dropped with its collection.");
        }

        if (_fenced)
        {
            throw new ReplicaUnavailableException($"Replica '{this.GetPrimaryKeyString()}' was fenced out by a newer activation.");
        }

        if (sequencerEpoch < manifest.State.SequencerEpoch)
        {
            throw new ReplicaUnavailableException($"Replica '{this.GetPrimaryKeyString()}' refuses sequencer epoch {sequencerEpoch}: it has seen {manifest.State.SequencerEpoch}.");
        }

        manifest.State.SequencerEpoch = sequencerEpoch;
    }

    public Task<ReplicaStatus> ApplyAsync(long sequencerEpoch, SequencedWrite[] writes) => ApplyAsync(sequencerEpoch, writes, catchUp: false);

    public Task<ReplicaStatus> CatchUpAsync(long sequencerEpoch, SequencedWrite[] writes) => ApplyAsync(sequencerEpoch, writes, catchUp: true);

    private async Task<ReplicaStatus> ApplyAsync(long sequencerEpoch, SequencedWrite[] writes, bool catchUp)
    {
        ArgumentNullException.ThrowIfNull(writes);
        await _writeGate.WaitAsync();
        try
        {
            CheckSequencer(sequencerEpoch);
            if (_copying || _needsCopy)
            {
                throw new ReplicaUnavailableException($"Replica '{this.GetPrimaryKeyString()}' is being copied or waits for a copy.");
            }

            if (writes.Length == 0 || writes[0].Lsn > _store!.AppliedLsn + 1)
            {
                return Status(); // a gap (or nothing): the sequencer sees how far behind this replica is
            }

            DurableTicket ticket = default;
            foreach (var write in writes)
            {
                if (write.Lsn <= _store.AppliedLsn)
                {
                    continue;
                }

                // Logged first, then applied; acknowledged (below) only after the flush.
                ticket = _directory!.Append(ReplicaStore.Encode(write));
                _store.Apply(write);
                _caughtUpWrites += catchUp ? 1 : 0;
            }

            await DurableDirectory.WaitDurableAsync(ticket);
            if (_directory!.LogLength > _options.CheckpointLogBytes)
            {
                await SnapshotAsync();
            }

            return Status();
        }
        finally
        {
            _writeGate.Release();
        }
    }

    private void ThrowIfNotServing()
    {
        if (!_ready || _copying || _fenced)
        {
            throw new ReplicaUnavailableException($"Replica '{this.GetPrimaryKeyString()}' is not caught up (applied {_store?.AppliedLsn}).");
        }
    }

    public Task<ShardHit[]> SearchAsync(ShardQuery query)
    {
        ArgumentNullException.ThrowIfNull(query);
        ThrowIfNotServing();
        Func<ulong, bool>? filter = null;
        if (query.Filter is { } shardFilter)
        {
            var predicate = shardFilter.Compile();
            var store = _store!;
            filter = key => predicate(store.GetPayloadObject(key));
        }

        var searchOptions = new SearchOptions
        {
            Ef = query.Ef,
            AllowedKeys = query.AllowedKeys is null ? null : new HashSet<ulong>(query.AllowedKeys),
            MaxDistance = query.MaxDistance,
            Filter = filter,
        };
        var results = _store!.Index.Search(query.Vector, query.K, searchOptions);
        var hits = new ShardHit[results.Count];
        for (int i = 0; i < hits.Length; i++)
        {
            hits[i] = new ShardHit(results[i].Key, results[i].Distance);
        }

        return Task.FromResult(hits);
    }

    public Task<StoredRecord?> GetAsync(ulong key)
    {
        ThrowIfNotServing();
        return Task.FromResult(_store!.Get(key));
    }

    public Task<StoredRecord?[]> GetManyAsync(ulong[] keys)
    {
        ArgumentNullException.ThrowIfNull(keys);
        ThrowIfNotServing();
        var records = new StoredRecord?[keys.Length];
        for (int i = 0; i < keys.Length; i++)
        {
            records[i] = _store!.Get(keys[i]);
        }

        return Task.FromResult(records);
    }

    public Task<StoredRecord[]> ScanAsync(ShardScan scan)
    {
        ArgumentNullException.ThrowIfNull(scan);
        ArgumentOutOfRangeException.ThrowIfLessThan(scan.Max, 1, nameof(scan));
        ThrowIfNotServing();
        var predicate = scan.Filter?.Compile();
        var store = _store!;
        ulong[] keys = store.Index.GetKeys();
        Array.Sort(keys);
        var found = new List<StoredRecord>();
        foreach (ulong key in keys)
        {
            if (found.Count >= scan.Max)
            {
                break;
            }

            var payload = predicate is not null || scan.Fields is not null ? store.GetPayloadObject(key) : null;
            if (predicate is not null && !predicate(payload))
            {
                continue;
            }

            if (scan.Fields is { } fields)
            {
                var projected = new System.Text.Json.Nodes.JsonObject();
                foreach (string field in fields)
                {
                    if (payload is not null && payload.TryGetPropertyValue(field, out var value))
                    {
                        projected[field] = value?.DeepClone();
                    }
                }

                found.Add(new StoredRecord { Key = key, Vector = [], Payload = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(projected) });
            }
            else if (store.Get(key) is { } record)
            {
                found.Add(scan.IncludeVectors ? record : record with { Vector = [] });
            }
        }

        return Task.FromResult(found.ToArray());
    }

    public Task<StoredRecord[]> ReadPageAsync(ulong? afterKey, int max)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(max, 1);
        return Task.FromResult(_store!.ReadPage(afterKey, max).ToArray());
    }

    public async Task<SequencedWrite[]?> ReadTailAsync(long afterLsn, int max)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(max, 1);
        await _writeGate.WaitAsync(); // after a write's flush: the tail holds only durable writes
        try
        {
            return _copying || _needsCopy || _fenced || _dropped ? null : _store!.ReadTail(afterLsn, max);
        }
        finally
        {
            _writeGate.Release();
        }
    }

    public async Task BeginCopyAsync(long sequencerEpoch)
    {
        await _writeGate.WaitAsync();
        try
        {
            CheckSequencer(sequencerEpoch);
            _copying = true;
            _ready = false;
            _store!.Reset();
        }
        finally
        {
            _writeGate.Release();
        }
    }

    public async Task ApplyCopyAsync(long sequencerEpoch, StoredRecord[] records)
    {
        ArgumentNullException.ThrowIfNull(records);
        await _writeGate.WaitAsync();
        try
        {
            CheckSequencer(sequencerEpoch);
            if (!_copying)
            {
                throw new InvalidOperationException("No copy in progress.");
            }

            foreach (var record in records)
            {
                _store!.ApplyRecord(new ShardWrite { Key = record.Key, Vector = record.Vector, Payload = record.Payload });
            }

            _copiedRecords += records.Length;
        }
        finally
        {
            _writeGate.Release();
        }
    }

    public async Task<ReplicaStatus> EndCopyAsync(long sequencerEpoch, long lsn)
    {
        await _writeGate.WaitAsync();
        try
        {
            CheckSequencer(sequencerEpoch);
            if (!_copying)
            {
                throw new InvalidOperationException("No copy in progress.");
            }

            _store!.SetAppliedLsn(lsn);
            await SnapshotAsync(); // the copied state is durable before the replica serves or acknowledges
            _copying = false;
            _needsCopy = false;
            _ready = true;
            return Status();
        }
        finally
        {
            _writeGate.Release();
        }
    }

    public async Task<ReplicaStatus> FenceAsync(long sequencerEpoch)
    {
        await _writeGate.WaitAsync();
        try
        {
            CheckSequencer(sequencerEpoch);
            return Status();
        }
        finally
        {
            _writeGate.Release();
        }
    }

    public async Task<ReplicaStatus> MarkReadyAsync(long sequencerEpoch)
    {
        await _writeGate.WaitAsync();
        try
        {
            CheckSequencer(sequencerEpoch);
            _ready = !_copying && !_needsCopy; // a replica that lost data is made current only by a copy
            return Status();
        }
        finally
        {
            _writeGate.Release();
        }
    }

    public async Task DropAsync(long sequencerEpoch)
    {
        await _writeGate.WaitAsync();
        try
        {
            if (_dropped)
            {
                return;
            }

            CheckSequencer(sequencerEpoch);
            _dropped = true;
            _ready = false;
            _directory?.Dispose();
            _directory = null;
            _store!.Reset();
            string parent = Path.GetDirectoryName(_folder)!;
            foreach (string folder in new[] { _folder, PreviousFolder, PreviousFolder + ".tmp" }
                .Concat(Directory.Exists(parent) ? Directory.EnumerateDirectories(parent, Path.GetFileName(_folder) + ".damaged-*") : []))
            {
                if (Directory.Exists(folder))
                {
                    Directory.Delete(folder, recursive: true);
                }
            }

            // The next activation starts empty: no folder, and a manifest that expects none.
            manifest.State.Generation = 0;
            manifest.State.SnapshotLsn = 0;
            try
            {
                await manifest.WriteStateAsync();
            }
            catch (InconsistentStateException ex)
            {
                _fenced = true;
                throw new ReplicaUnavailableException($"Replica '{this.GetPrimaryKeyString()}' was fenced out by a newer activation.", ex);
            }

            definitions.Evict(_collection);
            DeactivateOnIdle();
        }
        finally
        {
            _writeGate.Release();
        }
    }

    public async Task<ReplicaStatus> CheckpointAsync()
    {
        await _writeGate.WaitAsync();
        try
        {
            if (_dropped)
            {
                throw new ReplicaUnavailableException($"Replica '{this.GetPrimaryKeyString()}' was dropped with its collection.");
            }

            await SnapshotAsync();
            return Status();
        }
        finally
        {
            _writeGate.Release();
        }
    }

    public Task DeactivateAsync()
    {
        DeactivateOnIdle();
        return Task.CompletedTask;
    }

    // Folds the log into a snapshot, then records it in grain state. A stale activation fails the state write (the
    // storage's ETag) and stops serving.
    private async Task SnapshotAsync()
    {
        KeepPreviousGeneration();
        _directory!.Checkpoint(_store!);
        manifest.State.Generation = _directory.Generation;
        manifest.State.SnapshotLsn = _store!.AppliedLsn;
        try
        {
            await manifest.WriteStateAsync();
        }
        catch (InconsistentStateException ex)
        {
            _fenced = true;
            DeactivateOnIdle();
            throw new ReplicaUnavailableException($"Replica '{this.GetPrimaryKeyString()}' was fenced out by a newer activation.", ex);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Replica {Key} activated: epoch {Epoch}, applied {Lsn}, ready {Ready}")]
    private static partial void LogActivated(ILogger logger, string key, long epoch, long lsn, bool ready);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Replica folder {Folder} is damaged; it is refused and moved to {Aside}")]
    private static partial void LogDamaged(ILogger logger, Exception exception, string folder, string aside);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Replica {Folder} rebuilt from the previous generation {Generation} and the newer log, at sequence number {Lsn}")]
    private static partial void LogRecovered(ILogger logger, string folder, long generation, long lsn);

    [LoggerMessage(Level = LogLevel.Error, Message = "Replica recovery from {Path} failed; the replica starts empty and waits for a copy from another replica")]
    private static partial void LogRecoveryFailed(ILogger logger, Exception exception, string path);
}
