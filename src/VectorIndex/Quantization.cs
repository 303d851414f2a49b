namespace VectorIndex;

/// <summary>What an <see cref="HnswIndex"/>'s searches walk (<see cref="HnswOptions.Quantization"/>).</summary>
public enum Quantization
{
    /// <summary>The float32 vectors (the first release's behaviour, and the default).</summary>
    None,

    /// <summary>8-bit codes of the vectors (a quarter of their bytes); the best candidates are re-ranked with float distances.</summary>
    Int8,

    /// <summary>4-bit codes (an eighth of the vectors' bytes), re-ranked the same way.</summary>
    Int4,
}
