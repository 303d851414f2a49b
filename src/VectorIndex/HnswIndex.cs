using VectorIndex.Distance;
using VectorIndex.Graph;
using VectorIndex.Internal;
using VectorIndex.Persistence;
using VectorIndex.Storage;

namespace VectorIndex;

/// <summary>
/// An approximate nearest-neighbour index over float vectors: the hierarchical navigable small world graph of
/// Malkov and Yashunin. Vectors are added under 64-bit keys; searches return the keys of the nearest vectors.
/// </summary>
/// <remarks>
/// <para>Every member may be called from many threads at once. Concurrent <see cref="Add"/>, <see cref="AddRange(ReadOnlyMemory{ulong}, ReadOnlyMemory{float}, int, IProgress{int}?, CancellationToken)"/>,
/// <see cref="Remove"/> and <see cref="Search(ReadOnlySpan{float}, int, SearchOptions?)"/> never corrupt the index,
/// never lose an acknowledged add, and never return a key whose removal finished before the search started.
/// Searches never block each other and never wait for a writer, except the moment a compaction hands a key to
/// another node (docs/concurrency.md).</para>
/// <para>Bad input throws before anything changes: the index is left as it was.</para>
/// </remarks>
public sealed partial class HnswIndex : IDisposable
{
    // An add or remove compacts when this many removed nodes (or a tenth of the live ones, if more) wait to be unlinked:
    // so the nodes stored never exceed the live ones by more than a tenth (plus this many).
    private const int MinimumCompaction = 64;

    // How often a search that came back short of k while a key was handed over asks (see KeyMap).
    private const int MaxSearchAttempts = 8;

    private readonly HnswGraph _graph;
    private readonly KeyMap _keys;

    // Writers (Add, AddRange, Remove, TryGetVector) hold it shared; what moves or frees nodes, or must see them all
    // still (a compaction, Save, the end of a bulk add, Dispose), holds it exclusively. Searches never take it: the
    // graph's epoch covers them.
    private readonly ReaderWriterLockSlim _writeGate = new(LockRecursionPolicy.SupportsRecursion);

    // The memory-mapped file of a read-only index, released by Dispose.
    private readonly IDisposable? _mapping;

    private volatile bool _disposed;

    /// <summary>Creates an empty index.</summary>
    /// <param name="options">The index's parameters.</param>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A parameter is out of its documented range.</exception>
    public HnswIndex(HnswOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
        _graph = new HnswGraph(options);
        _keys = options.MultipleVectorsPerKey ? KeyMap.WithMultipleVectors(_graph) : new KeyMap(_graph, new Dictionary<ulong, int>(options.InitialCapacity), 0);
    }

    private HnswIndex(LoadedGraph loaded)
    {
        Options = loaded.Options;
        _graph = loaded.Graph;
        _keys = Options.MultipleVectorsPerKey ? KeyMap.WithMultipleVectors(_graph) : new KeyMap(_graph, loaded.Ids, loaded.LiveCount);
        _mapping = loaded.Mapping;
    }

    /// <summary>True for an index from <see cref="OpenReadOnly(string)"/>: searchable, but Add and Remove throw.</summary>
    public bool IsReadOnly => _graph.Frozen;

    /// <summary>The options the index was created with.</summary>
    public HnswOptions Options { get; }

    /// <summary>The number of floats in every vector.</summary>
    public int Dimensions => Options.Dimensions;

    /// <summary>The distance the index ranks by.</summary>
    public Metric Metric => Options.Metric;

    /// <summary>
    /// The number of live keys (removed and replaced vectors are not counted): the number of live vectors, unless
    /// <see cref="HnswOptions.MultipleVectorsPerKey"/> is on (then see <see cref="VectorCount"/>).
    /// </summary>
    public int Count => _keys.Count;

    /// <summary>Bytes of native memory the index holds (vectors and layer-0 links), for monitoring.</summary>
    public long NativeMemoryBytes => _graph.NativeBytes;

    internal HnswGraph Graph => _graph;

    /// <summary>
    /// Adds <paramref name="vector"/> under <paramref name="key"/>, or replaces the vector of an existing key (adds
    /// another vector under it, when <see cref="HnswOptions.MultipleVectorsPerKey"/> is on).
    /// </summary>
    /// <param name="key">The key searches return for this vector.</param>
    /// <param name="vector">Exactly <see cref="Dimensions"/> finite floats (non-zero for <see cref="Metric.Cosine"/>); copied.</param>
    /// <exception cref="ArgumentException">The vector has the wrong length, a NaN or infinity, or is all zeros under cosine.</exception>
    /// <exception cref="ObjectDisposedException">The index was disposed.</exception>
    public void Add(ulong key, ReadOnlySpan<float> vector)
    {
        ThrowIfDisposed();
        ThrowIfReadOnly();
        VectorGuard.Check(vector, Dimensions, Metric, nameof(vector));
        AddValidated(key, vector);
        TrainIfDue();
    }

    /// <summary>
    /// Adds many vectors in parallel. Keys that repeat take the vector of their last row (under
    /// <see cref="HnswOptions.MultipleVectorsPerKey"/>, every row is added). Every row is checked before anything is
    /// added. When cancelled, the vectors added so far stay, searchable and consistent.
    /// </summary>
    /// <remarks>
    /// Into an empty index, 20,000 rows or more are linked in an index of their own that nothing else sees, which is then
    /// taken whole with its nodes renumbered in locality order (nodes near each other in space stored near each other:
    /// searches over a large index read fewer distant pages; docs/benchmarks.md measures it). Meanwhile searches find
    /// this index empty, and then every vector at once; memory holds both copies of the vectors and links while the
    /// graph is taken. An add that comes first makes the rows go in one by one instead, as into any other index.
    /// </remarks>
    /// <param name="keys">One key per row.</param>
    /// <param name="vectors">Row-major: <c>keys.Length</c> rows of <see cref="Dimensions"/> floats.</param>
    /// <param name="maxDegreeOfParallelism">Threads to use; 0 or less means all cores.</param>
    /// <param name="progress">Receives the number of vectors added so far, about every 1% and at the end.</param>
    /// <param name="cancellationToken">Stops the insertion between two vectors.</param>
    /// <exception cref="ArgumentException"><c>keys.Length * Dimensions != vectors.Length</c>, or a row is invalid as for <see cref="Add"/>; nothing is added.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled; the vectors added before stay.</exception>
    /// <exception cref="ObjectDisposedException">The index was disposed.</exception>
    public void AddRange(
        ReadOnlyMemory<ulong> keys,
        ReadOnlyMemory<float> vectors,
        int maxDegreeOfParallelism = -1,
        IProgress<int>? progress = null,
        CancellationToken cancellationToken = default) =>
        AddRangeCore(keys, vectors, maxDegreeOfParallelism, progress is null ? null : (done, _) => progress.Report(done), cancellationToken);

    /// <summary>
    /// As <see cref="AddRange(ReadOnlyMemory{ulong}, ReadOnlyMemory{float}, int, IProgress{int}?, CancellationToken)"/>,
    /// reporting both the vectors added so far and how many it adds in all (so a caller can show "n of N"), about
    /// every 1% and at the end. The total is known before the first vector is added: the rows, less repeated keys'
    /// earlier rows.
    /// </summary>
    /// <param name="keys">One key per row.</param>
    /// <param name="vectors">Row-major: <c>keys.Length</c> rows of <see cref="Dimensions"/> floats.</param>
    /// <param name="progress">Receives <see cref="BulkProgress"/> reports.</param>
    /// <param name="maxDegreeOfParallelism">Threads to use; 0 or less means all cores.</param>
    /// <param name="cancellationToken">Stops the insertion between two vectors.</param>
    /// <exception cref="ArgumentNullException"><paramref name="progress"/> is null.</exception>
    /// <exception cref="ArgumentException"><c>keys.Length * Dimensions != vectors.Length</c>, or a row is invalid as for <see cref="Add"/>; nothing is added.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled; the vectors added before stay.</exception>
    /// <exception cref="ObjectDisposedException">The index was disposed.</exception>
    public void AddRange(
        ReadOnlyMemory<ulong> keys,
        ReadOnlyMemory<float> vectors,
        IProgress<BulkProgress> progress,
        int maxDegreeOfParallelism = -1,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(progress);
        AddRangeCore(keys, vectors, maxDegreeOfParallelism, (done, total) => progress.Report(new BulkProgress(done, total)), cancellationToken);
    }

    private void AddRangeCore(
        ReadOnlyMemory<ulong> keys,
        ReadOnlyMemory<float> vectors,
        int maxDegreeOfParallelism,
        Action<int, int>? report,
        CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        ThrowIfReadOnly();
        int dims = Dimensions;
        if ((long)keys.Length * dims != vectors.Length)
        {
            throw new ArgumentException(
                $"{keys.Length} keys need {(long)keys.Length * dims} floats ({dims} per row); {vectors.Length} were given.",
                nameof(vectors));
        }

        ReadOnlySpan<float> all = vectors.Span;
        for (int row = 0; row < keys.Length; row++)
        {
            VectorGuard.Check(all.Slice(row * dims, dims), dims, Metric, $"{nameof(vectors)}[row {row}]");
        }

        cancellationToken.ThrowIfCancellationRequested();
        AddRows(keys, vectors, maxDegreeOfParallelism, report, cancellationToken, stored: false);
    }

    /// <summary>
    /// The bulk add of checked rows (<c>AddRange</c>, and <c>AddFrom</c>'s insertion of the other's
    /// <paramref name="stored"/> vectors): built aside into an empty index (<see cref="TryBuildAside"/>), otherwise
    /// inserted in place; then the codes are fitted if due. Returns the number of vectors it adds.
    /// </summary>
    private int AddRows(
        ReadOnlyMemory<ulong> keys, ReadOnlyMemory<float> vectors, int maxDegreeOfParallelism, Action<int, int>? report, CancellationToken cancellationToken, bool stored)
    {
        int[] rows = _keys.MultipleVectors ? [.. Enumerable.Range(0, keys.Length)] : LastRowOfEachKey(keys.Span);
        var parallel = new ParallelOptions
        {
            MaxDegreeOfParallelism = maxDegreeOfParallelism <= 0 ? Environment.ProcessorCount : maxDegreeOfParallelism,
            CancellationToken = cancellationToken,
        };
        if (rows.Length < Options.LocalityOrderMinimum || _graph.NodeCount != 0 || !TryBuildAside(keys, vectors, rows, parallel, report, stored))
        {
            InsertRows(keys, vectors, rows, parallel, report, stored);
        }

        TrainIfDue();
        return rows.Length;
    }

    /// <summary>Inserts <paramref name="rows"/> in parallel, then, cancelled or not, reconnects any node the heuristic cut off.</summary>
    private void InsertRows(
        ReadOnlyMemory<ulong> keys, ReadOnlyMemory<float> vectors, int[] rows, ParallelOptions parallel, Action<int, int>? report, bool stored)
    {
        int dims = Dimensions;
        int added = 0;
        int step = Math.Max(1, rows.Length / 100);
        _graph.Reserve((int)Math.Min(int.MaxValue, (long)_graph.NodeCount + rows.Length)); // sized once: see NodeStore's segments
        try
        {
            Parallel.For(0, rows.Length, parallel, i =>
            {
                int row = rows[i];
                AddValidated(keys.Span[row], vectors.Span.Slice(row * dims, dims), stored);
                int done = Interlocked.Increment(ref added);
                if (report is not null && (done % step == 0 || done == rows.Length))
                {
                    report(done, rows.Length);
                }
            });
        }
        finally
        {
            // The heuristic can cut a few nodes off (see HnswGraph.ReconnectUnreachable): a bulk add ends with none.
            if (Volatile.Read(ref added) > 0 && !_disposed)
            {
                Exclusively(_graph.ReconnectUnreachable);
            }
        }
    }

    /// <summary>Removes the vector of <paramref name="key"/> (all its vectors, under <see cref="HnswOptions.MultipleVectorsPerKey"/>); no search that starts afterwards returns it.</summary>
    /// <returns>False when the key is not present.</returns>
    /// <exception cref="ObjectDisposedException">The index was disposed.</exception>
    public bool Remove(ulong key)
    {
        ThrowIfDisposed();
        ThrowIfReadOnly();
        bool removed;
        _writeGate.EnterReadLock();
        try
        {
            ThrowIfDisposed();
            lock (_keys.StripeOf(key))
            {
                removed = _keys.Remove(key);
            }
        }
        finally
        {
            _writeGate.ExitReadLock();
        }

        if (removed)
        {
            CompactIfDue();
        }

        return removed;
    }

    /// <summary>Whether a live vector is stored under <paramref name="key"/>.</summary>
    /// <exception cref="ObjectDisposedException">The index was disposed.</exception>
    public bool Contains(ulong key)
    {
        ThrowIfDisposed();
        return _keys.Contains(key);
    }

    /// <summary>
    /// Copies the stored vector of <paramref name="key"/> (normalised, for <see cref="Metric.Cosine"/>). Under
    /// <see cref="HnswOptions.MultipleVectorsPerKey"/>, the first of its vectors still stored (see <see cref="GetVectors"/> for all).
    /// </summary>
    /// <param name="key">The key.</param>
    /// <param name="destination">At least <see cref="Dimensions"/> floats; the first <see cref="Dimensions"/> are written.</param>
    /// <returns>False (and nothing written) when the key is not present.</returns>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is shorter than <see cref="Dimensions"/>.</exception>
    /// <exception cref="ObjectDisposedException">The index was disposed.</exception>
    public bool TryGetVector(ulong key, Span<float> destination)
    {
        ThrowIfDisposed();
        if (destination.Length < Dimensions)
        {
            throw new ArgumentException(
                $"The destination has room for {destination.Length} floats; the vectors have {Dimensions}.", nameof(destination));
        }

        // Under the gate no compaction can move or clear the node while its vector is copied (a removal or a
        // replacement only hides it).
        _writeGate.EnterReadLock();
        try
        {
            ThrowIfDisposed();
            if (!_keys.TryGetNode(key, out int id))
            {
                return false;
            }

            _graph.VectorOf(id).CopyTo(destination);
            return true;
        }
        finally
        {
            _writeGate.ExitReadLock();
        }
    }

    /// <summary>
    /// The <paramref name="k"/> nearest live vectors to <paramref name="query"/>, nearest first. Under
    /// <see cref="HnswOptions.MultipleVectorsPerKey"/>, the k nearest keys, each once at the distance of its nearest vector.
    /// </summary>
    /// <param name="query">Exactly <see cref="Dimensions"/> finite floats (non-zero for <see cref="Metric.Cosine"/>).</param>
    /// <param name="k">How many results; at least 1. Fewer come back only when fewer live vectors (keys, under <see cref="HnswOptions.MultipleVectorsPerKey"/>) pass the filter.</param>
    /// <param name="options">The search breadth and filter; null for the index's defaults.</param>
    /// <exception cref="ArgumentException">The query has the wrong length, a NaN or infinity, or is all zeros under cosine.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="k"/> &lt; 1, or <see cref="SearchOptions.Ef"/> &lt; 1.</exception>
    /// <exception cref="ObjectDisposedException">The index was disposed.</exception>
    public IReadOnlyList<SearchResult> Search(ReadOnlySpan<float> query, int k, SearchOptions? options = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        var results = new SearchResult[Math.Min(k, Math.Max(1, _graph.NodeCount))];
        int found = Search(query, results, options);
        return found == results.Length ? results : results[..found];
    }

    /// <summary>
    /// The nearest live vectors to <paramref name="query"/>, nearest first, written to <paramref name="destination"/>
    /// (k is its length). Allocates nothing once the calling thread has searched this index before.
    /// </summary>
    /// <returns>How many results were written.</returns>
    /// <exception cref="ArgumentException">The query has the wrong length, a NaN or infinity, or is all zeros under cosine.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="destination"/> is empty, or <see cref="SearchOptions.Ef"/> &lt; 1.</exception>
    /// <exception cref="ObjectDisposedException">The index was disposed.</exception>
    public int Search(ReadOnlySpan<float> query, Span<SearchResult> destination, SearchOptions? options = null) =>
        Search(query, destination, options, forcedPlan: null);

    /// <summary>The search, with the filtered plan chosen by the caller (tests and benchmarks) or by the index (null).</summary>
    internal int Search(ReadOnlySpan<float> query, Span<SearchResult> destination, SearchOptions? options, SearchPlan? forcedPlan)
    {
        // Enter the epoch before looking at the flag: Dispose sets the flag, then waits for every search inside.
        int epoch = _graph.Epoch.Enter();
        SearchScratch? scratch = null;
        try
        {
            ThrowIfDisposed();
            ArgumentOutOfRangeException.ThrowIfLessThan(destination.Length, 1, "k");
            int ef = options?.Ef ?? Options.EfSearch;
            ArgumentOutOfRangeException.ThrowIfLessThan(ef, 1, "options.Ef");
            options?.Validate();
            VectorGuard.Check(query, Dimensions, Metric, nameof(query));

            scratch = _graph.RentScratch();
            VectorGuard.CopyForMetric(query, scratch.Query, Metric);
            ef = Math.Max(ef, destination.Length);
            int rerank = RerankFor(options, destination.Length, ef);
            int found;
            if (options is not { Filters: true })
            {
                // With no node to keep out of W the walk reads no flags (a cache miss per result-set entry at a
                // million nodes, 8% of a search's time at ef 640); the answer's nodes are checked at the end anyway.
                found = AllNodesLive()
                    ? Search(scratch, ef, rerank, default(AnyNode), SearchPlan.Walk, null, destination)
                    : Search(scratch, ef, rerank, default(LiveNodes), SearchPlan.Walk, null, destination);
            }
            else
            {
                SearchPlan plan = forcedPlan ?? FilterPlanner.Choose(_graph, _keys.VectorCount, options, ef);
                found = Search(scratch, ef, rerank, new AcceptedKeys(options), plan, options.AllowedKeys, destination);
            }

            // The threshold cuts the answer only after it is complete: an answer short of k because of it is not a
            // walk starved by a filter, and must not send the search to the exact scan.
            return SearchOptions.WithinMaxDistance(options, destination[..found]);
        }
        finally
        {
            if (scratch is not null)
            {
                _graph.ReturnScratch(scratch);
            }

            _graph.Epoch.Leave(epoch);
        }
    }

    /// <summary>The plan a search with <paramref name="options"/> and <paramref name="k"/> results would take now.</summary>
    internal SearchPlan PlanFor(SearchOptions options, int k) =>
        FilterPlanner.Choose(_graph, _keys.VectorCount, options, Math.Max(options.Ef ?? Options.EfSearch, k));

    /// <summary>The search below under the index's metric (L2 or inner product: cosine is inner product on normalised vectors).</summary>
    private int Search<TFilter>(
        SearchScratch scratch, int ef, int rerank, TFilter filter, SearchPlan plan, IReadOnlySet<ulong>? allowed, Span<SearchResult> destination)
        where TFilter : struct, INodeFilter =>
        _graph.UsesL2
            ? Search<L2SquaredDistance, TFilter>(scratch, ef, rerank, filter, plan, allowed, destination)
            : Search<InnerProductDistance, TFilter>(scratch, ef, rerank, filter, plan, allowed, destination);

    /// <summary>
    /// Runs the plan; when a graph walk finds fewer results than asked although more nodes may pass (most reachable
    /// nodes rejected by the filter or removed), the exact scan answers instead. An answer is final as it is only when
    /// no key was handed over to another node meanwhile (see <see cref="KeyMap"/>): otherwise repeated keys are
    /// dropped and, if that leaves it short, it asks again once no handover is under way (a few times at most, so a
    /// stream of replacements cannot hold a search forever).
    /// </summary>
    private int Search<TDistance, TFilter>(
        SearchScratch scratch, int ef, int rerank, TFilter filter, SearchPlan plan, IReadOnlySet<ulong>? allowed, Span<SearchResult> destination)
        where TDistance : struct, IDistance
        where TFilter : struct, INodeFilter
    {
        for (int attempt = 1; ; attempt++)
        {
            long stamp = _keys.HandoverStamp();
            bool distinct = _keys.MultipleVectors;
            int found = plan == SearchPlan.Exact ? 0
                : distinct ? WalkDistinct<TDistance, TFilter>(scratch, ef, rerank, filter, plan == SearchPlan.Bridging, destination)
                : _graph.Search<TDistance, TFilter>(scratch, ef, filter, plan == SearchPlan.Bridging, rerank, destination);
            bool unfiltered = typeof(TFilter) == typeof(LiveNodes) || typeof(TFilter) == typeof(AnyNode);
            if (found < destination.Length && found < _graph.NodeCount && !(unfiltered && found >= Count))
            {
                found = (allowed is null, distinct) switch
                {
                    (true, false) when typeof(TFilter) == typeof(AnyNode) => _graph.ExactSearch<TDistance, LiveNodes>(scratch, default, destination),
                    (true, false) => _graph.ExactSearch<TDistance, TFilter>(scratch, filter, destination),
                    (false, false) => _graph.ExactSearch<TDistance, TFilter>(scratch, _keys.NodesOf(allowed!, scratch), filter, destination),
                    (true, true) => _graph.ExactSearchDistinct<TDistance, TFilter>(scratch, filter, destination),
                    (false, true) => _graph.ExactSearchDistinct<TDistance, TFilter>(scratch, _keys.NodesOf(allowed!, scratch), filter, destination),
                };
            }

            if (_keys.NoHandoverSince(stamp))
            {
                return found;
            }

            found = RemoveRepeatedKeys(destination[..found], scratch);
            if (found == destination.Length || attempt == MaxSearchAttempts)
            {
                return found;
            }

            _keys.WaitForHandovers();
        }
    }

    /// <summary>
    /// Whether every node below the count is live (nothing removed since the last compaction, no insert in flight,
    /// one vector per key), so an unfiltered walk need not check flags. The live count is read first: a node allocated
    /// or an insert finished in between makes the answer false. A removal in between, or anything after, is caught by
    /// the check of the answer's nodes at the end, as for a removal during any search.
    /// </summary>
    private bool AllNodesLive() => !_keys.MultipleVectors && _keys.VectorCount >= _graph.NodeCount;

    /// <summary>Drops every later result whose key came earlier (order kept); returns how many are left.</summary>
    private static int RemoveRepeatedKeys(Span<SearchResult> results, SearchScratch scratch)
    {
        ulong[] keys = SelectionBuffers.Ensure(ref scratch.Keys, results.Length);
        for (int i = 0; i < results.Length; i++)
        {
            keys[i] = results[i].Key;
        }

        Span<ulong> sorted = keys.AsSpan(0, results.Length);
        sorted.Sort();
        bool repeated = false;
        for (int i = 1; i < sorted.Length && !repeated; i++)
        {
            repeated = sorted[i] == sorted[i - 1];
        }

        if (!repeated)
        {
            return results.Length;
        }

        int kept = 0;
        for (int i = 0; i < results.Length; i++)
        {
            bool earlier = false;
            for (int j = 0; j < kept && !earlier; j++)
            {
                earlier = results[j].Key == results[i].Key;
            }

            if (!earlier)
            {
                results[kept++] = results[i];
            }
        }

        return kept;
    }

    /// <summary>
    /// Frees the native memory once no call is inside the index: writers and compactions are waited for through the
    /// write gate, searches through the graph's epoch. Further calls throw <see cref="ObjectDisposedException"/>.
    /// </summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _writeGate.EnterWriteLock();
        try
        {
            _graph.WaitForReaders();
            _graph.Dispose();
            _mapping?.Dispose();
        }
        finally
        {
            _writeGate.ExitWriteLock();
        }
    }

    /// <summary>Stores a new node for the vector, links it, then makes it the key's live node in one step.</summary>
    /// <param name="key">The key.</param>
    /// <param name="vector">A checked vector: as the caller gave it, or (<paramref name="stored"/>) as an index of the same metric stores it.</param>
    /// <param name="stored">True: the vector is taken as it is (no normalisation for cosine).</param>
    private void AddValidated(ulong key, ReadOnlySpan<float> vector, bool stored = false)
    {
        CompactIfDue();
        _writeGate.EnterReadLock();
        SearchScratch? scratch = null;
        try
        {
            ThrowIfDisposed();
            scratch = _graph.RentScratch();
            if (stored)
            {
                vector.CopyTo(scratch.Query);
            }
            else
            {
                VectorGuard.CopyForMetric(vector, scratch.Query, Metric);
            }

            lock (_keys.StripeOf(key))
            {
                // A replaced vector gets a new node rather than being overwritten in place: concurrent searches
                // keep reading a whole vector, and the new one is linked by its own position in the graph.
                int id = _graph.AllocateNode(key, scratch.Query, out int level);
                _graph.Insert(id, level, scratch);
                _keys.Publish(key, id);
            }
        }
        finally
        {
            if (scratch is not null)
            {
                _graph.ReturnScratch(scratch);
            }

            _writeGate.ExitReadLock();
        }
    }

    /// <summary>
    /// Unlinks the removed and replaced vectors from the graph and gives their memory back: afterwards the index holds
    /// what a fresh build of its live vectors would. Runs by itself from the next add or remove once they reach a
    /// tenth of the live vectors, so memory stays within a tenth of that under any churn; call it to do that work at a
    /// time of your choosing (after a bulk removal, before <see cref="Save(string)"/>, which stores removed vectors
    /// still linked).
    /// </summary>
    /// <remarks>
    /// Every neighbour list that links to a removed node is rebuilt from its live neighbours and theirs (with the
    /// index's neighbour selection), on all cores. Then the vectors stored last move into the freed places, and the
    /// storage past the live vectors is released. Searches go on meanwhile and see every live vector once (one that
    /// ran across a move checks its answer and, if short, asks again); adds, removes and <see cref="TryGetVector"/>
    /// wait until it ends.
    /// Memory is touched only after every search that could still read it has returned.
    /// </remarks>
    /// <returns>How many removed or replaced vectors were unlinked.</returns>
    /// <exception cref="InvalidOperationException">The index is read-only (<see cref="OpenReadOnly(string)"/>).</exception>
    /// <exception cref="ObjectDisposedException">The index was disposed.</exception>
    public int Compact() => Compact(CancellationToken.None);

    /// <summary>As <see cref="Compact()"/>, stopping between two rounds of the repair when <paramref name="cancellationToken"/> is cancelled.</summary>
    /// <returns>How many removed or replaced vectors were unlinked.</returns>
    /// <exception cref="OperationCanceledException">Cancelled: the index is whole and answers as before; the removed vectors are still pending.</exception>
    /// <exception cref="InvalidOperationException">The index is read-only (<see cref="OpenReadOnly(string)"/>).</exception>
    /// <exception cref="ObjectDisposedException">The index was disposed.</exception>
    public int Compact(CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        ThrowIfReadOnly();
        cancellationToken.ThrowIfCancellationRequested();
        return Exclusively(() => CompactCore(cancellationToken));
    }

    /// <summary>
    /// As <see cref="Compact(CancellationToken)"/>, reporting how far the repair has got: the neighbour lists checked so
    /// far and in all (a live vector's list on each of its layers; a list that links to a removed vector is rebuilt),
    /// after each round of the repair. One report of 0 of 0 when nothing was removed. The relocation that follows the
    /// repair is a memory copy and is not reported.
    /// </summary>
    /// <param name="progress">Receives <see cref="BulkProgress"/> reports.</param>
    /// <param name="cancellationToken">Stops the compaction between two rounds of the repair.</param>
    /// <returns>How many removed or replaced vectors were unlinked.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="progress"/> is null.</exception>
    /// <exception cref="OperationCanceledException">Cancelled: the index is whole and answers as before; the removed vectors are still pending.</exception>
    /// <exception cref="InvalidOperationException">The index is read-only (<see cref="OpenReadOnly(string)"/>).</exception>
    /// <exception cref="ObjectDisposedException">The index was disposed.</exception>
    public int Compact(IProgress<BulkProgress> progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(progress);
        ThrowIfDisposed();
        ThrowIfReadOnly();
        cancellationToken.ThrowIfCancellationRequested();
        return Exclusively(() => CompactCore(cancellationToken, (done, total) => progress.Report(new BulkProgress(done, total))));
    }

    /// <summary>Removed or replaced vectors still linked in the graph: what the next compaction unlinks.</summary>
    public int PendingRemovals => _keys.PendingRemovals;

    /// <summary>Compacts when the removed nodes still linked reach a tenth of the live ones. Call holding no lock or scratch.</summary>
    private void CompactIfDue()
    {
        if (_keys.PendingRemovals >= Math.Max(MinimumCompaction, _keys.VectorCount / 10))
        {
            Exclusively(() => CompactCore(CancellationToken.None));
        }
    }

    /// <summary>Repair, then relocation (HnswGraph.Repair.cs, HnswGraph.Relocate.cs). The caller holds the gate exclusively.</summary>
    private int CompactCore(CancellationToken cancellationToken, Action<int, int>? progress = null)
    {
        List<int> deleted = _graph.DeletedNodes();
        if (deleted.Count == 0)
        {
            progress?.Invoke(0, 0);
        }
        else
        {
            if (!_graph.RepairAroundDeleted(deleted, maxDegreeOfParallelism: -1, cancellationToken, progress))
            {
                throw new OperationCanceledException(cancellationToken);
            }

            _graph.WaitForReaders();
            _graph.Free(deleted);
        }

        // The live nodes close the gaps, then the storage past them goes back. A search short of k during the
        // relocation waits for it to end inside the epoch: no WaitForReaders may run inside it.
        _keys.RelocateTail();
        _graph.ReleaseTail();
        _keys.ClearPending();
        RefitIfDrifted();
        return deleted.Count;
    }

    /// <summary>Runs <paramref name="work"/> holding the write gate exclusively, on a live index.</summary>
    private T Exclusively<T>(Func<T> work)
    {
        _writeGate.EnterWriteLock();
        try
        {
            ThrowIfDisposed();
            return work();
        }
        finally
        {
            _writeGate.ExitWriteLock();
        }
    }

    private void Exclusively(Action work) => Exclusively(() =>
    {
        work();
        return 0;
    });

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    private void ThrowIfReadOnly()
    {
        if (_graph.Frozen)
        {
            throw new InvalidOperationException("This index was opened read-only (OpenReadOnly); load it with Load to add or remove vectors.");
        }
    }

    private static int[] LastRowOfEachKey(ReadOnlySpan<ulong> keys)
    {
        var seen = new HashSet<ulong>(keys.Length);
        var rows = new List<int>(keys.Length);
        for (int row = keys.Length - 1; row >= 0; row--)
        {
            if (seen.Add(keys[row]))
            {
                rows.Add(row);
            }
        }

        rows.Reverse();
        return [.. rows];
    }
}
