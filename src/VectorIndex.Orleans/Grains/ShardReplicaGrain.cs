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

    /// <summary>
    /// The replica lost data and no copy was installed since: it needs one even after the snapshot of its (empty or
    /// partial) state that its activation takes, which would otherwise look intact to the next activation.
    /// </summary>
    [Id(4)] public bool LostData { get; set; }
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

    // A pinned snapshot unused this long is released (its copier is gone).
    private static readonly TimeSpan PinIdleLimit = TimeSpan.FromMinutes(10);
    private const int MaxChunkBytes = 16 << 20;

    // Writes, snapshots and the install of a copied snapshot one at a time (the grain is reentrant so that searches run
    // during a flush, and snapshot chunks are served and pulled beside writes).
    private readonly SemaphoreSlim _writeGate = new(1, 1);
    private readonly Dictionary<Guid, Pin> _pins = [];
    private HnswOptions _hnswOptions = null!;
    private ReplicaStore? _store;
    private DurableDirectory? _directory;
    private string _folder = "";
    private bool _ready;
    private CopyJob? _copy;
    private bool _fenced;
    private bool _needsCopy;
    private long _caughtUpWrites;
    private long _copiedRecords;
    private long _copiedBytes;
    private long _refusedCopies;
    private bool _dropped;
    private string _collection = "";
    private int _shard;

    // Where the last read of the log on disk for a peer's catch-up ended, so that the next page starts there.
    private (long Generation, long Lsn, long Position) _logCursor = (-1, -1, 0);

    private bool Copying => _copy is not null;

    // A snapshot copy this replica runs (pulls from a source). Belongs to one activation.
    private sealed class CopyJob(long sequencerEpoch, IShardReplicaGrain source)
    {
        public long SequencerEpoch { get; set; } = sequencerEpoch;

        public IShardReplicaGrain Source { get; } = source;

        public CancellationTokenSource Cancel { get; } = new();
    }

    // A snapshot this replica pinned for a peer: its files held open (readable after a later snapshot deletes them).
    private sealed class Pin(SnapshotFile[] files, FileStream[] streams) : IDisposable
    {
        public SnapshotFile[] Files { get; } = files;

        public FileStream[] Streams { get; } = streams;

        public DateTime LastUsed { get; set; } = DateTime.UtcNow;

        public void Dispose()
        {
            foreach (var stream in Streams)
            {
                stream.Dispose();
            }
        }
    }

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        string key = this.GetPrimaryKeyString();
        if (!ShardRouting.TryParseReplicaKey(key, out string collection, out int shard, out int replica))
        {
            throw new InvalidOperationException($"'{key}' is not a shard replica key.");
        }

        _collection = collection;
        _shard = shard;
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
        _hnswOptions = definition.ToHnswOptions();
        _store = new ReplicaStore(_hnswOptions) { TailLimit = _options.CatchUpTailBytes };
        DeleteStagingFolders(); // of copies an earlier activation did not finish
        bool intact = OpenFolder() && !manifest.State.LostData;
        _needsCopy = !intact; // kept in grain state by the snapshot below
        await SnapshotAsync();

        // With one replica its own log holds every acknowledged write; with more, the sequencer confirms the replica
        // is current (or copies a current one to it) before it serves.
        _ready = definition.ReplicationFactor == 1 && intact;
        LogActivated(logger, key, manifest.State.Epoch, _store.AppliedLsn, _ready);
    }

    private string PreviousFolder => _folder + ".previous";

    // The folders beside this replica's named after it with a suffix: ".incoming-*" (staged copies), ".damaged-*" (refused).
    private List<string> SiblingFolders(string suffixPattern)
    {
        string parent = Path.GetDirectoryName(_folder)!;
        return Directory.Exists(parent) ? [.. Directory.EnumerateDirectories(parent, Path.GetFileName(_folder) + suffixPattern)] : [];
    }

    private void DeleteStagingFolders()
    {
        foreach (string folder in SiblingFolders(".incoming-*"))
        {
            TryDeleteFolder(folder);
        }
    }

    private static void TryDeleteFolder(string folder)
    {
        try
        {
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }
        }
        catch (IOException)
        {
            // best effort: a leftover staging folder is deleted at the next activation
        }
    }

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
        _copy?.Cancel.Cancel();
        foreach (var pin in _pins.Values)
        {
            pin.Dispose();
        }

        _pins.Clear();
        _directory?.Dispose();
        _store?.Dispose();
        return Task.CompletedTask;
    }

    private ReplicaStatus Status() => new()
    {
        AppliedLsn = _store!.AppliedLsn,
        Ready = _ready && !Copying && !_fenced,
        Epoch = manifest.State.Epoch,
        Count = _store.Count,
        Silo = RuntimeIdentity,
        Generation = _directory?.Generation ?? -1,
        NeedsCopy = _needsCopy,
        CaughtUpWrites = _caughtUpWrites,
        CopiedRecords = _copiedRecords,
        Copying = Copying,
        CopiedBytes = _copiedBytes,
        RefusedCopies = _refusedCopies,
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
            if (Copying || _needsCopy)
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
        if (!_ready || Copying || _fenced)
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
            return Copying || _needsCopy || _fenced || _dropped ? null : _store!.ReadTail(afterLsn, max) ?? ReadLogTail(afterLsn, max);
        }
        finally
        {
            _writeGate.Release();
        }
    }

    // The writes after afterLsn from the log on disk, which holds exactly the writes after the current snapshot (a peer
    // that installed that snapshot is at its sequence number); null when the log does not reach back that far (a newer
    // snapshot folded the writes the peer needs). Called under the write gate.
    private SequencedWrite[]? ReadLogTail(long afterLsn, int max)
    {
        if (afterLsn < manifest.State.SnapshotLsn)
        {
            return null;
        }

        long generation = _directory!.Generation;
        long position = _logCursor.Generation == generation && _logCursor.Lsn == afterLsn ? _logCursor.Position : WriteAheadLog.HeaderSize;
        var writes = new List<SequencedWrite>();
        long end = _directory.ReadLog(position, record =>
        {
            if (writes.Count >= max)
            {
                return false;
            }

            var write = ReplicaStore.Decode(record.Span);
            if (write.Lsn > afterLsn)
            {
                writes.Add(write);
            }

            return true;
        });

        for (int i = 0; i < writes.Count; i++)
        {
            if (writes[i].Lsn != afterLsn + 1 + i)
            {
                return null; // not contiguous from the peer's number: it cannot catch up from here
            }
        }

        if (writes.Count == 0)
        {
            return null;
        }

        _logCursor = (generation, writes[^1].Lsn, end);
        return [.. writes];
    }

    public async Task<SnapshotOffer?> OpenSnapshotAsync()
    {
        await _writeGate.WaitAsync();
        try
        {
            if (Copying || _needsCopy || _fenced || _dropped)
            {
                return null;
            }

            if (_store!.AppliedLsn != manifest.State.SnapshotLsn)
            {
                await SnapshotAsync(); // writes since the last snapshot: a new one, so the peer's catch-up after it is short
            }

            var now = DateTime.UtcNow;
            foreach (var (id, idle) in _pins.Where(p => now - p.Value.LastUsed > PinIdleLimit).ToList())
            {
                _pins.Remove(id);
                idle.Dispose();
            }

            var files = _directory!.SnapshotFiles;
            var streams = new List<FileStream>(files.Count);
            try
            {
                foreach (var file in files)
                {
                    streams.Add(_directory.OpenSnapshotFile(file.Name));
                }
            }
            catch
            {
                streams.ForEach(x => x.Dispose());
                throw;
            }

            var snapshotId = Guid.NewGuid();
            var pin = new Pin([.. files.Select(f => new SnapshotFile(f.Name, f.Length, f.Crc))], [.. streams]);
            _pins[snapshotId] = pin;
            return new SnapshotOffer { SnapshotId = snapshotId, Lsn = manifest.State.SnapshotLsn, Files = pin.Files };
        }
        finally
        {
            _writeGate.Release();
        }
    }

    public async Task<byte[]> ReadSnapshotChunkAsync(Guid snapshotId, int file, long offset, int maxBytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBytes, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        if (!_pins.TryGetValue(snapshotId, out var pin))
        {
            throw new ReplicaUnavailableException($"Replica '{this.GetPrimaryKeyString()}' has no pinned snapshot {snapshotId} (it was released, or the replica re-activated).");
        }

        ArgumentOutOfRangeException.ThrowIfNegative(file);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(file, pin.Files.Length);
        pin.LastUsed = DateTime.UtcNow;
        long left = pin.Files[file].Length - offset;
        if (left <= 0)
        {
            return [];
        }

        var buffer = new byte[(int)Math.Min(left, Math.Min(maxBytes, MaxChunkBytes))];
        int read = 0;
        while (read < buffer.Length)
        {
            // Positional reads: chunks of one pin may be read at once (the grain is reentrant).
            int n = await RandomAccess.ReadAsync(pin.Streams[file].SafeFileHandle, buffer.AsMemory(read), offset + read);
            if (n == 0)
            {
                break;
            }

            read += n;
        }

        return read == buffer.Length ? buffer : buffer[..read];
    }

    public Task CloseSnapshotAsync(Guid snapshotId)
    {
        if (_pins.Remove(snapshotId, out var pin))
        {
            pin.Dispose();
        }

        return Task.CompletedTask;
    }

    public async Task<ReplicaStatus> StartCopyAsync(long sequencerEpoch, IShardReplicaGrain source)
    {
        ArgumentNullException.ThrowIfNull(source);
        await _writeGate.WaitAsync();
        try
        {
            CheckSequencer(sequencerEpoch);
            if (_copy is { } running)
            {
                running.SequencerEpoch = sequencerEpoch; // the current sequencer lets the running copy go on
                return Status();
            }

            var job = new CopyJob(sequencerEpoch, source);
            _copy = job;
            _ready = false;
            LogCopyStarted(logger, this.GetPrimaryKeyString(), source.GetPrimaryKeyString(), sequencerEpoch);
            _ = RunCopyAsync(job); // on this activation's scheduler; its awaits leave the grain free for other calls
            return Status();
        }
        finally
        {
            _writeGate.Release();
        }
    }

    // Pulls the source's pinned snapshot into a staging folder chunk by chunk, checks every file's length and checksum
    // against the source's manifest, loads it (on the thread pool) into a new store, and installs it under the write gate
    // unless the copy went stale meanwhile (another copy replaced it, the activation is going away, or a newer sequencer
    // epoch was seen that did not take the copy over), then catches up from the source's log tail while full pages come.
    // Never throws: a failed copy leaves the replica waiting for the next one. Either way the sequencer is asked to sync,
    // so that it catches the replica up (the rest of the way) or starts a new copy.
    private async Task RunCopyAsync(CopyJob job)
    {
        var token = job.Cancel.Token;
        bool installed = false;
        string staging = _folder + ".incoming-" + Guid.NewGuid().ToString("N");
        SnapshotOffer? offer = null;
        ReplicaStore? incoming = null;
        try
        {
            // Not bounded by ReplicaCallTimeout: the source may take a snapshot first (as long as a save of its index);
            // the runtime's response timeout still ends a call to a dead silo.
            offer = await job.Source.OpenSnapshotAsync().WaitAsync(token)
                ?? throw new ReplicaUnavailableException("The source cannot give a snapshot (it lost data, is being copied, or was fenced out).");
            Directory.CreateDirectory(staging);
            for (int f = 0; f < offer.Files.Count; f++)
            {
                var file = offer.Files[f];
                await using var stream = new FileStream(DurableDirectory.ReceivedSnapshotPath(staging, file.Name), FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true);
                long offset = 0;
                while (offset < file.Length)
                {
                    var chunk = await job.Source.ReadSnapshotChunkAsync(offer.SnapshotId, f, offset, _options.SnapshotChunkBytes).WaitAsync(_options.ReplicaCallTimeout, token);
                    if (chunk.Length == 0)
                    {
                        break; // shorter than the manifest says: the check below refuses it
                    }

                    await stream.WriteAsync(chunk, token);
                    offset += chunk.Length;
                    _copiedBytes += chunk.Length;
                }
            }

            SnapshotFileInfo[] files = [.. offer.Files.Select(f => new SnapshotFileInfo(f.Name, f.Length, f.Crc))];
            var loading = incoming = new ReplicaStore(_hnswOptions) { TailLimit = _options.CatchUpTailBytes };
            try
            {
                await Task.Run(() => loading.LoadSnapshot(DurableDirectory.VerifyReceivedSnapshot(staging, files)), token);
                if (loading.AppliedLsn != offer.Lsn)
                {
                    throw new InvalidDataException($"The copied snapshot is at sequence number {loading.AppliedLsn}; the source offered {offer.Lsn}.");
                }
            }
            catch (InvalidDataException ex)
            {
                _refusedCopies++;
                LogCopyRefused(logger, ex, this.GetPrimaryKeyString());
                throw;
            }

            await _writeGate.WaitAsync(token);
            try
            {
                if (_copy != job || token.IsCancellationRequested || _fenced || _dropped || job.SequencerEpoch < manifest.State.SequencerEpoch)
                {
                    throw new ReplicaUnavailableException($"The copy to replica '{this.GetPrimaryKeyString()}' went stale (sequencer epoch {job.SequencerEpoch}, seen {manifest.State.SequencerEpoch}); not installed.");
                }

                // The grain state first: a stale activation fails this write (the storage's ETag) before it touches the
                // folder. A crash before the folder switch leaves a folder behind the state's sequence number, which the
                // next activation refuses (it waits for a copy).
                await WriteManifestAsync(_directory!.Generation + 1, offer.Lsn, lostData: false);

                // The copy of the previous generation belongs to the state the snapshot replaces: rebuilding from it and
                // the installed generation's log would skip the snapshot. Without it, a damaged installed snapshot makes
                // the replica wait for a copy; the next snapshot keeps this generation as the previous one.
                if (Directory.Exists(PreviousFolder))
                {
                    Directory.Delete(PreviousFolder, recursive: true);
                }

                _directory.InstallSnapshot(staging, files);
                var old = _store!;
                _store = incoming;
                incoming = null;
                old.Dispose();
                _logCursor = (-1, -1, 0);
                _needsCopy = false;
                _ready = false; // the sequencer catches it up from a log tail, then marks it ready
                _copy = null;
                _copiedRecords += _store.Count;
                installed = true;
            }
            finally
            {
                _writeGate.Release();
            }

            LogCopied(logger, this.GetPrimaryKeyString(), offer.Lsn, _store.Count, _copiedBytes);
            await CatchUpFromSourceAsync(job, token);
        }
        catch (Exception ex)
        {
            if (!token.IsCancellationRequested)
            {
                LogCopyFailed(logger, ex, this.GetPrimaryKeyString());
            }
        }
        finally
        {
            incoming?.Dispose();
            if (_copy == job)
            {
                _copy = null; // failed: the next sync starts a new copy
            }

            TryDeleteFolder(staging);
            if (offer is not null)
            {
                Hedging.Forget([job.Source.CloseSnapshotAsync(offer.SnapshotId)]);
            }

            if (!installed)
            {
                // Not at once: a copy that fails fast (its source just lost its data, say) is not retried in a loop.
                await Task.Delay(TimeSpan.FromSeconds(1), CancellationToken.None);
            }

            if (!token.IsCancellationRequested && !_dropped)
            {
                Hedging.Forget([GrainFactory.GetGrain<IShardSequencerGrain>(ShardRouting.SequencerKey(_collection, _shard)).SyncAsync()]);
            }

            job.Cancel.Dispose();
        }
    }

    // After an install: applies the source's log tail from the snapshot's sequence number on, page by page, while full
    // pages come, so that the sequencer's own catch-up (in its turn, while the shard's writes wait) covers only the writes
    // of the last round trip. Writes go through the write path (skipped when already applied, refused after a gap or
    // under a superseded epoch); anything that stops it leaves the rest to the sequencer.
    private async Task CatchUpFromSourceAsync(CopyJob job, CancellationToken token)
    {
        try
        {
            while (!token.IsCancellationRequested)
            {
                long applied = _store!.AppliedLsn;
                var tail = await job.Source.ReadTailAsync(applied, _options.CopyPageSize).WaitAsync(_options.ReplicaCallTimeout, token);
                if (tail is not { Length: > 0 })
                {
                    return;
                }

                var status = await ApplyAsync(job.SequencerEpoch, tail, catchUp: true);
                if (status.AppliedLsn <= applied || tail.Length < _options.CopyPageSize)
                {
                    return;
                }
            }
        }
        catch (Exception ex)
        {
            if (!token.IsCancellationRequested)
            {
                LogBackgroundCatchUpStopped(logger, ex, this.GetPrimaryKeyString());
            }
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
            _ready = !Copying && !_needsCopy; // a replica that lost data is made current only by a copy
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
            _copy?.Cancel.Cancel();
            _copy = null;
            _directory?.Dispose();
            _directory = null;
            _store!.Reset();
            foreach (string folder in new[] { _folder, PreviousFolder, PreviousFolder + ".tmp" }
                .Concat(SiblingFolders(".damaged-*")).Concat(SiblingFolders(".incoming-*")))
            {
                if (Directory.Exists(folder))
                {
                    Directory.Delete(folder, recursive: true);
                }
            }

            // The next activation starts empty: no folder, and a manifest that expects none.
            manifest.State.Generation = 0;
            manifest.State.LostData = false;
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
        await WriteManifestAsync(_directory.Generation, _store!.AppliedLsn, _needsCopy);
    }

    // Records a generation in grain state. A newer activation's state write makes this one fail on the storage's ETag:
    // this activation is then fenced out and stops serving.
    private async Task WriteManifestAsync(long generation, long snapshotLsn, bool lostData)
    {
        manifest.State.Generation = generation;
        manifest.State.SnapshotLsn = snapshotLsn;
        manifest.State.LostData = lostData;
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

    [LoggerMessage(Level = LogLevel.Information, Message = "Replica {Key} starts copying replica {Source}'s snapshot (sequencer epoch {Epoch})")]
    private static partial void LogCopyStarted(ILogger logger, string key, string source, long epoch);

    [LoggerMessage(Level = LogLevel.Information, Message = "Replica {Key} installed a copied snapshot at sequence number {Lsn}: {Count} records ({Bytes} bytes received by this activation)")]
    private static partial void LogCopied(ILogger logger, string key, long lsn, int count, long bytes);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Replica {Key} refused a copied snapshot")]
    private static partial void LogCopyRefused(ILogger logger, Exception exception, string key);

    [LoggerMessage(Level = LogLevel.Information, Message = "Replica {Key} stopped catching up from its copy's source; the sequencer catches it up")]
    private static partial void LogBackgroundCatchUpStopped(ILogger logger, Exception exception, string key);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The snapshot copy to replica {Key} failed; it waits for the next one")]
    private static partial void LogCopyFailed(ILogger logger, Exception exception, string key);

    [LoggerMessage(Level = LogLevel.Information, Message = "Replica {Key} activated: epoch {Epoch}, applied {Lsn}, ready {Ready}")]
    private static partial void LogActivated(ILogger logger, string key, long epoch, long lsn, bool ready);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Replica folder {Folder} is damaged; it is refused and moved to {Aside}")]
    private static partial void LogDamaged(ILogger logger, Exception exception, string folder, string aside);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Replica {Folder} rebuilt from the previous generation {Generation} and the newer log, at sequence number {Lsn}")]
    private static partial void LogRecovered(ILogger logger, string folder, long generation, long lsn);

    [LoggerMessage(Level = LogLevel.Error, Message = "Replica recovery from {Path} failed; the replica starts empty and waits for a copy from another replica")]
    private static partial void LogRecoveryFailed(ILogger logger, Exception exception, string path);
}
