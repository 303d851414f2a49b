using VectorIndex.Graph;

namespace VectorIndex;

/// <summary>The keys as a whole: listing them, removing many, removing all.</summary>
public sealed partial class HnswIndex
{
    /// <summary>
    /// The live keys at one moment: a copy, safe to enumerate while other threads add and remove (it does not see
    /// their changes). In no particular order.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The index was disposed.</exception>
    public ulong[] GetKeys()
    {
        ThrowIfDisposed();
        return _keys.Keys();
    }

    /// <summary>
    /// Removes the vectors of <paramref name="keys"/> (keys not present are skipped), then compacts once if the removed
    /// vectors call for it, rather than once per tenth as single removes would.
    /// </summary>
    /// <returns>How many keys were present and removed.</returns>
    /// <exception cref="InvalidOperationException">The index is read-only (<see cref="OpenReadOnly(string)"/>).</exception>
    /// <exception cref="ObjectDisposedException">The index was disposed.</exception>
    public int RemoveRange(ReadOnlySpan<ulong> keys)
    {
        ThrowIfDisposed();
        ThrowIfReadOnly();
        int removed = 0;
        _writeGate.EnterReadLock();
        try
        {
            ThrowIfDisposed();
            foreach (ulong key in keys)
            {
                lock (_keys.StripeOf(key))
                {
                    removed += _keys.Remove(key) ? 1 : 0;
                }
            }
        }
        finally
        {
            _writeGate.ExitReadLock();
        }

        if (removed > 0)
        {
            CompactIfDue();
        }

        return removed;
    }

    /// <summary>
    /// Removes every vector and gives the memory back: afterwards the index is as a new one with the same options
    /// (the level generator goes on where it was). Searches running meanwhile return what they find before or after.
    /// </summary>
    /// <exception cref="InvalidOperationException">The index is read-only (<see cref="OpenReadOnly(string)"/>).</exception>
    /// <exception cref="ObjectDisposedException">The index was disposed.</exception>
    public void Clear()
    {
        ThrowIfDisposed();
        ThrowIfReadOnly();
        Exclusively(() =>
        {
            // Writers are out: every key is removed, and the compaction unlinks and frees all of it at once.
            foreach (ulong key in _keys.Keys())
            {
                _keys.Remove(key);
            }

            return CompactCore(CancellationToken.None);
        });
    }

    /// <summary>Counts, the graph's shape (levels, layer-0 degrees) and bytes by kind, for monitoring; one pass over the nodes.</summary>
    /// <exception cref="ObjectDisposedException">The index was disposed.</exception>
    public IndexStatistics GetStatistics()
    {
        ThrowIfDisposed();
        _writeGate.EnterReadLock();
        try
        {
            ThrowIfDisposed();
            HnswGraph g = _graph;
            int n = g.NodeCount;
            var levels = new int[Math.Max(0, g.MaxLevel) + 1];
            var degrees = new int[g.M0 + 1];
            var links = new int[g.M0];
            long upperInts = 0, degreeSum = 0;
            for (int id = 0; id < n; id++)
            {
                int level = g.LevelOf(id);
                if (level < levels.Length)
                {
                    levels[level]++;
                }

                upperInts += (long)level * HnswGraph.UpperStride(g.M);
                int degree = g.ReadLinks(id, 0, links);
                degrees[degree]++;
                degreeSum += degree;
            }

            return new IndexStatistics
            {
                Count = Count,
                VectorCount = VectorCount,
                NodeCount = n,
                PendingRemovals = PendingRemovals,
                MaxLevel = n == 0 ? -1 : g.MaxLevel,
                NodesPerLevel = levels,
                Layer0DegreeHistogram = degrees,
                MeanLayer0Degree = n == 0 ? 0 : (double)degreeSum / n,
                VectorBytes = (long)n * g.PaddedDimensions * sizeof(float),
                Layer0LinkBytes = (long)n * HnswGraph.Layer0Stride(g.M) * sizeof(int),
                UpperLayerBytes = upperInts * sizeof(int),
                KeyAndFlagBytes = n * (long)(sizeof(ulong) + sizeof(byte) + sizeof(int)),
                IsMemoryMapped = g.Frozen,
                CodeBytes = g.Segments.Quantizer is { } quantizer ? (long)n * quantizer.CodeBytes : 0,
                ClippedShare = g.Segments.Quantizer?.ClippedShare ?? 0,
            };
        }
        finally
        {
            _writeGate.ExitReadLock();
        }
    }
}
