using System.Buffers.Binary;
using Microsoft.Win32.SafeHandles;

namespace VectorIndex.VectorData.Durability;

/// <summary>
/// An append-only log of opaque records with group commit. File layout (little-endian): a 16-byte header (magic
/// <c>VIDW</c>, format version, generation), then records, each <c>[u32 length][u32 CRC-32C of length and payload][payload]</c>.
/// </summary>
/// <remarks>
/// <see cref="Append"/> writes a record to the operating system (it survives a kill of the process at once) and returns
/// the log position after it; <see cref="WaitDurableAsync"/> returns once everything up to a position is on disk. Callers
/// waiting at the same time share one <c>fsync</c>. Every member is thread-safe.
/// </remarks>
public sealed class WriteAheadLog : IDisposable
{
    private const uint Magic = 0x57444956; // "VIDW"
    private const uint FormatVersion = 1;

    /// <summary>The size of the file header in bytes.</summary>
    public const int HeaderSize = 16;

    /// <summary>The largest record accepted, in bytes.</summary>
    public const int MaxRecordSize = 1 << 30;

    private readonly SafeFileHandle _handle;

    // Appends are serialised by _appendGate; _length only grows, and only after the bytes it covers were written.
    private readonly object _appendGate = new();
    private long _length;

    // Group commit: _durable is the position up to which an fsync has completed. At most one flush task runs;
    // everyone who needs a position beyond _durable awaits it and, when it did not cover them, starts the next one.
    private readonly object _flushGate = new();
    private long _durable;
    private Task? _flushTask;
    private bool _disposed;
    private long _flushCount;

    private WriteAheadLog(string path, SafeFileHandle handle, long generation, long length)
    {
        Path = path;
        _handle = handle;
        Generation = generation;
        _length = length;
        _durable = length;
    }

    /// <summary>The file of the log.</summary>
    public string Path { get; }

    /// <summary>The generation written in the header (the snapshot this log follows).</summary>
    public long Generation { get; }

    /// <summary>How many fsyncs this log has run (group commit makes it smaller than the number of waits).</summary>
    public long FlushCount => Interlocked.Read(ref _flushCount);

    /// <summary>The length of the log in bytes, header included.</summary>
    public long Length => Volatile.Read(ref _length);

    /// <summary>Creates a new, empty log (replacing any file at <paramref name="path"/>) and makes its header durable.</summary>
    /// <param name="path">The file to create.</param>
    /// <param name="generation">The generation to record in the header.</param>
    /// <returns>The open log.</returns>
    public static WriteAheadLog Create(string path, long generation)
    {
        var handle = File.OpenHandle(path, FileMode.Create, FileAccess.ReadWrite, FileShare.Read);
        try
        {
            Span<byte> header = stackalloc byte[HeaderSize];
            BinaryPrimitives.WriteUInt32LittleEndian(header, Magic);
            BinaryPrimitives.WriteUInt32LittleEndian(header[4..], FormatVersion);
            BinaryPrimitives.WriteInt64LittleEndian(header[8..], generation);
            RandomAccess.Write(handle, header, 0);
            RandomAccess.FlushToDisk(handle);
            return new WriteAheadLog(path, handle, generation, HeaderSize);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Opens an existing log, hands every intact record to <paramref name="replay"/> in order, and cuts off a torn tail
    /// (an incomplete last record, or a last record whose checksum fails: a write the crash interrupted).
    /// </summary>
    /// <param name="path">The log file.</param>
    /// <param name="expectedGeneration">The generation the header must carry.</param>
    /// <param name="replay">Receives each record's payload.</param>
    /// <returns>The open log, positioned for appends after the last intact record.</returns>
    /// <exception cref="InvalidDataException">The header is wrong, or a record before the last one is damaged; the message names the file.</exception>
    public static WriteAheadLog Open(string path, long expectedGeneration, Action<ReadOnlyMemory<byte>> replay)
    {
        ArgumentNullException.ThrowIfNull(replay);
        var handle = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite, FileShare.Read);
        try
        {
            long fileLength = RandomAccess.GetLength(handle);
            if (fileLength < HeaderSize)
            {
                throw new InvalidDataException($"'{path}': the write-ahead log is shorter than its header ({fileLength} bytes).");
            }

            var header = new byte[HeaderSize];
            ReadExactly(handle, header, 0);
            if (BinaryPrimitives.ReadUInt32LittleEndian(header) != Magic)
            {
                throw new InvalidDataException($"'{path}': not a VectorIndex write-ahead log (bad magic).");
            }

            uint version = BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(4));
            if (version != FormatVersion)
            {
                throw new InvalidDataException($"'{path}': write-ahead log format version {version} is not supported (expected {FormatVersion}).");
            }

            long generation = BinaryPrimitives.ReadInt64LittleEndian(header.AsSpan(8));
            if (generation != expectedGeneration)
            {
                throw new InvalidDataException($"'{path}': the write-ahead log belongs to generation {generation}, the manifest names {expectedGeneration}.");
            }

            long end = ReplayRecords(path, handle, fileLength, replay);
            if (end < fileLength)
            {
                // A torn tail: the crash cut the last append short. It was never acknowledged; drop it so that the
                // next append does not follow garbage.
                RandomAccess.SetLength(handle, end);
                RandomAccess.FlushToDisk(handle);
            }

            return new WriteAheadLog(path, handle, generation, end);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    private static long ReplayRecords(string path, SafeFileHandle handle, long fileLength, Action<ReadOnlyMemory<byte>> replay)
    {
        long position = HeaderSize;
        var frameHeader = new byte[8];
        while (position < fileLength)
        {
            switch (ReadFrame(handle, position, fileLength, frameHeader, out byte[] payload, out long recordEnd))
            {
                case Frame.Cut:
                    return position; // torn inside a frame header or the payload (or a length the crash left half-written)
                case Frame.BadChecksum when recordEnd == fileLength:
                    return position; // the last record, half written
                case Frame.BadChecksum:
                    throw new InvalidDataException($"'{path}': the write-ahead log record at offset {position} fails its checksum and is followed by more records (the file is corrupted).");
            }

            replay(payload);
            position = recordEnd;
        }

        return position;
    }

    private enum Frame
    {
        Whole,
        Cut,
        BadChecksum,
    }

    // Reads the record framed at position (an 8-byte header: the payload's length, and the CRC-32C of that length and
    // the payload) if it ends by end; says whether it is whole, cut short by end, or fails its checksum.
    private static Frame ReadFrame(SafeFileHandle handle, long position, long end, byte[] frameHeader, out byte[] payload, out long recordEnd)
    {
        payload = [];
        recordEnd = position;
        if (end - position < 8)
        {
            return Frame.Cut;
        }

        ReadExactly(handle, frameHeader, position);
        uint length = BinaryPrimitives.ReadUInt32LittleEndian(frameHeader);
        uint expectedCrc = BinaryPrimitives.ReadUInt32LittleEndian(frameHeader.AsSpan(4));
        recordEnd = position + 8 + length;
        if (length > MaxRecordSize || recordEnd > end)
        {
            return Frame.Cut;
        }

        payload = new byte[length];
        ReadExactly(handle, payload, position + 8);
        return Crc32C.Append(Crc32C.Compute(frameHeader.AsSpan(0, 4)), payload) == expectedCrc ? Frame.Whole : Frame.BadChecksum;
    }

    private static void ReadExactly(SafeFileHandle handle, Span<byte> buffer, long offset)
    {
        while (!buffer.IsEmpty)
        {
            int read = RandomAccess.Read(handle, buffer, offset);
            if (read == 0)
            {
                throw new EndOfStreamException();
            }

            buffer = buffer[read..];
            offset += read;
        }
    }

    /// <summary>
    /// Appends one record. When this returns, the record is in the operating system's cache (it survives a crash of
    /// the process, not yet of the machine); <see cref="WaitDurableAsync"/> with the returned position makes it durable.
    /// </summary>
    /// <param name="payload">The record.</param>
    /// <returns>The log position just after the record.</returns>
    public long Append(ReadOnlySpan<byte> payload)
    {
        if (payload.Length > MaxRecordSize)
        {
            throw new ArgumentException($"A log record may hold at most {MaxRecordSize} bytes; this one has {payload.Length}.", nameof(payload));
        }

        var frame = new byte[8 + payload.Length];
        BinaryPrimitives.WriteUInt32LittleEndian(frame, (uint)payload.Length);
        payload.CopyTo(frame.AsSpan(8));
        uint crc = Crc32C.Append(Crc32C.Compute(frame.AsSpan(0, 4)), payload);
        BinaryPrimitives.WriteUInt32LittleEndian(frame.AsSpan(4), crc);

        lock (_appendGate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            RandomAccess.Write(_handle, frame, _length);
            // Published after the write: a flush that reads this length covers these bytes.
            Volatile.Write(ref _length, _length + frame.Length);
            return _length;
        }
    }

    /// <summary>
    /// Reads records from <paramref name="position"/> (the end of the header, <see cref="HeaderSize"/>, or a position this
    /// method returned) up to the log's length when it is called, handing each payload to <paramref name="visit"/> until
    /// it returns false. Safe beside appends: it reads only records whose append completed.
    /// </summary>
    /// <param name="position">Where to start: a record boundary.</param>
    /// <param name="visit">Receives each payload; returns whether to go on. The record it declines is not consumed.</param>
    /// <returns>The position after the last record consumed.</returns>
    /// <exception cref="InvalidDataException">A record fails its checksum or runs past the end (the position is not a record boundary, or the file is damaged).</exception>
    public long Read(long position, Func<ReadOnlyMemory<byte>, bool> visit)
    {
        ArgumentNullException.ThrowIfNull(visit);
        ArgumentOutOfRangeException.ThrowIfLessThan(position, HeaderSize);
        long end = Length;
        var frameHeader = new byte[8];
        while (position < end)
        {
            switch (ReadFrame(_handle, position, end, frameHeader, out byte[] payload, out long recordEnd))
            {
                case Frame.Cut:
                    throw new InvalidDataException($"'{Path}': a log record at offset {position} runs past the end of the log.");
                case Frame.BadChecksum:
                    throw new InvalidDataException($"'{Path}': the write-ahead log record at offset {position} fails its checksum.");
            }

            if (!visit(payload))
            {
                break;
            }

            position = recordEnd;
        }

        return position;
    }

    /// <summary>Completes once every record up to <paramref name="position"/> is on disk. Concurrent callers share one flush.</summary>
    /// <param name="position">A position <see cref="Append"/> returned.</param>
    /// <param name="cancellationToken">Stops the wait (not the flush).</param>
    /// <returns>A task that completes when the position is durable.</returns>
    public async Task WaitDurableAsync(long position, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            Task flush;
            lock (_flushGate)
            {
                if (_durable >= position)
                {
                    return;
                }

                _flushTask ??= Task.Run(FlushOnce, CancellationToken.None);
                flush = _flushTask;
            }

            await flush.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Makes everything appended so far durable, synchronously.</summary>
    public void Flush()
    {
        long target = Volatile.Read(ref _length);
        RandomAccess.FlushToDisk(_handle);
        lock (_flushGate)
        {
            if (target > _durable)
            {
                _durable = target;
            }
        }
    }

    private void FlushOnce()
    {
        try
        {
            // Every append that published its length before this read is covered by the fsync below.
            long target = Volatile.Read(ref _length);
            RandomAccess.FlushToDisk(_handle);
            Interlocked.Increment(ref _flushCount);
            lock (_flushGate)
            {
                if (target > _durable)
                {
                    _durable = target;
                }

                _flushTask = null;
            }
        }
        catch
        {
            lock (_flushGate)
            {
                _flushTask = null;
            }

            throw;
        }
    }

    /// <summary>Closes the file. Records already appended stay in it.</summary>
    public void Dispose()
    {
        lock (_appendGate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
        }

        Task? pending;
        lock (_flushGate)
        {
            pending = _flushTask;
        }

        try
        {
            pending?.Wait();
        }
        catch (AggregateException)
        {
            // The waiters see the failure; closing goes on.
        }

        _handle.Dispose();
    }
}
