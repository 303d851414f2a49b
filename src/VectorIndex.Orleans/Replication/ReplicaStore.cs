using System.Buffers.Binary;
using System.Runtime.InteropServices;
using VectorIndex.VectorData.Durability;

namespace VectorIndex.Orleans.Replication;

/// <summary>
/// One shard replica's in-memory state (an HNSW index, the payloads, the last applied log sequence number), kept durable
/// by the connector's <see cref="DurableDirectory"/>: a write-ahead log of sequenced writes and atomic snapshots.
/// </summary>
/// <remarks>
/// Log record (little-endian): <c>[i64 lsn][u64 key][u8 kind: 1 upsert, 2 delete]</c>, then for an upsert
/// <c>[i32 dims][floats][i32 payload length or -1][payload]</c>. Replay skips records at or below the snapshot's
/// sequence number, so replaying over a later snapshot changes nothing.
/// </remarks>
internal sealed class ReplicaStore : IDurableState, IDisposable
{
    private const string IndexFile = "index";
    private const string RecordsFile = "records";
    private const uint RecordsMagic = 0x52444956; // "VIDR"

    private readonly HnswOptions _options;
    private readonly Dictionary<ulong, byte[]> _payloads = [];
    private HnswIndex _index;
    private long _appliedLsn;

    // The latest applied writes, contiguous in sequence number and ending at the applied one (a log tail a lagging peer
    // can catch up from), bounded by _tailLimit bytes.
    private readonly Queue<SequencedWrite> _tail = new();
    private long _tailBytes;
    private long _tailLast;
    private long _tailLimit;

    public ReplicaStore(HnswOptions options)
    {
        _options = options;
        _index = new HnswIndex(options);
    }

    public HnswIndex Index => _index;

    public long AppliedLsn => Volatile.Read(ref _appliedLsn);

    public int Count => _index.Count;

    public static byte[] Encode(SequencedWrite write)
    {
        var w = write.Write;
        int size = 17 + (w.IsDelete ? 0 : 8 + (w.Vector!.Length * 4) + (w.Payload?.Length ?? 0));
        var bytes = new byte[size];
        var span = bytes.AsSpan();
        BinaryPrimitives.WriteInt64LittleEndian(span, write.Lsn);
        BinaryPrimitives.WriteUInt64LittleEndian(span[8..], w.Key);
        span[16] = w.IsDelete ? (byte)2 : (byte)1;
        if (!w.IsDelete)
        {
            BinaryPrimitives.WriteInt32LittleEndian(span[17..], w.Vector!.Length);
            MemoryMarshal.AsBytes(w.Vector.AsSpan()).CopyTo(span[21..]);
            int at = 21 + (w.Vector.Length * 4);
            BinaryPrimitives.WriteInt32LittleEndian(span[at..], w.Payload?.Length ?? -1);
            w.Payload?.CopyTo(span[(at + 4)..]);
        }

        return bytes;
    }

    /// <summary>Decodes a log record written by <see cref="Encode"/>.</summary>
    public static SequencedWrite Decode(ReadOnlySpan<byte> span)
    {
        if (span.Length < 17)
        {
            throw new InvalidDataException($"A replica log record has {span.Length} bytes, fewer than its fixed header.");
        }

        long lsn = BinaryPrimitives.ReadInt64LittleEndian(span);
        ulong key = BinaryPrimitives.ReadUInt64LittleEndian(span[8..]);
        switch (span[16])
        {
            case 2:
                return new SequencedWrite { Lsn = lsn, Write = new ShardWrite { Key = key } };
            case 1:
                if (span.Length < 21)
                {
                    break;
                }

                int dims = BinaryPrimitives.ReadInt32LittleEndian(span[17..]);
                if (dims < 1 || dims > (span.Length - 25) / 4)
                {
                    break;
                }

                float[] vector = MemoryMarshal.Cast<byte, float>(span.Slice(21, dims * 4)).ToArray();
                int at = 21 + (dims * 4);
                int payloadLength = BinaryPrimitives.ReadInt32LittleEndian(span[at..]);
                if (payloadLength < -1 || payloadLength > span.Length - at - 4)
                {
                    break;
                }

                byte[]? payload = payloadLength < 0 ? null : span.Slice(at + 4, payloadLength).ToArray();
                return new SequencedWrite { Lsn = lsn, Write = new ShardWrite { Key = key, Vector = vector, Payload = payload } };
        }

        throw new InvalidDataException("A replica log record is malformed.");
    }

    /// <summary>Applies a write in memory (the caller logged it first). Writes at or below the applied number are skipped.</summary>
    public void Apply(SequencedWrite write)
    {
        if (write.Lsn <= _appliedLsn)
        {
            return;
        }

        ApplyRecord(write.Write);
        Volatile.Write(ref _appliedLsn, write.Lsn);
        KeepInTail(write);
    }

    /// <summary>How many bytes of the latest writes to keep for <see cref="ReadTail"/> (0: none); trims at once.</summary>
    public long TailLimit
    {
        get => _tailLimit;
        set
        {
            _tailLimit = value;
            TrimTail();
        }
    }

    /// <summary>
    /// The writes after <paramref name="afterLsn"/>, up to <paramref name="max"/> of them, from the in-memory tail;
    /// null when the tail does not reach back to <paramref name="afterLsn"/> + 1 (the peer needs a copy).
    /// </summary>
    public SequencedWrite[]? ReadTail(long afterLsn, int max)
    {
        if (afterLsn >= _appliedLsn)
        {
            return [];
        }

        if (_tail.Count == 0 || _tail.Peek().Lsn > afterLsn + 1)
        {
            return null;
        }

        return [.. _tail.SkipWhile(w => w.Lsn <= afterLsn).Take(max)];
    }

    private void KeepInTail(SequencedWrite write)
    {
        if (_tailLimit <= 0)
        {
            return;
        }

        if (_tail.Count > 0 && _tailLast != write.Lsn - 1)
        {
            ClearTail(); // not contiguous: a tail with a gap could not catch anyone up
        }

        _tail.Enqueue(write);
        _tailLast = write.Lsn;
        _tailBytes += SizeOf(write);
        TrimTail();
    }

    private void TrimTail()
    {
        while (_tail.Count > 0 && _tailBytes > _tailLimit)
        {
            _tailBytes -= SizeOf(_tail.Dequeue());
        }
    }

    private void ClearTail()
    {
        _tail.Clear();
        _tailBytes = 0;
    }

    private static long SizeOf(SequencedWrite write) =>
        64 + ((long)(write.Write.Vector?.Length ?? 0) * sizeof(float)) + (write.Write.Payload?.Length ?? 0);

    private void ApplyRecord(ShardWrite write)
    {
        if (write.IsDelete)
        {
            _index.Remove(write.Key);
            lock (_payloads)
            {
                _payloads.Remove(write.Key);
            }

            return;
        }

        _index.Add(write.Key, write.Vector);
        lock (_payloads)
        {
            if (write.Payload is null)
            {
                _payloads.Remove(write.Key);
            }
            else
            {
                _payloads[write.Key] = write.Payload;
            }
        }
    }

    public StoredRecord? Get(ulong key)
    {
        var vector = new float[_options.Dimensions];
        if (!_index.TryGetVector(key, vector))
        {
            return null;
        }

        byte[]? payload;
        lock (_payloads)
        {
            _payloads.TryGetValue(key, out payload);
        }

        return new StoredRecord { Key = key, Vector = vector, Payload = payload };
    }

    /// <summary>A record's payload parsed as a JSON object, or null (no payload, or not an object).</summary>
    public System.Text.Json.Nodes.JsonObject? GetPayloadObject(ulong key)
    {
        byte[]? payload;
        lock (_payloads)
        {
            _payloads.TryGetValue(key, out payload);
        }

        if (payload is null)
        {
            return null;
        }

        try
        {
            return System.Text.Json.Nodes.JsonNode.Parse(payload) as System.Text.Json.Nodes.JsonObject;
        }
        catch (System.Text.Json.JsonException)
        {
            return null; // a payload that is not JSON has no fields
        }
    }

    public void LoadSnapshot(SnapshotReader snapshot)
    {
        var index = HnswIndex.Load(snapshot.GetPath(IndexFile));
        if (index.Dimensions != _options.Dimensions || index.Metric != _options.Metric)
        {
            index.Dispose();
            throw new InvalidDataException($"The snapshot index has {index.Dimensions} dimensions ({index.Metric}); the collection {_options.Dimensions} ({_options.Metric}).");
        }

        using var stream = snapshot.Open(RecordsFile);
        using var reader = new BinaryReader(stream);
        long length = stream.Length;
        try
        {
            if (reader.ReadUInt32() != RecordsMagic)
            {
                throw new InvalidDataException("The replica records file has a bad magic number.");
            }

            long lsn = reader.ReadInt64();
            int count = reader.ReadInt32();
            if (lsn < 0 || count < 0 || count > length / 12)
            {
                throw new InvalidDataException($"The replica records file is malformed (sequence number {lsn}, {count} payloads).");
            }

            var payloads = new Dictionary<ulong, byte[]>(count);
            for (int i = 0; i < count; i++)
            {
                ulong key = reader.ReadUInt64();
                int size = reader.ReadInt32();
                if (size < 0 || size > length - stream.Position)
                {
                    throw new InvalidDataException("The replica records file has a payload longer than the file.");
                }

                payloads[key] = reader.ReadBytes(size);
            }

            _index.Dispose();
            _index = index;
            _payloads.Clear();
            foreach (var (key, payload) in payloads)
            {
                _payloads[key] = payload;
            }

            _appliedLsn = lsn;
            ClearTail();
        }
        catch (EndOfStreamException ex)
        {
            index.Dispose();
            throw new InvalidDataException("The replica records file is truncated.", ex);
        }
        catch
        {
            index.Dispose();
            throw;
        }
    }

    public void Replay(ReadOnlyMemory<byte> record) => Apply(Decode(record.Span));

    public void WriteSnapshot(SnapshotWriter snapshot)
    {
        _index.Save(snapshot.GetPath(IndexFile));
        using var stream = snapshot.Create(RecordsFile);
        using var writer = new BinaryWriter(stream);
        writer.Write(RecordsMagic);
        writer.Write(_appliedLsn);
        lock (_payloads)
        {
            writer.Write(_payloads.Count);
            foreach (var (key, payload) in _payloads)
            {
                writer.Write(key);
                writer.Write(payload.Length);
                writer.Write(payload);
            }
        }
    }

    /// <summary>Replaces everything with an empty state (a replica that lost its data, waiting for a copy).</summary>
    public void Reset()
    {
        _index.Dispose();
        _index = new HnswIndex(_options);
        lock (_payloads)
        {
            _payloads.Clear();
        }

        _appliedLsn = 0;
        ClearTail();
    }

    /// <summary>A page of records in key order after <paramref name="afterKey"/> (exclusive, or from the start when null).</summary>
    public List<StoredRecord> ReadPage(ulong? afterKey, int max)
    {
        var keys = _index.GetKeys();
        Array.Sort(keys);
        int start = 0;
        if (afterKey is ulong after)
        {
            start = Array.BinarySearch(keys, after);
            start = start >= 0 ? start + 1 : ~start;
        }

        var page = new List<StoredRecord>(Math.Min(max, Math.Max(0, keys.Length - start)));
        for (int i = start; i < keys.Length && page.Count < max; i++)
        {
            if (Get(keys[i]) is { } record)
            {
                page.Add(record);
            }
        }

        return page;
    }

    public void Dispose() => _index.Dispose();
}
