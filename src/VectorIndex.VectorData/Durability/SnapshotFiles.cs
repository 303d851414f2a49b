namespace VectorIndex.VectorData.Durability;

/// <summary>Creates the files of a snapshot being written. Files not created through it are not part of the snapshot.</summary>
public sealed class SnapshotWriter
{
    private readonly string _folder;
    private readonly long _generation;
    private readonly List<string> _names = [];

    internal SnapshotWriter(string folder, long generation)
    {
        _folder = folder;
        _generation = generation;
    }

    internal IReadOnlyList<string> Names => _names;

    /// <summary>Creates a snapshot file and returns a stream to write it; the caller disposes the stream.</summary>
    /// <param name="name">A file name unique within the snapshot (letters, digits, '.', '-', '_').</param>
    /// <returns>A writable stream.</returns>
    public Stream Create(string name) => new FileStream(GetPath(name), FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);

    /// <summary>Reserves a snapshot file name and returns its path, for writers that take a path (such as <c>HnswIndex.Save</c>).</summary>
    /// <param name="name">A file name unique within the snapshot (letters, digits, '.', '-', '_').</param>
    /// <returns>The path to write.</returns>
    public string GetPath(string name)
    {
        DurableDirectory.ValidateName(name);
        if (_names.Contains(name))
        {
            throw new ArgumentException($"The snapshot already has a file named '{name}'.", nameof(name));
        }

        _names.Add(name);
        return DurableDirectory.FilePath(_folder, _generation, name);
    }
}

/// <summary>The files of the snapshot a <see cref="DurableDirectory"/> opened, their checksums verified.</summary>
public sealed class SnapshotReader
{
    private readonly string _folder;
    private readonly long _generation;
    private readonly HashSet<string> _names;

    internal SnapshotReader(string folder, long generation, IEnumerable<string> names)
    {
        _folder = folder;
        _generation = generation;
        _names = [.. names];
    }

    /// <summary>Whether the snapshot has a file of this name.</summary>
    /// <param name="name">The name given when the snapshot was written.</param>
    /// <returns>True when it does.</returns>
    public bool Contains(string name) => _names.Contains(name);

    /// <summary>The path of a snapshot file.</summary>
    /// <param name="name">The name given when the snapshot was written.</param>
    /// <returns>The path.</returns>
    public string GetPath(string name) =>
        _names.Contains(name)
            ? DurableDirectory.FilePath(_folder, _generation, name)
            : throw new InvalidDataException($"The snapshot in '{_folder}' has no file '{name}'.");

    /// <summary>Opens a snapshot file for reading; the caller disposes the stream.</summary>
    /// <param name="name">The name given when the snapshot was written.</param>
    /// <returns>A readable stream.</returns>
    public Stream Open(string name) => new FileStream(GetPath(name), FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
}

/// <summary>A snapshot file as a manifest names it: its name, length and CRC-32C (Castagnoli).</summary>
/// <param name="Name">The name given when the snapshot was written.</param>
/// <param name="Length">The length in bytes.</param>
/// <param name="Crc">The CRC-32C of the whole file.</param>
public readonly record struct SnapshotFileInfo(string Name, long Length, uint Crc);
