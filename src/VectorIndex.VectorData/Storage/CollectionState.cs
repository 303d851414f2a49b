using System.Text;
using VectorIndex.VectorData.Durability;

namespace VectorIndex.VectorData.Storage;

/// <summary>
/// The data of one collection, shared by every collection object (typed or dynamic) and every store that opens it:
/// rows by id, ids by key, one vector index per vector property, inverted indexes for indexed data properties, and,
/// for a durable collection, its <see cref="DurableDirectory"/>.
/// </summary>
/// <remarks>
/// Concurrency: one <see cref="ReaderWriterLockSlim"/>. Readers (get, search, filtered get) hold the read side for the
/// whole lookup, so the dictionaries, inverted indexes and the allowed-key sets handed to the vector index never change
/// under them. Writers hold the write side while they append their log record and apply it, so the log order is the
/// order in which changes become visible, and replay rebuilds exactly the state readers saw. The wait for the disk
/// (group commit) happens after the lock is released. A checkpoint holds the read side: readers go on, writers wait.
/// Rows are immutable, so a row taken under the lock may be used after it.
/// </remarks>
internal sealed class CollectionState : IDurableState, IDisposable
{
    private readonly ReaderWriterLockSlim _lock = new(LockRecursionPolicy.NoRecursion);
    private readonly Dictionary<ulong, Row> _rows = [];
    private readonly Dictionary<object, ulong> _ids = [];
    private readonly Dictionary<string, VectorSlot> _slots = [];
    private readonly Dictionary<string, InvertedIndex> _inverted = [];
    private readonly long _snapshotThreshold;
    private DurableDirectory? _durable;
    private ulong _nextId;
    private int _checkpointing;
    private bool _disposed;

    private CollectionState(string name, CollectionSchema schema, long snapshotThreshold)
    {
        Name = name;
        Schema = schema;
        _snapshotThreshold = snapshotThreshold;
    }

    public string Name { get; }

    /// <summary>Whether the state was deleted or closed (then collection objects look their collection up again).</summary>
    public bool IsClosed => Volatile.Read(ref _disposed);

    public CollectionSchema Schema { get; }

    /// <summary>The folder of a durable collection, else null.</summary>
    public string? Folder => _durable?.Folder;

    public static CollectionState CreateInMemory(string name, CollectionSchema schema)
    {
        var state = new CollectionState(name, schema, long.MaxValue);
        state.CreateSlots(loaded: null);
        return state;
    }

    public static CollectionState CreateDurable(string name, CollectionSchema schema, string folder, long snapshotThreshold)
    {
        var state = new CollectionState(name, schema, snapshotThreshold);
        state.CreateSlots(loaded: null);
        state._durable = DurableDirectory.Create(folder, schema.Serialize());
        return state;
    }

    public static CollectionState OpenDurable(string name, string folder, long snapshotThreshold)
    {
        var schema = CollectionSchema.Deserialize(DurableDirectory.ReadMetadata(folder), Path.Combine(folder, "MANIFEST"));
        var state = new CollectionState(name, schema, snapshotThreshold);
        try
        {
            // Empty indexes for a log without a snapshot; LoadSnapshot replaces them when there is one.
            state.CreateSlots(loaded: null);
            state._durable = DurableDirectory.Open(folder, state);
            return state;
        }
        catch
        {
            state.Dispose();
            throw;
        }
    }

    private void CreateSlots(Dictionary<string, HnswIndex>? loaded)
    {
        foreach (var spec in Schema.Vectors)
        {
            HnswIndex? graph = null;
            loaded?.TryGetValue(spec.StorageName, out graph);
            _slots[spec.StorageName] = new VectorSlot(spec, Schema.Graph, graph);
        }
    }

    public VectorSlot Slot(string storageName) => _slots[storageName];

    // ---- reads (callers hold the read side) ----

    public ReadScope Read()
    {
        _lock.EnterReadLock();
        try
        {
            ThrowIfDisposed();
        }
        catch
        {
            _lock.ExitReadLock();
            throw;
        }

        return new ReadScope(_lock);
    }

    private void ThrowIfDisposed()
    {
        if (_disposed)
        {
            throw new CollectionClosedException(Name);
        }
    }

    public bool TryGetRow(ulong id, out Row row) => _rows.TryGetValue(id, out row!);

    public Row? GetRow(object key) => _ids.TryGetValue(key, out ulong id) ? _rows[id] : null;

    public IEnumerable<Row> Rows => _rows.Values;

    public int Count => _rows.Count;

    /// <summary>The inverted index of a data property, when one was asked for.</summary>
    public InvertedIndex? Inverted(string storageName) => _inverted.GetValueOrDefault(storageName);

    /// <summary>Starts keeping an inverted index for a data property (a record type marked it IsIndexed).</summary>
    public void EnsureInverted(string storageName)
    {
        _lock.EnterReadLock();
        try
        {
            if (_inverted.ContainsKey(storageName))
            {
                return;
            }
        }
        finally
        {
            _lock.ExitReadLock();
        }

        _lock.EnterWriteLock();
        try
        {
            if (!_inverted.ContainsKey(storageName))
            {
                var index = new InvertedIndex(storageName);
                foreach (var row in _rows.Values)
                {
                    index.Add(row);
                }

                _inverted[storageName] = index;
            }
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }

    // ---- writes ----

    /// <summary>Gives each pending row an id (its key's, or a new one), logs them as one record, applies them.</summary>
    public async Task UpsertAsync(IReadOnlyList<PendingRow> pending, CancellationToken cancellationToken)
    {
        DurableTicket ticket = default;
        _lock.EnterWriteLock();
        try
        {
            ThrowIfDisposed();
            var rows = new Row[pending.Count];
            var assigned = new Dictionary<object, ulong>();
            ulong next = _nextId;
            for (int i = 0; i < pending.Count; i++)
            {
                var p = pending[i];
                // The same key twice in one batch: both get the same id; the later row wins, as it would one by one.
                if (!_ids.TryGetValue(p.Key, out ulong id) && !assigned.TryGetValue(p.Key, out id))
                {
                    id = next++;
                }

                assigned[p.Key] = id;
                rows[i] = new Row(p.Key, id, p.Data, p.Vectors);
            }

            if (_durable is not null)
            {
                // Logged before it is applied: if the append fails, nothing changed.
                ticket = _durable.Append(RowCodec.EncodeUpsert(rows, Schema.KeyKind));
            }

            ApplyAll(rows);
        }
        finally
        {
            _lock.ExitWriteLock();
        }

        await AfterWriteAsync(ticket, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Deletes the rows of these keys (absent keys are ignored); logged as one record.</summary>
    public async Task DeleteAsync(IReadOnlyList<object> keys, CancellationToken cancellationToken)
    {
        DurableTicket ticket = default;
        _lock.EnterWriteLock();
        try
        {
            ThrowIfDisposed();
            var ids = new List<ulong>(keys.Count);
            var seen = new HashSet<ulong>();
            foreach (object key in keys)
            {
                if (_ids.TryGetValue(key, out ulong id) && seen.Add(id))
                {
                    ids.Add(id);
                }
            }

            if (ids.Count == 0)
            {
                // Nothing to log, but the absence this call reports may rest on a delete that is applied and not yet
                // on disk (another caller's): return only once everything logged so far is durable.
                ticket = _durable?.EndOfLog() ?? default;
            }
            else if (_durable is not null)
            {
                ticket = _durable.Append(RowCodec.EncodeDelete(ids));
            }

            foreach (ulong id in ids)
            {
                ApplyDelete(id);
            }
        }
        finally
        {
            _lock.ExitWriteLock();
        }

        await AfterWriteAsync(ticket, cancellationToken).ConfigureAwait(false);
    }

    private async Task AfterWriteAsync(DurableTicket ticket, CancellationToken cancellationToken)
    {
        if (_durable is null)
        {
            return;
        }

        // The caller's write is acknowledged only once it is on disk; concurrent writers share the flush.
        await DurableDirectory.WaitDurableAsync(ticket, cancellationToken).ConfigureAwait(false);

        if (_durable.LogLength > _snapshotThreshold && Interlocked.CompareExchange(ref _checkpointing, 1, 0) == 0)
        {
            try
            {
                Checkpoint();
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // This caller's write is already durable in the log; a snapshot that could not be written leaves the
                // log as it was (half-written files of the next generation are not named by the manifest, and are
                // replaced or deleted later). The next write past the threshold tries again.
            }
            finally
            {
                Volatile.Write(ref _checkpointing, 0);
            }
        }
    }

    /// <summary>Folds the log into a new snapshot now (durable collections only).</summary>
    public void Checkpoint()
    {
        if (_durable is null)
        {
            return;
        }

        // The read side keeps writers (and so log appends) out while readers go on.
        _lock.EnterReadLock();
        try
        {
            ThrowIfDisposed();
            _durable.Checkpoint(this);
        }
        finally
        {
            _lock.ExitReadLock();
        }
    }

    /// <summary>Batches at least this large insert their vectors with the index's parallel AddRange.</summary>
    private const int ParallelBatch = 64;

    private void ApplyAll(IReadOnlyList<Row> rows)
    {
        if (rows.Count < ParallelBatch)
        {
            foreach (var row in rows)
            {
                Apply(row, withVectors: true);
            }

            return;
        }

        // Rows, key map and inverted indexes in order; then each index gets the final vector of every id at once
        // (the write lock is held throughout, so no reader sees the rows before their vectors).
        var last = new Dictionary<ulong, Row>(rows.Count);
        foreach (var row in rows)
        {
            Apply(row, withVectors: false);
            last[row.Id] = row;
        }

        foreach (var (name, slot) in _slots)
        {
            var ids = new List<ulong>(last.Count);
            var values = new List<float>(last.Count * slot.Spec.Dimensions);
            foreach (var row in last.Values)
            {
                if (row.Vectors.TryGetValue(name, out var vector))
                {
                    ids.Add(row.Id);
                    values.AddRange(vector.Values);
                }
                else
                {
                    slot.Remove(row.Id); // replaced by a row without this vector (absent ids are ignored)
                }
            }

            slot.AddRange([.. ids], [.. values]);
        }
    }

    private void Apply(Row row, bool withVectors = true)
    {
        _nextId = Math.Max(_nextId, row.Id + 1);
        if (_rows.TryGetValue(row.Id, out var old))
        {
            foreach (var index in _inverted.Values)
            {
                index.Remove(old);
            }
        }
        else if (_ids.TryGetValue(row.Key, out ulong otherId) && otherId != row.Id)
        {
            ApplyDelete(otherId);
        }

        foreach (var (name, slot) in _slots)
        {
            if (!withVectors)
            {
                break;
            }

            if (row.Vectors.TryGetValue(name, out var vector))
            {
                slot.Add(row.Id, vector.Values);
            }
            else if (old is not null && old.Vectors.ContainsKey(name))
            {
                slot.Remove(row.Id);
            }
        }

        _rows[row.Id] = row;
        _ids[row.Key] = row.Id;
        foreach (var index in _inverted.Values)
        {
            index.Add(row);
        }
    }

    private void ApplyDelete(ulong id)
    {
        if (!_rows.Remove(id, out var row))
        {
            return;
        }

        _ids.Remove(row.Key);
        foreach (var (name, slot) in _slots)
        {
            if (row.Vectors.ContainsKey(name))
            {
                slot.Remove(id);
            }
        }

        foreach (var index in _inverted.Values)
        {
            index.Remove(row);
        }
    }

    // ---- IDurableState ----

    private const string RowsFile = "rows";

    private static string GraphFile(int slotIndex) => $"vector{slotIndex}.hnsw";

    void IDurableState.LoadSnapshot(SnapshotReader snapshot)
    {
        var graphs = new Dictionary<string, HnswIndex>();
        for (int i = 0; i < Schema.Vectors.Count; i++)
        {
            string file = GraphFile(i);
            if (snapshot.Contains(file))
            {
                string path = snapshot.GetPath(file);
                try
                {
                    graphs[Schema.Vectors[i].StorageName] = HnswIndex.Load(path);
                }
                catch (InvalidDataException ex)
                {
                    throw new InvalidDataException($"'{path}': {ex.Message}", ex);
                }
            }
        }

        foreach (var slot in _slots.Values)
        {
            slot.Dispose();
        }

        _slots.Clear();
        CreateSlots(graphs);
        string rowsPath = snapshot.GetPath(RowsFile);
        try
        {
            using var stream = snapshot.Open(RowsFile);
            using var reader = new BinaryReader(stream, Encoding.UTF8);
            long count = reader.ReadInt64();
            for (long i = 0; i < count; i++)
            {
                var row = RowCodec.ReadRow(reader, Schema.KeyKind);
                _rows[row.Id] = row;
                _ids[row.Key] = row.Id;
                _nextId = Math.Max(_nextId, row.Id + 1);
                foreach (var (name, slot) in _slots)
                {
                    // Graphs come from their files; exact (Flat) indexes are rebuilt from the rows.
                    if (slot.Hnsw is null || !graphs.ContainsKey(name))
                    {
                        if (row.Vectors.TryGetValue(name, out var vector))
                        {
                            slot.Add(row.Id, vector.Values);
                        }
                    }
                }
            }

            _nextId = Math.Max(_nextId, reader.ReadUInt64());
        }
        catch (Exception ex) when (ex is EndOfStreamException or ArgumentException or InvalidCastException or FormatException)
        {
            throw new InvalidDataException($"'{rowsPath}': the rows file is malformed ({ex.Message}).", ex);
        }
    }

    void IDurableState.Replay(ReadOnlyMemory<byte> record)
    {
        var span = record.Span;
        if (span.IsEmpty)
        {
            throw new InvalidDataException("An empty log record.");
        }

        if (span[0] == RowCodec.DeleteRecord)
        {
            int count = BitConverter.ToInt32(span[1..]);
            for (int i = 0; i < count; i++)
            {
                ApplyDelete(BitConverter.ToUInt64(span[(5 + (8 * i))..]));
            }

            return;
        }

        if (span[0] != RowCodec.UpsertRecord)
        {
            throw new InvalidDataException($"Unknown log record type {span[0]}.");
        }

        using var reader = new BinaryReader(new MemoryStream(record.ToArray(), 1, record.Length - 1), Encoding.UTF8);
        int rowCount = RowCodec.ReadCount(reader);
        var rows = new List<Row>(rowCount);
        for (int i = 0; i < rowCount; i++)
        {
            rows.Add(RowCodec.ReadRow(reader, Schema.KeyKind));
        }

        ApplyAll(rows);
    }

    void IDurableState.WriteSnapshot(SnapshotWriter snapshot)
    {
        using (var stream = snapshot.Create(RowsFile))
        using (var writer = new BinaryWriter(stream, Encoding.UTF8))
        {
            writer.Write((long)_rows.Count);
            foreach (var row in _rows.Values)
            {
                RowCodec.WriteRow(writer, row, Schema.KeyKind);
            }

            writer.Write(_nextId);
        }

        for (int i = 0; i < Schema.Vectors.Count; i++)
        {
            if (_slots[Schema.Vectors[i].StorageName].Hnsw is { } graph)
            {
                graph.Save(snapshot.GetPath(GraphFile(i)));
            }
        }
    }

    /// <summary>The log size past which closing a durable collection folds the log first, so that reopening loads a snapshot instead of replaying.</summary>
    private const long SnapshotOnCloseBytes = 1 << 20;

    /// <summary>
    /// Closes the collection when the last store or collection object on its directory goes: a log of more than
    /// <see cref="SnapshotOnCloseBytes"/> is folded into a snapshot first (best effort: the log alone is complete).
    /// </summary>
    public void Close()
    {
        if (_durable is not null && _durable.LogLength > Math.Min(_snapshotThreshold, SnapshotOnCloseBytes)
            && Interlocked.CompareExchange(ref _checkpointing, 1, 0) == 0)
        {
            try
            {
                Checkpoint();
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ObjectDisposedException)
            {
                // The log stays as it is; the next open replays it.
            }
            finally
            {
                Volatile.Write(ref _checkpointing, 0);
            }
        }

        Dispose();
    }

    public void Dispose()
    {
        _lock.EnterWriteLock();
        try
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _durable?.Dispose();
            foreach (var slot in _slots.Values)
            {
                slot.Dispose();
            }
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }

    /// <summary>Holds the read side of the lock until disposed.</summary>
    public readonly struct ReadScope(ReaderWriterLockSlim rwLock) : IDisposable
    {
        public void Dispose() => rwLock.ExitReadLock();
    }
}
