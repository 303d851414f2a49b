using System.Buffers.Binary;
using System.Text;

namespace VectorIndex.VectorData.Durability;

/// <summary>
/// A folder that keeps an <see cref="IDurableState"/> durable: a manifest, the snapshot it names, and the write-ahead
/// log of the changes after that snapshot.
/// </summary>
/// <remarks>
/// <para>Layout: <c>MANIFEST</c> (generation, an opaque metadata blob, and the snapshot's files with their lengths and
/// CRC-32C, itself checksummed), <c>{generation}.wal</c>, and <c>{generation}.{name}</c> for each snapshot file.</para>
/// <para>Folding the log (<see cref="Checkpoint"/>) writes the next generation's snapshot files and an empty log beside
/// the current ones, makes them durable, then writes <c>MANIFEST.tmp</c> and renames it over <c>MANIFEST</c>: the rename
/// is the switch. A crash before it leaves the old manifest, snapshot and complete log; after it, the new ones. Files of
/// other generations are deleted when the folder is opened or after a switch.</para>
/// <para>Thread safety: <see cref="Append"/> and <see cref="WaitDurableAsync"/> may be called from many threads at once;
/// the caller must keep appends out while <see cref="Checkpoint"/> runs (it holds the state's write side).</para>
/// </remarks>
public sealed class DurableDirectory : IDisposable
{
    private const string ManifestName = "MANIFEST";
    private const uint ManifestMagic = 0x4D444956; // "VIDM"
    private const uint ManifestVersion = 1;

    private readonly string _folder;
    private WriteAheadLog _log;
    private long _generation;
    private SnapshotFileInfo[] _files;

    private DurableDirectory(string folder, long generation, byte[] metadata, WriteAheadLog log, SnapshotFileInfo[] files)
    {
        _folder = folder;
        _generation = generation;
        Metadata = metadata;
        _log = log;
        _files = files;
    }

    /// <summary>The metadata blob given at creation.</summary>
    public byte[] Metadata { get; }

    /// <summary>The folder.</summary>
    public string Folder => _folder;

    /// <summary>The current generation (incremented by each <see cref="Checkpoint"/>).</summary>
    public long Generation => Volatile.Read(ref _generation);

    /// <summary>The size of the current log in bytes.</summary>
    public long LogLength => Volatile.Read(ref _log).Length;

    /// <summary>The files of the current generation's snapshot as its manifest names them (empty before the first snapshot).</summary>
    public IReadOnlyList<SnapshotFileInfo> SnapshotFiles => Volatile.Read(ref _files);

    /// <summary>Whether a durable state exists in <paramref name="folder"/> (it has a manifest).</summary>
    /// <param name="folder">The folder.</param>
    /// <returns>True when it does.</returns>
    public static bool Exists(string folder) => File.Exists(Path.Combine(folder, ManifestName));

    /// <summary>Creates a new durable state in <paramref name="folder"/> (created if needed): generation 0, no snapshot, an empty log.</summary>
    /// <param name="folder">The folder; must not hold a manifest yet.</param>
    /// <param name="metadata">An opaque blob stored in the manifest (for example the schema).</param>
    /// <returns>The open directory.</returns>
    public static DurableDirectory Create(string folder, ReadOnlySpan<byte> metadata)
    {
        Directory.CreateDirectory(folder);
        if (Exists(folder))
        {
            throw new IOException($"'{folder}' already holds a durable state.");
        }

        var log = WriteAheadLog.Create(FilePath(folder, 0, "wal"), 0);
        try
        {
            byte[] meta = metadata.ToArray();
            WriteManifest(folder, 0, meta, []);
            DirectorySync.Flush(folder);
            return new DurableDirectory(folder, 0, meta, log, []);
        }
        catch
        {
            log.Dispose();
            throw;
        }
    }

    /// <summary>Reads the metadata blob of the state in <paramref name="folder"/> without opening it.</summary>
    /// <param name="folder">The folder.</param>
    /// <returns>The metadata.</returns>
    /// <exception cref="InvalidDataException">The manifest is damaged; the message names it.</exception>
    public static byte[] ReadMetadata(string folder) => ReadManifest(folder).Metadata;

    /// <summary>
    /// Opens the durable state in <paramref name="folder"/>: verifies the snapshot files against the manifest, loads the
    /// snapshot into <paramref name="state"/>, replays the log after it and cuts off a torn tail.
    /// </summary>
    /// <param name="folder">The folder.</param>
    /// <param name="state">The state to fill.</param>
    /// <returns>The open directory.</returns>
    /// <exception cref="InvalidDataException">A file is damaged; the message names it.</exception>
    public static DurableDirectory Open(string folder, IDurableState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        var manifest = ReadManifest(folder);
        foreach (var file in manifest.Files)
        {
            VerifyFile(FilePath(folder, manifest.Generation, file.Name), file.Length, file.Crc);
        }

        if (manifest.Files.Length > 0)
        {
            state.LoadSnapshot(new SnapshotReader(folder, manifest.Generation, manifest.Files.Select(f => f.Name)));
        }

        var log = WriteAheadLog.Open(FilePath(folder, manifest.Generation, "wal"), manifest.Generation, state.Replay);
        DeleteOtherGenerations(folder, manifest.Generation);
        return new DurableDirectory(folder, manifest.Generation, manifest.Metadata, log, manifest.Files);
    }

    /// <summary>Appends a record to the log (see <see cref="WriteAheadLog.Append"/>).</summary>
    /// <param name="record">The record.</param>
    /// <returns>A ticket for <see cref="WaitDurableAsync"/>.</returns>
    public DurableTicket Append(ReadOnlySpan<byte> record)
    {
        var log = Volatile.Read(ref _log);
        return new DurableTicket(log, log.Append(record));
    }

    /// <summary>A ticket for everything appended so far (for an operation that appends nothing but must not return before earlier appends are durable).</summary>
    /// <returns>A ticket for <see cref="WaitDurableAsync"/>.</returns>
    public DurableTicket EndOfLog()
    {
        var log = Volatile.Read(ref _log);
        return new DurableTicket(log, log.Length);
    }

    /// <summary>Completes once the record behind <paramref name="ticket"/> is on disk; concurrent callers share one flush.</summary>
    /// <param name="ticket">What <see cref="Append"/> returned.</param>
    /// <param name="cancellationToken">Stops the wait.</param>
    /// <returns>A task.</returns>
    public static Task WaitDurableAsync(DurableTicket ticket, CancellationToken cancellationToken = default) =>
        ticket.Log is null ? Task.CompletedTask : ticket.Log.WaitDurableAsync(ticket.Position, cancellationToken);

    /// <summary>
    /// Folds the log into a new snapshot: the state writes its files, a new empty log is created, and the manifest is
    /// switched by an atomic rename. The caller must keep <see cref="Append"/> out while this runs.
    /// </summary>
    /// <param name="state">The state to snapshot.</param>
    public void Checkpoint(IDurableState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        long next = _generation + 1;
        var writer = new SnapshotWriter(_folder, next);
        state.WriteSnapshot(writer);

        var files = new List<SnapshotFileInfo>();
        foreach (string name in writer.Names)
        {
            var (length, crc) = ChecksumAndSync(FilePath(_folder, next, name));
            files.Add(new SnapshotFileInfo(name, length, crc));
        }

        SwitchTo(next, [.. files]);
    }

    // Makes generation next, whose snapshot files are in place, the current one with a new empty log.
    private void SwitchTo(long next, SnapshotFileInfo[] files)
    {
        var newLog = WriteAheadLog.Create(FilePath(_folder, next, "wal"), next);
        try
        {
            // The old log stays complete and valid until the rename below; everything appended to it is made durable
            // first so that waiters holding tickets on it are released.
            _log.Flush();
            WriteManifest(_folder, next, Metadata, files);
        }
        catch
        {
            newLog.Dispose();
            throw;
        }

        // From the rename on, the new generation is the one on disk: switch to it before anything else can fail.
        var old = _log;
        Volatile.Write(ref _log, newLog);
        Volatile.Write(ref _files, files);
        Volatile.Write(ref _generation, next);
        old.Dispose();

        // The directory fsync makes the rename, and the files created before it, survive power loss (not needed for
        // a process crash). Old files are deleted only after it, so that a lost rename still finds them.
        DirectorySync.Flush(_folder);
        DeleteOtherGenerations(_folder, next);
    }

    /// <summary>
    /// Opens a file of the current generation's snapshot for reading, for sending it elsewhere. The open stream pins the
    /// file: it stays readable after a later <see cref="Checkpoint"/> deletes it (the file is opened with
    /// <see cref="FileShare.Delete"/>). The caller disposes the stream.
    /// </summary>
    /// <param name="name">A name from <see cref="SnapshotFiles"/>.</param>
    /// <returns>A readable stream.</returns>
    /// <exception cref="ArgumentException">The current snapshot has no file of this name.</exception>
    public FileStream OpenSnapshotFile(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        long generation = Generation;
        if (!SnapshotFiles.Any(f => f.Name == name))
        {
            throw new ArgumentException($"The snapshot of generation {generation} in '{_folder}' has no file '{name}'.", nameof(name));
        }

        return new FileStream(FilePath(_folder, generation, name), FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 1 << 16);
    }

    /// <summary>
    /// Reads records of the current log (see <see cref="WriteAheadLog.Read"/>), for example to send a peer the changes after
    /// the current snapshot. The caller must keep <see cref="Checkpoint"/> and <see cref="InstallSnapshot"/> out while
    /// this runs.
    /// </summary>
    /// <param name="position"><see cref="WriteAheadLog.HeaderSize"/> or a position this method returned for the same <see cref="Generation"/>.</param>
    /// <param name="visit">Receives each payload; returns whether to go on.</param>
    /// <returns>The position after the last record consumed.</returns>
    /// <exception cref="InvalidDataException">A record is damaged.</exception>
    public long ReadLog(long position, Func<ReadOnlyMemory<byte>, bool> visit) => Volatile.Read(ref _log).Read(position, visit);

    /// <summary>
    /// The path at which a snapshot file received from another directory (<see cref="SnapshotFiles"/>,
    /// <see cref="OpenSnapshotFile"/>) is written in a staging folder, before <see cref="VerifyReceivedSnapshot"/> and
    /// <see cref="InstallSnapshot"/>.
    /// </summary>
    /// <param name="staging">The staging folder (on the same volume as the directory that installs it).</param>
    /// <param name="name">The file's name in the snapshot.</param>
    /// <returns>The path.</returns>
    /// <exception cref="ArgumentException">The name has a character other than letters, digits, '.', '-' and '_'.</exception>
    public static string ReceivedSnapshotPath(string staging, string name)
    {
        ArgumentNullException.ThrowIfNull(staging);
        ValidateName(name);
        return FilePath(staging, 0, name);
    }

    /// <summary>
    /// Checks received snapshot files against the lengths and CRC-32C the sending manifest gave (the checks
    /// <see cref="Open"/> makes) and flushes them to disk; returns a reader to load them with
    /// <see cref="IDurableState.LoadSnapshot"/>.
    /// </summary>
    /// <param name="staging">The staging folder holding the files at <see cref="ReceivedSnapshotPath"/>.</param>
    /// <param name="files">The files as the sender's <see cref="SnapshotFiles"/> named them.</param>
    /// <returns>A reader over the staged files.</returns>
    /// <exception cref="InvalidDataException">A file is missing, has another length or fails its checksum; the message names it.</exception>
    public static SnapshotReader VerifyReceivedSnapshot(string staging, IReadOnlyList<SnapshotFileInfo> files)
    {
        ArgumentNullException.ThrowIfNull(files);
        foreach (var file in files)
        {
            string path = ReceivedSnapshotPath(staging, file.Name);
            VerifyFile(path, file.Length, file.Crc);
            using var stream = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.None);
            stream.Flush(flushToDisk: true);
        }

        return new SnapshotReader(staging, 0, files.Select(f => f.Name));
    }

    /// <summary>
    /// Makes verified received snapshot files (<see cref="VerifyReceivedSnapshot"/>) this directory's next generation,
    /// with an empty log: the files are moved in, and the manifest is switched by an atomic rename as in
    /// <see cref="Checkpoint"/>. The caller loads the same files into its state (before or after) and must keep
    /// <see cref="Append"/> out while this runs; records of the old log are dropped with it.
    /// </summary>
    /// <param name="staging">The staging folder (on the same volume).</param>
    /// <param name="files">The files, as verified.</param>
    public void InstallSnapshot(string staging, IReadOnlyList<SnapshotFileInfo> files)
    {
        ArgumentNullException.ThrowIfNull(files);
        long next = _generation + 1;
        foreach (var file in files)
        {
            File.Move(ReceivedSnapshotPath(staging, file.Name), FilePath(_folder, next, file.Name), overwrite: true);
        }

        SwitchTo(next, [.. files]);
    }

    /// <summary>Closes the log.</summary>
    public void Dispose() => _log.Dispose();

    /// <summary>
    /// The path of the write-ahead log of <paramref name="generation"/> in <paramref name="folder"/> (whether or not it
    /// exists), for reading a log with <see cref="WriteAheadLog.Open"/> outside <see cref="Open"/>: for example the newer
    /// log of a folder whose newest snapshot is damaged, replayed over a copy of the previous generation.
    /// </summary>
    /// <param name="folder">The folder.</param>
    /// <param name="generation">The generation (0 or more).</param>
    /// <returns>The path.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="generation"/> is negative.</exception>
    public static string LogPath(string folder, long generation)
    {
        ArgumentNullException.ThrowIfNull(folder);
        ArgumentOutOfRangeException.ThrowIfNegative(generation);
        return FilePath(folder, generation, "wal");
    }

    internal static string FilePath(string folder, long generation, string name) =>
        Path.Combine(folder, generation.ToString("D20", System.Globalization.CultureInfo.InvariantCulture) + "." + name);

    internal static void ValidateName(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        foreach (char c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_'))
            {
                throw new ArgumentException($"Snapshot file name '{name}' has a character other than letters, digits, '.', '-' and '_'.", nameof(name));
            }
        }

        if (name == "wal")
        {
            throw new ArgumentException("'wal' is reserved for the log.", nameof(name));
        }
    }

    private static (long Length, uint Crc) ChecksumAndSync(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.None, 1 << 16);
        var buffer = new byte[1 << 16];
        uint crc = 0;
        long length = 0;
        int read;
        while ((read = stream.Read(buffer)) > 0)
        {
            crc = Crc32C.Append(crc, buffer.AsSpan(0, read));
            length += read;
        }

        stream.Flush(flushToDisk: true);
        return (length, crc);
    }

    private static void VerifyFile(string path, long length, uint crc)
    {
        if (!File.Exists(path))
        {
            throw new InvalidDataException($"'{path}': the snapshot file named by the manifest is missing.");
        }

        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        if (stream.Length != length)
        {
            throw new InvalidDataException($"'{path}': the snapshot file has {stream.Length} bytes, the manifest says {length}.");
        }

        var buffer = new byte[1 << 16];
        uint actual = 0;
        int read;
        while ((read = stream.Read(buffer)) > 0)
        {
            actual = Crc32C.Append(actual, buffer.AsSpan(0, read));
        }

        if (actual != crc)
        {
            throw new InvalidDataException($"'{path}': the snapshot file fails its checksum (corrupted).");
        }
    }

    private static void WriteManifest(string folder, long generation, byte[] metadata, SnapshotFileInfo[] files)
    {
        using var buffer = new MemoryStream();
        using (var w = new BinaryWriter(buffer, Encoding.UTF8, leaveOpen: true))
        {
            w.Write(ManifestMagic);
            w.Write(ManifestVersion);
            w.Write(generation);
            w.Write(metadata.Length);
            w.Write(metadata);
            w.Write(files.Length);
            foreach (var file in files)
            {
                w.Write(file.Name);
                w.Write(file.Length);
                w.Write(file.Crc);
            }
        }

        uint checksum = Crc32C.Compute(buffer.GetBuffer().AsSpan(0, (int)buffer.Length));
        Span<byte> tail = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(tail, checksum);
        buffer.Write(tail);

        string temp = Path.Combine(folder, ManifestName + ".tmp");
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            stream.Write(buffer.GetBuffer().AsSpan(0, (int)buffer.Length));
            stream.Flush(flushToDisk: true);
        }

        // rename(2) replaces the target atomically: a reader (or a crash) sees the old manifest or the new one.
        File.Move(temp, Path.Combine(folder, ManifestName), overwrite: true);
    }

    private sealed record Manifest(long Generation, byte[] Metadata, SnapshotFileInfo[] Files);

    private static Manifest ReadManifest(string folder)
    {
        string path = Path.Combine(folder, ManifestName);
        byte[] bytes = File.ReadAllBytes(path);
        if (bytes.Length < 24)
        {
            throw new InvalidDataException($"'{path}': the manifest is truncated ({bytes.Length} bytes).");
        }

        uint expected = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(bytes.Length - 4));
        if (Crc32C.Compute(bytes.AsSpan(0, bytes.Length - 4)) != expected)
        {
            throw new InvalidDataException($"'{path}': the manifest fails its checksum (corrupted).");
        }

        try
        {
            using var reader = new BinaryReader(new MemoryStream(bytes, 0, bytes.Length - 4), Encoding.UTF8);
            if (reader.ReadUInt32() != ManifestMagic)
            {
                throw new InvalidDataException($"'{path}': not a VectorIndex manifest (bad magic).");
            }

            uint version = reader.ReadUInt32();
            if (version != ManifestVersion)
            {
                throw new InvalidDataException($"'{path}': manifest format version {version} is not supported (expected {ManifestVersion}).");
            }

            long generation = reader.ReadInt64();
            int metaLength = reader.ReadInt32();
            if (metaLength < 0 || metaLength > bytes.Length)
            {
                throw new InvalidDataException($"'{path}': bad metadata length {metaLength}.");
            }

            byte[] metadata = reader.ReadBytes(metaLength);
            int count = reader.ReadInt32();
            if (count < 0 || count > bytes.Length)
            {
                throw new InvalidDataException($"'{path}': bad file count {count}.");
            }

            var files = new SnapshotFileInfo[count];
            for (int i = 0; i < count; i++)
            {
                string name = reader.ReadString();
                ValidateName(name);
                files[i] = new SnapshotFileInfo(name, reader.ReadInt64(), reader.ReadUInt32());
            }

            return new Manifest(generation, metadata, files);
        }
        catch (Exception ex) when (ex is EndOfStreamException or ArgumentException or FormatException)
        {
            throw new InvalidDataException($"'{path}': the manifest is malformed ({ex.Message}).", ex);
        }
    }

    private static void DeleteOtherGenerations(string folder, long generation)
    {
        string keep = generation.ToString("D20", System.Globalization.CultureInfo.InvariantCulture) + ".";
        foreach (string file in Directory.EnumerateFiles(folder))
        {
            string name = Path.GetFileName(file);
            if (name.Length > 21 && name[20] == '.' && char.IsAsciiDigit(name[0]) && !name.StartsWith(keep, StringComparison.Ordinal))
            {
                try
                {
                    File.Delete(file);
                }
                catch (IOException)
                {
                    // A leftover is harmless: it is not named by the manifest, and the next open tries again.
                }
            }
        }
    }
}

/// <summary>A position in a log, returned by <see cref="DurableDirectory.Append"/> and awaited with <see cref="DurableDirectory.WaitDurableAsync"/>.</summary>
public readonly struct DurableTicket : IEquatable<DurableTicket>
{
    internal DurableTicket(WriteAheadLog log, long position)
    {
        Log = log;
        Position = position;
    }

    internal WriteAheadLog? Log { get; }

    /// <summary>The log position after the record.</summary>
    public long Position { get; }

    /// <inheritdoc/>
    public bool Equals(DurableTicket other) => ReferenceEquals(Log, other.Log) && Position == other.Position;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is DurableTicket other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Log, Position);

    /// <summary>Equality.</summary>
    /// <param name="left">One ticket.</param>
    /// <param name="right">The other.</param>
    /// <returns>Whether both are equal.</returns>
    public static bool operator ==(DurableTicket left, DurableTicket right) => left.Equals(right);

    /// <summary>Inequality.</summary>
    /// <param name="left">One ticket.</param>
    /// <param name="right">The other.</param>
    /// <returns>Whether they differ.</returns>
    public static bool operator !=(DurableTicket left, DurableTicket right) => !left.Equals(right);
}
