using VectorIndex.Distance;
using VectorIndex.Internal;

namespace VectorIndex;

/// <summary>
/// Exact nearest-neighbour search by a full SIMD scan: the ground truth for <see cref="HnswIndex"/>, and a fine index
/// for small collections. Same metrics, keys, filter and input checks as <see cref="HnswIndex"/>.
/// </summary>
/// <remarks>
/// Thread-safe: searches run in parallel with each other; <see cref="Add"/> and <see cref="Remove"/> wait for running
/// searches and run one at a time. Vectors are stored in one contiguous array, so a removal moves the last vector into
/// the freed row.
/// </remarks>
public sealed class BruteForceIndex : IDisposable
{
    private readonly ReaderWriterLockSlim _lock = new(LockRecursionPolicy.NoRecursion);
    private readonly Dictionary<ulong, int> _rows = [];
    private float[] _vectors = [];
    private ulong[] _keys = [];
    private int _count;
    private bool _disposed;

    /// <summary>Creates an empty exact index.</summary>
    /// <param name="dimensions">The number of floats in every vector; at least 1.</param>
    /// <param name="metric">The distance to rank by.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dimensions"/> &lt; 1, or an unknown metric.</exception>
    public BruteForceIndex(int dimensions, Metric metric = Metric.L2Squared)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(dimensions, 1);
        if (!Enum.IsDefined(metric))
        {
            throw new ArgumentOutOfRangeException(nameof(metric), metric, "Unknown metric.");
        }

        Dimensions = dimensions;
        Metric = metric;
    }

    /// <summary>The number of floats in every vector.</summary>
    public int Dimensions { get; }

    /// <summary>The distance the index ranks by.</summary>
    public Metric Metric { get; }

    /// <summary>The number of vectors stored.</summary>
    /// <exception cref="ObjectDisposedException">The index was disposed.</exception>
    public int Count
    {
        get
        {
            _lock.EnterReadLock();
            try
            {
                ThrowIfDisposed();
                return _count;
            }
            finally
            {
                _lock.ExitReadLock();
            }
        }
    }

    /// <summary>Adds <paramref name="vector"/> under <paramref name="key"/>, or replaces the vector of an existing key.</summary>
    /// <param name="key">The key searches return for this vector.</param>
    /// <param name="vector">Exactly <see cref="Dimensions"/> finite floats (non-zero for <see cref="Metric.Cosine"/>); copied.</param>
    /// <exception cref="ArgumentException">The vector has the wrong length, a NaN or infinity, or is all zeros under cosine.</exception>
    /// <exception cref="ObjectDisposedException">The index was disposed.</exception>
    public void Add(ulong key, ReadOnlySpan<float> vector)
    {
        VectorGuard.Check(vector, Dimensions, Metric, nameof(vector));
        _lock.EnterWriteLock();
        try
        {
            ThrowIfDisposed();
            if (!_rows.TryGetValue(key, out int row))
            {
                row = _count;
                if (row == _keys.Length)
                {
                    int grown = Math.Max(16, checked(row * 2));
                    Array.Resize(ref _keys, grown);
                    Array.Resize(ref _vectors, checked(grown * Dimensions));
                }

                _keys[row] = key;
                _rows.Add(key, row);
                _count++;
            }

            VectorGuard.CopyForMetric(vector, _vectors.AsSpan(row * Dimensions, Dimensions), Metric);
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }

    /// <summary>Removes the vector of <paramref name="key"/>.</summary>
    /// <returns>False when the key is not present.</returns>
    /// <exception cref="ObjectDisposedException">The index was disposed.</exception>
    public bool Remove(ulong key)
    {
        _lock.EnterWriteLock();
        try
        {
            ThrowIfDisposed();
            if (!_rows.Remove(key, out int row))
            {
                return false;
            }

            int last = --_count;
            if (row != last)
            {
                _vectors.AsSpan(last * Dimensions, Dimensions).CopyTo(_vectors.AsSpan(row * Dimensions, Dimensions));
                _keys[row] = _keys[last];
                _rows[_keys[row]] = row;
            }

            return true;
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }

    /// <summary>Whether a vector is stored under <paramref name="key"/>.</summary>
    /// <exception cref="ObjectDisposedException">The index was disposed.</exception>
    public bool Contains(ulong key)
    {
        _lock.EnterReadLock();
        try
        {
            ThrowIfDisposed();
            return _rows.ContainsKey(key);
        }
        finally
        {
            _lock.ExitReadLock();
        }
    }

    /// <summary>The exact <paramref name="k"/> nearest vectors to <paramref name="query"/>, nearest first.</summary>
    /// <param name="query">Exactly <see cref="Dimensions"/> finite floats (non-zero for <see cref="Metric.Cosine"/>).</param>
    /// <param name="k">How many results; at least 1.</param>
    /// <param name="options">Only <see cref="SearchOptions.Filter"/> and <see cref="SearchOptions.AllowedKeys"/> apply (the scan is exact, so there is no ef).</param>
    /// <exception cref="ArgumentException">The query has the wrong length, a NaN or infinity, or is all zeros under cosine.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="k"/> &lt; 1.</exception>
    /// <exception cref="ObjectDisposedException">The index was disposed.</exception>
    public IReadOnlyList<SearchResult> Search(ReadOnlySpan<float> query, int k, SearchOptions? options = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        var results = new SearchResult[Math.Min(k, Math.Max(1, Count))];
        int found = Search(query, results, options);
        return found == results.Length ? results : results[..found];
    }

    /// <summary>The exact nearest vectors to <paramref name="query"/>, nearest first, written to <paramref name="destination"/> (k is its length).</summary>
    /// <returns>How many results were written.</returns>
    /// <exception cref="ArgumentException">The query has the wrong length, a NaN or infinity, or is all zeros under cosine.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="destination"/> is empty.</exception>
    /// <exception cref="ObjectDisposedException">The index was disposed.</exception>
    public int Search(ReadOnlySpan<float> query, Span<SearchResult> destination, SearchOptions? options = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(destination.Length, 1, "k");
        VectorGuard.Check(query, Dimensions, Metric, nameof(query));
        float[] normalised = new float[Dimensions];
        VectorGuard.CopyForMetric(query, normalised, Metric);

        _lock.EnterReadLock();
        try
        {
            ThrowIfDisposed();
            var heap = new BinaryHeap<FurthestFirst>(destination.Length + 1);
            if (Metric == Metric.L2Squared)
            {
                Scan<L2SquaredDistance>(normalised, options is { Filters: true } ? options : null, heap, destination.Length);
            }
            else
            {
                Scan<InnerProductDistance>(normalised, options is { Filters: true } ? options : null, heap, destination.Length);
            }

            int found = heap.DrainNearestFirst(destination);
            for (int i = 0; i < found; i++)
            {
                destination[i] = destination[i] with { Key = _keys[(int)destination[i].Key] };
            }

            return found;
        }
        finally
        {
            _lock.ExitReadLock();
        }
    }

    /// <summary>Releases the index's memory. Further calls throw <see cref="ObjectDisposedException"/>.</summary>
    public void Dispose()
    {
        _lock.EnterWriteLock();
        try
        {
            _disposed = true;
            _vectors = [];
            _keys = [];
            _rows.Clear();
            _count = 0;
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }

    private void Scan<TDistance>(float[] query, SearchOptions? filter, BinaryHeap<FurthestFirst> heap, int k)
        where TDistance : struct, IDistance
    {
        int dims = Dimensions;
        ref float q = ref query[0];
        for (int row = 0; row < _count; row++)
        {
            if (filter is not null && !filter.Accepts(_keys[row]))
            {
                continue;
            }

            float d = TDistance.Compute(ref q, ref _vectors[row * dims], (nuint)dims);
            if (heap.Count < k)
            {
                heap.Push(d, row);
            }
            else if (d < heap.Top.Distance)
            {
                heap.Pop();
                heap.Push(d, row);
            }
        }
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);
}
