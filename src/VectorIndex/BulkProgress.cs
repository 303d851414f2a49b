namespace VectorIndex;

/// <summary>
/// How far a bulk operation has got, so that a caller can show "<see cref="Completed"/> of <see cref="Total"/>":
/// reported by <see cref="HnswIndex.AddRange(ReadOnlyMemory{ulong}, ReadOnlyMemory{float}, IProgress{BulkProgress}, int, CancellationToken)"/>
/// and <see cref="HnswIndex.AddFrom(HnswIndex, int, IProgress{BulkProgress}?, CancellationToken)"/> (vectors added), and by
/// <see cref="HnswIndex.Compact(IProgress{BulkProgress}, CancellationToken)"/> (neighbour lists checked by the repair).
/// </summary>
/// <param name="Completed">Work done so far (vectors added, or lists checked): from 0 up to <paramref name="Total"/>.</param>
/// <param name="Total">
/// The work of the whole operation, fixed before it starts: the vectors it adds (rows of a repeated key count once, as
/// they are added once, unless the index keeps several vectors per key), or the lists a compaction checks.
/// </param>
public readonly record struct BulkProgress(int Completed, int Total)
{
    /// <summary><see cref="Completed"/> as a share of <see cref="Total"/>, from 0 to 1 (1 when there is nothing to do).</summary>
    public double Fraction => Total == 0 ? 1 : (double)Completed / Total;
}
