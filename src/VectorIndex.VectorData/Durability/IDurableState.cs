namespace VectorIndex.VectorData.Durability;

/// <summary>
/// The in-memory state a <see cref="DurableDirectory"/> keeps durable: it loads a snapshot, replays log records on top
/// of it, and writes a snapshot of itself when the log is folded.
/// </summary>
public interface IDurableState
{
    /// <summary>Loads the state from the snapshot the manifest names (not called when there is none yet).</summary>
    /// <param name="snapshot">The snapshot's files, checksums already verified.</param>
    void LoadSnapshot(SnapshotReader snapshot);

    /// <summary>Applies one log record, in log order. Records must be idempotent over a snapshot taken after them.</summary>
    /// <param name="record">The payload given to <see cref="DurableDirectory.Append"/>.</param>
    void Replay(ReadOnlyMemory<byte> record);

    /// <summary>Writes the whole state as snapshot files. No record is appended while this runs.</summary>
    /// <param name="snapshot">Creates the snapshot's files.</param>
    void WriteSnapshot(SnapshotWriter snapshot);
}
