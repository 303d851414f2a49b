namespace VectorIndex;

/// <summary>The distance an index ranks its vectors by. Smaller is nearer for every metric.</summary>
public enum Metric
{
    /// <summary>Squared Euclidean distance, <c>sum((a_i - b_i)^2)</c>, not square-rooted (as in hnswlib).</summary>
    L2Squared,

    /// <summary><c>1 - dot(a, b)</c>. Use it for vectors whose inner product is the similarity (for example unnormalised embeddings trained for dot product).</summary>
    InnerProduct,

    /// <summary><c>1 - dot(a, b) / (|a| |b|)</c>. Vectors and queries are normalised on the way in, after which it is an inner product.</summary>
    Cosine,
}
