namespace VectorIndex.Internal;

/// <summary>
/// The visited set of one search: one bit per node, and the list of the 64-bit words this search set bits in.
/// Starting a search clears only those words (a search touches a few thousand nodes, not the index), so the cost of a
/// reset follows the search, not the node count. One bit per node keeps the set in L2 where two-byte epoch tags did
/// not: 125 KB at a million nodes against 2 MB.
/// </summary>
internal sealed class VisitedSet
{
    private ulong[] _bits = [];
    private int[] _touched = []; // the words with a bit set, each once (listed when it leaves zero); as long as _bits
    private int _touchedCount;
    private int _limit;

    /// <summary>The node count given to <see cref="Reset"/>: ids at or above it are never visited.</summary>
    public int Limit => _limit;

    /// <summary>Starts a new search over nodes 0..<paramref name="nodeCount"/>-1.</summary>
    public void Reset(int nodeCount)
    {
        ulong[] bits = _bits;
        int[] touched = _touched;
        for (int i = 0; i < _touchedCount; i++)
        {
            bits[touched[i]] = 0;
        }

        _touchedCount = 0;
        int words = (int)(((uint)nodeCount + 63) >> 6);
        if (bits.Length < words)
        {
            // Grow with slack so an index that grows while it is searched does not reallocate every query.
            int length = words + (words >> 2);
            _bits = new ulong[length];
            _touched = new int[length];
        }

        _limit = nodeCount;
    }

    /// <summary>
    /// Marks <paramref name="id"/> and says whether it was unmarked. An id at or past the count given to
    /// <see cref="Reset"/> (a node added by another thread after this search started) reports false: the search does not see nodes newer than itself.
    /// </summary>
    public bool TryVisit(int id)
    {
        ulong[] bits = _bits;
        int word = id >> 6;
        if ((uint)id >= (uint)_limit || (uint)word >= (uint)bits.Length)
        {
            return false;
        }

        ulong value = bits[word];
        ulong mask = 1UL << id; // the shift count is taken mod 64
        if ((value & mask) != 0)
        {
            return false;
        }

        if (value == 0)
        {
            _touched[_touchedCount++] = word; // at most once per word: never past the end
        }

        bits[word] = value | mask;
        return true;
    }
}
