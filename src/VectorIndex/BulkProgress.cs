namespace VectorIndex;

/// <summary>
/// How far a bulk operation has got, so that a caller can show "<see cref="Completed"/> of <see cref="Total"/>":
/// reported by <see cref="HnswIndex.AddRange(ReadOnlyMemory{ulong}, ReadOnlyMemory{float}, IProgress{BulkProgress}, int, CancellationToken)"/>
/// and <see cref="HnswIndex.AddFrom(HnswIndex, int, IProgress{BulkProgress}?, CancellationToken)"/>.
/// </summary>
/// <param name="Completed">Vectors added so far: from 0 up to <paramref name="Total"/>.</param>
/// <param name="Total">
/// Vectors the operation adds in all, fixed for the whole operation (rows of a repeated key count once, as they
/// are added once, unless the index keeps several vectors per key).
/// </param>
public readonly record struct BulkProgress(int Completed, int Total)
{
    /// <summary><see cref="Completed"/> as a share of <see cref="Total"/>, from 0 to 1 (1 when there is nothing to do).</summary>
    public double Fraction => Total == 0 ? 1 : (double)Completed / Total;
}
