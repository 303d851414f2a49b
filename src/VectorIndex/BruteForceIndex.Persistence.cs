using VectorIndex.Persistence;

namespace VectorIndex;

/// <summary>Save and load (the brute-force file of docs/file-format.md).</summary>
public sealed partial class BruteForceIndex
{
    /// <summary>
    /// Saves the index to <paramref name="path"/> atomically, as <see cref="HnswIndex.Save(string)"/> does: a temporary
    /// file in the same folder, flushed to disk, then renamed over the target. A crash or an exception midway leaves
    /// any old file as it was, and no temporary file stays behind.
    /// </summary>
    /// <remarks>Adds and removes wait while the index is written; searches go on.</remarks>
    /// <exception cref="ArgumentException"><paramref name="path"/> is null or empty.</exception>
    /// <exception cref="IOException">The file cannot be written.</exception>
    /// <exception cref="ObjectDisposedException">The index was disposed.</exception>
    public void Save(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ThrowIfDisposed();
        AtomicFile.Write(path, Save);
    }

    /// <summary>Writes the index to <paramref name="stream"/> (any writable stream; it is not closed).</summary>
    /// <remarks>Adds and removes wait while the index is written; searches go on.</remarks>
    /// <exception cref="ArgumentNullException"><paramref name="stream"/> is null.</exception>
    /// <exception cref="ObjectDisposedException">The index was disposed.</exception>
    public void Save(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        _lock.EnterReadLock();
        try
        {
            ThrowIfDisposed();
            FlatFile.Write(new FlatFile.Contents(Dimensions, Metric, _count, _keys, _vectors), stream);
        }
        finally
        {
            _lock.ExitReadLock();
        }
    }

    /// <summary>
    /// Loads an index saved by <see cref="Save(string)"/>: the same dimensions, metric, keys and stored vectors in the
    /// same order, so every search answers exactly as the saved index did.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="path"/> is null or empty.</exception>
    /// <exception cref="InvalidDataException">The file is truncated, corrupted, of another format (an <see cref="HnswIndex"/> file included) or of a newer format version; the message says what.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static BruteForceIndex Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.SequentialScan);
        return Load(file);
    }

    /// <summary>Loads an index written by <see cref="Save(Stream)"/>, reading from the stream's position. The stream is not closed.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="stream"/> is null.</exception>
    /// <exception cref="InvalidDataException">The data is truncated, corrupted, of another format (an <see cref="HnswIndex"/> file included) or of a newer format version; the message says what.</exception>
    public static BruteForceIndex Load(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        FlatFile.Contents contents = FlatFile.Read(stream);
        var index = new BruteForceIndex(contents.Dimensions, contents.Metric)
        {
            _keys = contents.Keys,
            _vectors = contents.Vectors,
            _count = contents.Count,
        };
        for (int row = 0; row < contents.Count; row++)
        {
            index._rows.Add(contents.Keys[row], row);
        }

        return index;
    }
}
