namespace VectorIndex.VectorData.Storage;

/// <summary>A vector as stored: the caller's values (never normalised) and whether an embedding generator made it.</summary>
internal readonly record struct StoredVector(float[] Values, bool Generated);

/// <summary>
/// One record as the collection stores it, never the caller's object. Immutable once built: an upsert publishes a new
/// row, so a reader holding a row never sees it change (and may use it after leaving the lock).
/// </summary>
internal sealed class Row(object key, ulong id, Dictionary<string, object?> data, Dictionary<string, StoredVector> vectors)
{
    /// <summary>The caller's key, boxed as the collection's key type.</summary>
    public object Key { get; } = key;

    /// <summary>The dense id that stands for the key in the vector indexes and the log.</summary>
    public ulong Id { get; } = id;

    /// <summary>Data values by storage name. Arrays and lists are private copies.</summary>
    public Dictionary<string, object?> Data { get; } = data;

    /// <summary>Vectors by storage name; a missing entry means no vector.</summary>
    public Dictionary<string, StoredVector> Vectors { get; } = vectors;

    /// <summary>The value of a data property, or null when the row has none.</summary>
    public object? GetData(string storageName) => Data.TryGetValue(storageName, out var value) ? value : null;
}

/// <summary>A row before it has an id (built outside the collection's lock).</summary>
internal sealed record PendingRow(object Key, Dictionary<string, object?> Data, Dictionary<string, StoredVector> Vectors);
