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
public sealed partial class BruteForceIndex : IDisposable
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

    /// <summary>
    /// The exact nearest vectors to <paramref name="query"/>, nearest first, written to <paramref name="destination"/>
    /// (k is its length). Allocates nothing once the calling thread has searched a brute-force index of this
    /// dimension and k before.
    /// </summary>
    /// <returns>How many results were written.</returns>
    /// <exception cref="ArgumentException">The query has the wrong length, a NaN or infinity, or is all zeros under cosine.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="destination"/> is empty.</exception>
    /// <exception cref="ObjectDisposedException">The index was disposed.</exception>
    public int Search(ReadOnlySpan<float> query, Span<SearchResult> destination, SearchOptions? options = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(destination.Length, 1, "k");
        options?.Validate();
        VectorGuard.Check(query, Dimensions, Metric, nameof(query));
        Scratch scratch = Scratch.Rent(Dimensions);
        VectorGuard.CopyForMetric(query, scratch.Query, Metric);

        _lock.EnterReadLock();
        try
        {
            ThrowIfDisposed();
            BinaryHeap<FurthestFirst> heap = Scan(scratch, options, destination.Length, float.PositiveInfinity);

            int found = heap.DrainNearestFirst(destination);
            for (int i = 0; i < found; i++)
            {
                destination[i] = destination[i] with { Key = _keys[(int)destination[i].Key] };
            }

            return SearchOptions.WithinMaxDistance(options, destination[..found]);
        }
        finally
        {
            _lock.ExitReadLock();
            Scratch.Return(scratch);
        }
    }

    /// <summary>Every vector within <paramref name="radius"/> of <paramref name="query"/> (distance &lt;= radius), nearest first: the exact range search.</summary>
    /// <param name="query">Exactly <see cref="Dimensions"/> finite floats (non-zero for <see cref="Metric.Cosine"/>).</param>
    /// <param name="radius">The distance threshold; not NaN.</param>
    /// <param name="options">Only <see cref="SearchOptions.Filter"/> and <see cref="SearchOptions.AllowedKeys"/> apply.</param>
    /// <exception cref="ArgumentException">The query has the wrong length, a NaN or infinity, or is all zeros under cosine; or the radius is NaN.</exception>
    /// <exception cref="ObjectDisposedException">The index was disposed.</exception>
    public IReadOnlyList<SearchResult> SearchRange(ReadOnlySpan<float> query, float radius, SearchOptions? options = null)
    {
        if (float.IsNaN(radius))
        {
            throw new ArgumentException("The radius is NaN.", nameof(radius));
        }

        VectorGuard.Check(query, Dimensions, Metric, nameof(query));
        Scratch scratch = Scratch.Rent(Dimensions);
        VectorGuard.CopyForMetric(query, scratch.Query, Metric);
        _lock.EnterReadLock();
        try
        {
            ThrowIfDisposed();
            BinaryHeap<FurthestFirst> heap = Scan(scratch, options, int.MaxValue, radius);

            var results = new SearchResult[heap.Count];
            heap.DrainNearestFirst(results);
            for (int i = 0; i < results.Length; i++)
            {
                results[i] = results[i] with { Key = _keys[(int)results[i].Key] };
            }

            return results;
        }
        finally
        {
            _lock.ExitReadLock();
            Scratch.Return(scratch);
        }
    }

    /// <summary>Copies the stored vector of <paramref name="key"/> (normalised, for <see cref="Metric.Cosine"/>).</summary>
    /// <param name="key">The key.</param>
    /// <param name="destination">At least <see cref="Dimensions"/> floats; the first <see cref="Dimensions"/> are written.</param>
    /// <returns>False (and nothing written) when the key is not present.</returns>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is shorter than <see cref="Dimensions"/>.</exception>
    /// <exception cref="ObjectDisposedException">The index was disposed.</exception>
    public bool TryGetVector(ulong key, Span<float> destination)
    {
        if (destination.Length < Dimensions)
        {
            throw new ArgumentException(
                $"The destination has room for {destination.Length} floats; the vectors have {Dimensions}.", nameof(destination));
        }

        _lock.EnterReadLock();
        try
        {
            ThrowIfDisposed();
            if (!_rows.TryGetValue(key, out int row))
            {
                return false;
            }

            _vectors.AsSpan(row * Dimensions, Dimensions).CopyTo(destination);
            return true;
        }
        finally
        {
            _lock.ExitReadLock();
        }
    }

    /// <summary>The keys stored at one moment (a copy), in no particular order.</summary>
    /// <exception cref="ObjectDisposedException">The index was disposed.</exception>
    public ulong[] GetKeys()
    {
        _lock.EnterReadLock();
        try
        {
            ThrowIfDisposed();
            return _keys.AsSpan(0, _count).ToArray();
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

    /// <summary>The scratch's heap, holding the <paramref name="k"/> nearest rows within <paramref name="radius"/> that the options accept (ids are rows).</summary>
    private BinaryHeap<FurthestFirst> Scan(Scratch scratch, SearchOptions? options, int k, float radius)
    {
        BinaryHeap<FurthestFirst> heap = scratch.Heap;
        heap.Clear();
        SearchOptions? filter = options is { Filters: true } ? options : null;
        if (Metric == Metric.L2Squared)
        {
            Scan<L2SquaredDistance>(scratch.Query, filter, heap, k, radius);
        }
        else
        {
            Scan<InnerProductDistance>(scratch.Query, filter, heap, k, radius);
        }

        return heap;
    }

    /// <summary>The <paramref name="k"/> nearest rows within <paramref name="radius"/> into <paramref name="heap"/>, by row.</summary>
    private void Scan<TDistance>(float[] query, SearchOptions? filter, BinaryHeap<FurthestFirst> heap, int k, float radius)
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
            if (d > radius)
            {
                continue;
            }

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

    /// <summary>A thread's query buffer and heap, reused by every brute-force search of the same dimension on the thread.</summary>
    private sealed class Scratch(int dimensions)
    {
        [ThreadStatic]
        private static Scratch? t_scratch;

        public float[] Query { get; } = new float[dimensions];

        public BinaryHeap<FurthestFirst> Heap { get; } = new(16);

        /// <summary>The thread's scratch, taken out until <see cref="Return"/> (a filter that searches again gets its own).</summary>
        public static Scratch Rent(int dimensions)
        {
            Scratch? scratch = t_scratch;
            t_scratch = null;
            return scratch is not null && scratch.Query.Length == dimensions ? scratch : new Scratch(dimensions);
        }

        public static void Return(Scratch scratch) => t_scratch = scratch;
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);
}
