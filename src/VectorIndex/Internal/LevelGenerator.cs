namespace VectorIndex.Internal;

/// <summary>
/// Draws node levels as the paper does, <c>floor(-ln(U) * mL)</c> with <c>mL = 1 / ln(M)</c>, from a SplitMix64
/// stream: seeded, identical on every platform and runtime, and safe to call from many threads (each call takes
/// the next value of the stream atomically, so a single-threaded insertion order reproduces the same levels).
/// </summary>
internal sealed class LevelGenerator(int m, ulong state)
{
    /// <summary>No node gets a level above this (reached with probability about M^-32).</summary>
    public const int MaxLevel = 31;

    private readonly double _mL = 1.0 / Math.Log(m);
    private ulong _state = state;

    /// <summary>The generator's position in its stream, to save and restore it.</summary>
    public ulong State => Volatile.Read(ref _state);

    /// <summary>Moves to <paramref name="state"/>, a position another generator reached (a graph taken whole from another).</summary>
    public void Restore(ulong state) => Volatile.Write(ref _state, state);

    public int Next()
    {
        ulong z = Interlocked.Add(ref _state, 0x9E3779B97F4A7C15UL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        z ^= z >> 31;

        // U in (0, 1]: the top 53 bits, shifted off zero.
        double u = ((z >> 11) + 1) * (1.0 / (1UL << 53));
        double level = -Math.Log(u) * _mL;
        return level >= MaxLevel ? MaxLevel : (int)level;
    }
}
