using System.Globalization;
using System.Text;
using VectorIndex.VectorData.Durability;

namespace VectorIndex.VectorData.Storage;

/// <summary>
/// The collections of one store location: a directory (shared by every store and collection object in the process
/// that opens it, through a static table keyed by full path) or a private in-memory set.
/// </summary>
/// <remarks>
/// Durable registries are reference counted: each store or directly constructed collection acquires one and releases
/// it when disposed; the last release closes the files, so a later open reads them from disk again.
/// </remarks>
internal sealed class CollectionRegistry
{
    /// <summary>The <c>VectorStoreSystemName</c> of this connector's metadata and exceptions.</summary>
    public const string SystemName = "vectorindex";

    private static readonly Dictionary<string, CollectionRegistry> s_durable = new(StringComparer.Ordinal);
    private static readonly object s_durableGate = new();

    private readonly object _gate = new();
    private readonly Dictionary<string, CollectionState> _open = new(StringComparer.Ordinal);
    private int _references;
    private bool _closed;

    private CollectionRegistry(string? directory, long snapshotThreshold)
    {
        Directory = directory;
        SnapshotThreshold = snapshotThreshold;
    }

    /// <summary>The full path of the store directory, or null in memory.</summary>
    public string? Directory { get; }

    public long SnapshotThreshold { get; }

    public static CollectionRegistry CreateInMemory() => new(null, long.MaxValue);

    public static CollectionRegistry Acquire(string directory, long snapshotThreshold)
    {
        string full = Path.GetFullPath(directory).TrimEnd(Path.DirectorySeparatorChar);
        lock (s_durableGate)
        {
            if (!s_durable.TryGetValue(full, out var registry))
            {
                System.IO.Directory.CreateDirectory(full);
                s_durable[full] = registry = new CollectionRegistry(full, snapshotThreshold);
            }

            registry._references++;
            return registry;
        }
    }

    public void Release()
    {
        if (Directory is null)
        {
            return;
        }

        lock (s_durableGate)
        {
            if (--_references > 0)
            {
                return;
            }

            s_durable.Remove(Directory);
        }

        lock (_gate)
        {
            _closed = true;
            foreach (var state in _open.Values)
            {
                state.Close();
            }

            _open.Clear();
        }
    }

    /// <summary>The open state of a collection, loading it from disk when needed; null when it does not exist.</summary>
    public CollectionState? TryGet(string name)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_closed, this);
            if (_open.TryGetValue(name, out var state))
            {
                return state;
            }

            if (Directory is null)
            {
                return null;
            }

            string folder = FolderOf(name);
            if (!DurableDirectory.Exists(folder))
            {
                return null;
            }

            state = CollectionState.OpenDurable(name, folder, SnapshotThreshold);
            _open[name] = state;
            return state;
        }
    }

    public CollectionState GetOrCreate(string name, CollectionSchema schema)
    {
        lock (_gate)
        {
            if (TryGet(name) is { } existing)
            {
                return existing;
            }

            var state = Directory is null
                ? CollectionState.CreateInMemory(name, schema)
                : CollectionState.CreateDurable(name, schema, FolderOf(name), SnapshotThreshold);
            _open[name] = state;
            return state;
        }
    }

    public bool Exists(string name)
    {
        lock (_gate)
        {
            return _open.ContainsKey(name) || (Directory is not null && DurableDirectory.Exists(FolderOf(name)));
        }
    }

    public IReadOnlyList<string> Names()
    {
        lock (_gate)
        {
            var names = new SortedSet<string>(_open.Keys, StringComparer.Ordinal);
            if (Directory is not null && System.IO.Directory.Exists(Directory))
            {
                foreach (string folder in System.IO.Directory.EnumerateDirectories(Directory))
                {
                    if (DurableDirectory.Exists(folder) && TryDecode(Path.GetFileName(folder), out string? name))
                    {
                        names.Add(name);
                    }
                }
            }

            return [.. names];
        }
    }

    public void Delete(string name)
    {
        lock (_gate)
        {
            if (_open.Remove(name, out var state))
            {
                state.Dispose();
            }

            if (Directory is not null)
            {
                string folder = FolderOf(name);
                if (System.IO.Directory.Exists(folder))
                {
                    // The manifest goes first: a crash half way through leaves a folder that is no collection.
                    File.Delete(Path.Combine(folder, "MANIFEST"));
                    System.IO.Directory.Delete(folder, recursive: true);
                }
            }
        }
    }

    /// <summary>
    /// The folder of a collection: its name with every character other than ASCII letters, digits, '-' and '_'
    /// written as '%' and two hex digits per UTF-8 byte, so that any name maps to one folder and back.
    /// </summary>
    public string FolderOf(string name)
    {
        var builder = new StringBuilder(name.Length);
        foreach (byte b in Encoding.UTF8.GetBytes(name))
        {
            if (char.IsAsciiLetterOrDigit((char)b) || b is (byte)'-' or (byte)'_')
            {
                builder.Append((char)b);
            }
            else
            {
                builder.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
            }
        }

        return Path.Combine(Directory!, builder.ToString());
    }

    private static bool TryDecode(string folderName, out string name)
    {
        var bytes = new List<byte>(folderName.Length);
        for (int i = 0; i < folderName.Length; i++)
        {
            if (folderName[i] == '%')
            {
                if (i + 2 >= folderName.Length)
                {
                    name = string.Empty;
                    return false;
                }

                if (!byte.TryParse(folderName.AsSpan(i + 1, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out byte b))
                {
                    name = string.Empty;
                    return false;
                }

                bytes.Add(b);
                i += 2;
            }
            else
            {
                bytes.Add((byte)folderName[i]);
            }
        }

        name = Encoding.UTF8.GetString(bytes.ToArray());
        return true;
    }
}
