using System.Collections;

namespace VectorIndex.VectorData.Storage;

/// <summary>
/// Row ids by value of one indexed data property (each element for arrays and lists). Guarded by the collection's
/// lock: changed under the write side, read under the read side.
/// </summary>
internal sealed class InvertedIndex(string storageName)
{
    private readonly Dictionary<object, HashSet<ulong>> _ids = [];

    public string StorageName { get; } = storageName;

    public void Add(Row row) => Change(row, add: true);

    public void Remove(Row row) => Change(row, add: false);

    private void Change(Row row, bool add)
    {
        // Lists and arrays are indexed by element (for Contains filters), everything else by value (null included).
        object? value = row.GetData(StorageName);
        if (value is IList list)
        {
            foreach (object? item in list)
            {
                Change(DataValues.IndexKey(item), row.Id, add);
            }
        }
        else
        {
            Change(DataValues.IndexKey(value), row.Id, add);
        }
    }

    private void Change(object key, ulong id, bool add)
    {
        if (add)
        {
            if (!_ids.TryGetValue(key, out var set))
            {
                _ids[key] = set = [];
            }

            set.Add(id);
        }
        else if (_ids.TryGetValue(key, out var set))
        {
            set.Remove(id);
            if (set.Count == 0)
            {
                _ids.Remove(key);
            }
        }
    }

    /// <summary>The ids whose value (or one of whose elements) equals <paramref name="value"/>.</summary>
    public IReadOnlyCollection<ulong> Lookup(object? value) =>
        _ids.TryGetValue(DataValues.IndexKey(value), out var set) ? set : Array.Empty<ulong>();
}
