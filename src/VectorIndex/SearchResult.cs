namespace VectorIndex;

/// <summary>One hit of a search: the key it was added under and its distance to the query under the index's metric.</summary>
/// <param name="Key">The key the vector was added under.</param>
/// <param name="Distance">The distance to the query; smaller is nearer.</param>
public readonly record struct SearchResult(ulong Key, float Distance);
