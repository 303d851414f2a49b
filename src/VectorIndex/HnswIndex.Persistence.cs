using VectorIndex.Persistence;

namespace VectorIndex;

/// <summary>Save, load and memory-mapped open (the format is docs/file-format.md).</summary>
public sealed partial class HnswIndex
{
    /// <summary>
    /// Saves the index to <paramref name="path"/> atomically: it writes a temporary file in the same folder, flushes
    /// it to disk, then renames it over the target. A crash or an exception midway leaves any old file as it was, and
    /// no temporary file stays behind. Readers that have the old file open keep reading the old bytes.
    /// </summary>
    /// <remarks>
    /// The file holds the index as it was when the save began. Adds and removes wait only while its links, keys and
    /// flags are copied (about 2M + 3 ints a vector); they go on while the vectors are written, and only a compaction
    /// waits for the end. Searches go on throughout.
    /// </remarks>
    /// <exception cref="IOException">The file cannot be written.</exception>
    /// <exception cref="ObjectDisposedException">The index was disposed.</exception>
    public void Save(string path) => SaveToFile(path, null, CancellationToken.None);

    /// <summary>Writes the index to <paramref name="stream"/> (any writable stream; it is not closed).</summary>
    /// <remarks>
    /// The file holds the index as it was when the save began. Adds and removes wait only while its links, keys and
    /// flags are copied (about 2M + 3 ints a vector); they go on while the vectors are written, and only a compaction
    /// waits for the end. Searches go on throughout.
    /// </remarks>
    /// <exception cref="ObjectDisposedException">The index was disposed.</exception>
    public void Save(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        WriteTo(stream, null, CancellationToken.None);
    }

    /// <summary>As <see cref="Save(string)"/>, on the thread pool, with progress in bytes written and cancellation (the old file stays).</summary>
    /// <exception cref="OperationCanceledException">Cancelled; no file was changed.</exception>
    public Task SaveAsync(string path, IProgress<long>? progress = null, CancellationToken cancellationToken = default) =>
        Task.Run(() => SaveToFile(path, progress, cancellationToken), cancellationToken);

    /// <summary>As <see cref="Save(Stream)"/>, on the thread pool, with progress in bytes written and cancellation.</summary>
    public Task SaveAsync(Stream stream, IProgress<long>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        return Task.Run(() => WriteTo(stream, progress, cancellationToken), cancellationToken);
    }

    /// <summary>Loads an index saved by <see cref="Save(string)"/> into memory; it answers every query as the saved one did and accepts adds and removes.</summary>
    /// <exception cref="InvalidDataException">The file is truncated, corrupted, of another format or of a newer format version; the message says what.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static HnswIndex Load(string path)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.SequentialScan);
        return ReadFrom(file, null, CancellationToken.None);
    }

    /// <summary>Loads an index written by <see cref="Save(Stream)"/>, reading from the stream's position. The stream is not closed.</summary>
    /// <exception cref="InvalidDataException">The data is truncated, corrupted, of another format or of a newer format version; the message says what.</exception>
    public static HnswIndex Load(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        return ReadFrom(stream, null, CancellationToken.None);
    }

    /// <summary>As <see cref="Load(string)"/>, on the thread pool, with progress in bytes read and cancellation.</summary>
    public static Task<HnswIndex> LoadAsync(string path, IProgress<long>? progress = null, CancellationToken cancellationToken = default) =>
        Task.Run(
            () =>
            {
                using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.SequentialScan);
                return ReadFrom(file, progress, cancellationToken);
            },
            cancellationToken);

    /// <summary>As <see cref="Load(Stream)"/>, on the thread pool, with progress in bytes read and cancellation.</summary>
    public static Task<HnswIndex> LoadAsync(Stream stream, IProgress<long>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        return Task.Run(() => ReadFrom(stream, progress, cancellationToken), cancellationToken);
    }

    /// <summary>
    /// Opens a saved index read-only by mapping the file into memory: vectors and links are searched in place, not
    /// read, so opening takes milliseconds whatever the size, and the OS pages the file in as searches touch it.
    /// The checksums of the whole file are verified first (one pass over it); see <see cref="OpenReadOnly(string, bool)"/>
    /// to skip that. Add and Remove throw <see cref="InvalidOperationException"/>. Dispose the index to unmap the file.
    /// </summary>
    /// <remarks>
    /// The pass maps every page of the file into the process. For a quantised index (trained codes) the open then
    /// gives the float vectors' pages back on Linux (<c>madvise</c> <c>MADV_DONTNEED</c>, and <c>MADV_RANDOM</c> for
    /// later reads): the walk reads codes, links and keys, and the floats only of the vectors it re-ranks, which are
    /// mapped again as searches read them. The pages stay in the OS page cache either way.
    /// </remarks>
    /// <exception cref="InvalidDataException">The file is truncated, corrupted, of another format or of a newer format version.</exception>
    /// <exception cref="IOException">The file cannot be opened.</exception>
    public static HnswIndex OpenReadOnly(string path) => OpenReadOnly(path, verifyChecksums: true);

    /// <summary>
    /// As <see cref="OpenReadOnly(string)"/>; with <paramref name="verifyChecksums"/> false, the vectors and layer-0
    /// links are neither checksummed nor checked at open (the header, keys, levels and upper layers always are).
    /// A corrupted file then gives wrong results, never a crash: searches bound every link by the node count.
    /// </summary>
    /// <exception cref="InvalidDataException">The file is truncated, corrupted, of another format or of a newer format version.</exception>
    /// <exception cref="IOException">The file cannot be opened.</exception>
    public static HnswIndex OpenReadOnly(string path, bool verifyChecksums)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return new(Guard(() => IndexReader.Map(path, verifyChecksums)));
    }

    private void SaveToFile(string path, IProgress<long>? progress, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        AtomicFile.Write(path, file => WriteTo(file, progress, cancellationToken));
    }

    /// <summary>
    /// Copies what adds and removes change while holding the write gate exclusively, then writes that copy and the
    /// vectors holding it as an upgradeable reader: adds and removes go on, and only a compaction (which moves
    /// vectors) waits for the end of the write.
    /// </summary>
    private void WriteTo(Stream stream, IProgress<long>? progress, CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        _writeGate.EnterUpgradeableReadLock();
        try
        {
            IndexWriter.GraphSnapshot snapshot = Exclusively(() => IndexWriter.Snapshot(_graph, Options, _keys.VectorCount));
            IndexWriter.Write(snapshot, stream, progress, cancellationToken);
        }
        finally
        {
            _writeGate.ExitUpgradeableReadLock();
        }
    }

    private static HnswIndex ReadFrom(Stream stream, IProgress<long>? progress, CancellationToken cancellationToken) =>
        new(Guard(() => IndexReader.Read(stream, progress, cancellationToken)));

    /// <summary>
    /// The reader throws <see cref="InvalidDataException"/> for every fault a file can have, having checked each length,
    /// count and id before it uses it; only the exceptions it expects from the stream (<see cref="EndOfStreamException"/>
    /// for a file shorter than its sections say) are turned into one here. Anything else is a bug in the reader and
    /// surfaces as itself.
    /// </summary>
    private static LoadedGraph Guard(Func<LoadedGraph> read)
    {
        try
        {
            return read();
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException($"Not a valid VectorIndex index: it ends early ({e.Message})", e);
        }
    }
}
