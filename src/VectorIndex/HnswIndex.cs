using VectorIndex.Distance;
using VectorIndex.Graph;
using VectorIndex.Internal;
using VectorIndex.Persistence;

namespace VectorIndex;

/// <summary>
/// An approximate nearest-neighbour index over float vectors: the hierarchical navigable small world graph of
/// Malkov and Yashunin. Vectors are added under 64-bit keys; searches return the keys of the nearest vectors.
/// </summary>
/// <remarks>
/// <para>Every member may be called from many threads at once. Concurrent <see cref="Add"/>, <see cref="AddRange"/>,
/// <see cref="Remove"/> and <see cref="Search(ReadOnlySpan{float}, int, SearchOptions?)"/> never corrupt the index,
/// never lose an acknowledged add, and never return a key whose removal finished before the search started.
/// Searches never block each other and never wait for a writer longer than the copy of one neighbour list.</para>
/// <para>Bad input throws before anything changes: the index is left as it was.</para>
/// </remarks>
public sealed partial class HnswIndex : IDisposable
{
    private const int KeyStripes = 256;

    // The filtered-search cost model (see ChoosePlan), in distance computations. A walk expands on the order of ef
    // candidates and measures the unvisited part of each list (up to M0 = 32 at the default M): about 32 per unit of
    // ef at full pass rate, and 1/p times that at pass rate p. The walk through rejected nodes measures accepted
    // nodes only, at about twice the unfiltered cost (it reads two lists per step); on Fashion-MNIST it kept recall
    // 0.998 at 10% and 50% but fell to 0.84 at 1%, and at 50% the plain walk was faster, hence its band. A filter call
    // costs about as much as a distance over 48 floats (measured: 10 ns against 180 ns for 784 floats).
    private const double WalkCostPerEf = 32;
    private const double BridgingCostFactor = 2;
    private const double BridgingMinPassRate = 0.05;
    private const double BridgingMaxPassRate = 0.3;
    private const double FloatsPerFilterCall = 48;

    // An add or remove compacts when this many removed nodes (or a tenth of the live ones, if more) wait to be unlinked:
    // so the nodes stored never exceed the live ones by more than a tenth (plus this many).
    private const int MinimumCompaction = 64;

    // How often a search that came back short of k while a key was handed over asks (see BeginHandover).
    private const int MaxSearchAttempts = 8;

    private readonly HnswGraph _graph;
    private readonly Lock _idsLock = new();

    // The live keys' nodes. A read-only (mapped) index builds it on first use, so opening stays fast.
    private Dictionary<ulong, int>? _ids;
    private int _count;

    // Removed or replaced nodes still linked in the graph (see Compact).
    private int _pendingDeletes;

    // Keys moved to another node (replacements, compaction's moves): begun and ended, see BeginHandover.
    private long _handoversBegun;
    private long _handoversEnded;

    // Writers (Add, AddRange, Remove) and TryGetVector hold it shared; Save holds it exclusively, so it stores a
    // consistent snapshot, and so does a compaction, which moves nodes. Searches never take it.
    private readonly ReaderWriterLockSlim _writeGate = new(LockRecursionPolicy.SupportsRecursion);

    // The memory-mapped file of a read-only index, released by Dispose.
    private readonly IDisposable? _mapping;

    // Add and Remove of one key run under its stripe, so they are ordered per key; different keys run in parallel.
    private readonly Lock[] _keyStripes = CreateStripes();

    // Dispose waits until no call is inside the index before it frees native memory.
    private int _activeCalls;
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
        _ids = new Dictionary<ulong, int>(options.InitialCapacity);
    }

    private HnswIndex(LoadedGraph loaded)
    {
        Options = loaded.Options;
        _graph = loaded.Graph;
        _ids = loaded.Ids;
        _count = loaded.LiveCount;
        _pendingDeletes = _graph.NodeCount - loaded.LiveCount - _graph.FreeCount;
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

    /// <summary>The number of live vectors (removed and replaced ones are not counted).</summary>
    public int Count
    {
        get
        {
            return Volatile.Read(ref _count);
        }
    }

    /// <summary>Bytes of native memory the index holds (vectors and layer-0 links), for monitoring.</summary>
    public long NativeMemoryBytes => _graph.NativeBytes;

    internal HnswGraph Graph => _graph;

    /// <summary>Adds <paramref name="vector"/> under <paramref name="key"/>, or replaces the vector of an existing key.</summary>
    /// <param name="key">The key searches return for this vector.</param>
    /// <param name="vector">Exactly <see cref="Dimensions"/> finite floats (non-zero for <see cref="Metric.Cosine"/>); copied.</param>
    /// <exception cref="ArgumentException">The vector has the wrong length, a NaN or infinity, or is all zeros under cosine.</exception>
    /// <exception cref="ObjectDisposedException">The index was disposed.</exception>
    public void Add(ulong key, ReadOnlySpan<float> vector)
    {
        Enter();
        try
        {
            ThrowIfReadOnly();
            VectorGuard.Check(vector, Dimensions, Metric, nameof(vector));
            AddValidated(key, vector);
        }
        finally
        {
            Exit();
        }
    }

    /// <summary>
    /// Adds many vectors in parallel. Keys that repeat take the vector of their last row. Every row is checked before
    /// anything is added. When cancelled, the vectors added so far stay, searchable and consistent.
    /// </summary>
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
        CancellationToken cancellationToken = default)
    {
        Enter();
        try
        {
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
            int[] rows = LastRowOfEachKey(keys.Span);
            int added = 0;
            int step = Math.Max(1, rows.Length / 100);
            var parallel = new ParallelOptions
            {
                MaxDegreeOfParallelism = maxDegreeOfParallelism <= 0 ? Environment.ProcessorCount : maxDegreeOfParallelism,
                CancellationToken = cancellationToken,
            };
            Parallel.For(0, rows.Length, parallel, i =>
            {
                int row = rows[i];
                AddValidated(keys.Span[row], vectors.Span.Slice(row * dims, dims));
                int done = Interlocked.Increment(ref added);
                if (progress is not null && (done % step == 0 || done == rows.Length))
                {
                    progress.Report(done);
                }
            });

            ReconnectUnreachable();
        }
        finally
        {
            Exit();
        }
    }

    /// <summary>Removes the vector of <paramref name="key"/>; no search that starts afterwards returns it.</summary>
    /// <returns>False when the key is not present.</returns>
    /// <exception cref="ObjectDisposedException">The index was disposed.</exception>
    public bool Remove(ulong key)
    {
        Enter();
        try
        {
            ThrowIfReadOnly();
            bool removed = RemoveValidated(key);
            if (removed)
            {
                CompactIfDue();
            }

            return removed;
        }
        finally
        {
            Exit();
        }
    }

    private bool RemoveValidated(ulong key)
    {
        _writeGate.EnterReadLock();
        try
        {
            lock (Stripe(key))
            {
                int id;
                lock (_idsLock)
                {
                    if (!_ids!.Remove(key, out id))
                    {
                        return false;
                    }

                    _count--;
                }

                _graph.SetDeleted(id, true);
                Interlocked.Increment(ref _pendingDeletes);
                return true;
            }
        }
        finally
        {
            _writeGate.ExitReadLock();
        }
    }

    /// <summary>Whether a live vector is stored under <paramref name="key"/>.</summary>
    /// <exception cref="ObjectDisposedException">The index was disposed.</exception>
    public bool Contains(ulong key)
    {
        Enter();
        try
        {
            Dictionary<ulong, int> ids = Ids();
            lock (_idsLock)
            {
                return ids.ContainsKey(key);
            }
        }
        finally
        {
            Exit();
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
        Enter();
        try
        {
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
                int id;
                Dictionary<ulong, int> ids = Ids();
                lock (_idsLock)
                {
                    if (!ids.TryGetValue(key, out id))
                    {
                        return false;
                    }
                }

                _graph.VectorOf(id).CopyTo(destination);
                return true;
            }
            finally
            {
                _writeGate.ExitReadLock();
            }
        }
        finally
        {
            Exit();
        }
    }

    /// <summary>The <paramref name="k"/> nearest live vectors to <paramref name="query"/>, nearest first.</summary>
    /// <param name="query">Exactly <see cref="Dimensions"/> finite floats (non-zero for <see cref="Metric.Cosine"/>).</param>
    /// <param name="k">How many results; at least 1. Fewer come back only when fewer live vectors pass the filter.</param>
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
        Enter();
        try
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(destination.Length, 1, "k");
            int ef = options?.Ef ?? Options.EfSearch;
            ArgumentOutOfRangeException.ThrowIfLessThan(ef, 1, "options.Ef");
            VectorGuard.Check(query, Dimensions, Metric, nameof(query));

            SearchScratch scratch = _graph.RentScratch();
            try
            {
                VectorGuard.CopyForMetric(query, scratch.Query, Metric);
                if (options is not { Filters: true })
                {
                    return _graph.UsesL2
                        ? Search<L2SquaredDistance, LiveNodes>(scratch, ef, default, SearchPlan.Walk, destination)
                        : Search<InnerProductDistance, LiveNodes>(scratch, ef, default, SearchPlan.Walk, destination);
                }

                SearchPlan plan = forcedPlan ?? ChoosePlan(options, Math.Max(ef, destination.Length));
                return _graph.UsesL2
                    ? Search<L2SquaredDistance, LiveKeys>(scratch, ef, new LiveKeys(options), plan, destination, options.AllowedKeys)
                    : Search<InnerProductDistance, LiveKeys>(scratch, ef, new LiveKeys(options), plan, destination, options.AllowedKeys);
            }
            finally
            {
                _graph.ReturnScratch(scratch);
            }
        }
        finally
        {
            Exit();
        }
    }

    /// <summary>The plan a search with <paramref name="options"/> and <paramref name="k"/> results would take now.</summary>
    internal SearchPlan PlanFor(SearchOptions options, int k) =>
        options.Filters ? ChoosePlan(options, Math.Max(options.Ef ?? Options.EfSearch, k)) : SearchPlan.Walk;

    /// <summary>
    /// Picks how a filtered search runs from the estimated share p of live vectors that pass, counted in distance
    /// computations: the graph walk costs about <c>WalkCostPerEf * ef / p</c> (it reaches 1/p nodes per accepted one),
    /// an exact scan about the number of accepted vectors (plus a cheap filter call per node without an allowed set).
    /// </summary>
    private SearchPlan ChoosePlan(SearchOptions options, int ef)
    {
        IReadOnlySet<ulong>? allowed = options.AllowedKeys;
        int live = Math.Max(1, Count);
        double p = _graph.EstimatePassRate(new LiveKeys(options));
        if (allowed is not null)
        {
            p = Math.Min(p, Math.Min(1.0, (double)allowed.Count / live));
        }

        bool bridging = p >= BridgingMinPassRate && p < BridgingMaxPassRate;
        double walk = bridging ? BridgingCostFactor * WalkCostPerEf * ef : WalkCostPerEf * ef / p;
        double filterCalls = _graph.NodeCount / Math.Max(1.0, Dimensions / FloatsPerFilterCall);
        double exact = allowed is not null ? Math.Min(allowed.Count, live) : (p * live) + filterCalls;
        return exact <= walk ? SearchPlan.Exact : bridging ? SearchPlan.Bridging : SearchPlan.Walk;
    }

    /// <summary>
    /// Runs the plan. When a graph walk finds fewer results than asked although more nodes may pass (most reachable
    /// nodes rejected by the filter or removed), the exact scan answers instead.
    /// </summary>
    private int Search<TDistance, TFilter>(
        SearchScratch scratch, int ef, TFilter filter, SearchPlan plan, Span<SearchResult> destination, IReadOnlySet<ulong>? allowed = null)
        where TDistance : struct, IDistance
        where TFilter : struct, INodeFilter
    {
        // A key handed over to a new node may be missed under both, or met under both (see BeginHandover): an answer
        // is final as it is only when no handover overlapped it. Each retry waits for a moment without one; a few
        // retries at most, so a stream of replacements cannot hold a search forever.
        for (int attempt = 1; ; attempt++)
        {
            long stamp = HandoverStamp();
            int found = SearchOnce<TDistance, TFilter>(scratch, ef, filter, plan, destination, allowed);
            if (NoHandoverSince(stamp))
            {
                return found;
            }

            // Met under both nodes, with the old one read before it was hidden and the new one after it showed.
            found = RemoveRepeatedKeys(destination[..found], scratch);
            if (found == destination.Length || attempt == MaxSearchAttempts)
            {
                return found;
            }

            var spin = default(SpinWait);
            while (HandoverStamp() < 0)
            {
                spin.SpinOnce();
            }
        }
    }

    private int SearchOnce<TDistance, TFilter>(
        SearchScratch scratch, int ef, TFilter filter, SearchPlan plan, Span<SearchResult> destination, IReadOnlySet<ulong>? allowed)
        where TDistance : struct, IDistance
        where TFilter : struct, INodeFilter
    {
        if (plan != SearchPlan.Exact)
        {
            int found = _graph.Search<TDistance, TFilter>(scratch, ef, filter, plan == SearchPlan.Bridging, destination);
            if (found == destination.Length || found == _graph.NodeCount || (typeof(TFilter) == typeof(LiveNodes) && found >= Count))
            {
                return found;
            }
        }

        return allowed is null
            ? _graph.ExactSearch<TDistance, TFilter>(scratch, filter, destination)
            : _graph.ExactSearch<TDistance, TFilter>(scratch, AllowedIds(allowed, scratch), filter, destination);
    }

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
    /// Starts a handover: a live key moves to another node (a replacement's new vector, or a compaction's move): it is
    /// hidden in its old node, then shown in the new one. A search reads the two flags at different times, so it can
    /// miss the key (both read hidden) or return it twice (the old read before the hide, the new after the show). A
    /// search that a handover overlapped drops repeated keys, and asks again if that leaves it short of k. Every begin
    /// is followed by <see cref="EndHandover"/>.
    /// </summary>
    private void BeginHandover() => Interlocked.Increment(ref _handoversBegun);

    private void EndHandover() => Interlocked.Increment(ref _handoversEnded);

    /// <summary>The handovers begun so far when none is under way, else -1. Ended is read first: if it equals begun, none ran at that moment.</summary>
    private long HandoverStamp()
    {
        long ended = Volatile.Read(ref _handoversEnded);
        long begun = Volatile.Read(ref _handoversBegun);
        return ended == begun ? begun : -1;
    }

    /// <summary>Whether no handover was under way at <paramref name="stamp"/> and none has begun since.</summary>
    private bool NoHandoverSince(long stamp) => stamp >= 0 && Volatile.Read(ref _handoversBegun) == stamp;

    /// <summary>The nodes of the allowed keys that are present, in the scratch's id buffer.</summary>
    private ReadOnlySpan<int> AllowedIds(IReadOnlySet<ulong> allowed, SearchScratch scratch)
    {
        Dictionary<ulong, int> ids = Ids();
        int n = 0;
        lock (_idsLock)
        {
            int[] buffer = SelectionBuffers.Ensure(ref scratch.Ids, Math.Min(allowed.Count, ids.Count));
            foreach (ulong key in allowed)
            {
                if (n < buffer.Length && ids.TryGetValue(key, out int id))
                {
                    buffer[n++] = id;
                }
            }
        }

        return scratch.Ids.AsSpan(0, n);
    }

    /// <summary>Frees the native memory, after any call still inside the index has returned. Further calls throw <see cref="ObjectDisposedException"/>.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        var spin = default(SpinWait);
        while (Volatile.Read(ref _activeCalls) != 0)
        {
            spin.SpinOnce();
        }

        _graph.Dispose();
        _mapping?.Dispose();
    }

    /// <summary>Stores a new node for the vector, links it, then makes it the key's live node in one step.</summary>
    private void AddValidated(ulong key, ReadOnlySpan<float> vector)
    {
        CompactIfDue();

        // The gate before the scratch: a compaction waits, holding the gate, for every rented scratch to come back.
        _writeGate.EnterReadLock();
        SearchScratch scratch = _graph.RentScratch();
        try
        {
            VectorGuard.CopyForMetric(vector, scratch.Query, Metric);
            lock (Stripe(key))
            {
                // A replaced vector gets a new node rather than being overwritten in place: concurrent searches
                // keep reading a whole vector, and the new one is linked by its own position in the graph.
                int id = _graph.AllocateNode(key, scratch.Query, out int level);
                _graph.Insert(id, level, scratch);
                int previous = -1;
                try
                {
                    lock (_idsLock)
                    {
                        previous = _ids!.TryGetValue(key, out int old) ? old : -1;
                        if (previous >= 0)
                        {
                            BeginHandover();
                        }

                        _ids[key] = id;
                        if (previous < 0)
                        {
                            _count++;
                        }
                    }

                    if (previous >= 0)
                    {
                        _graph.SetDeleted(previous, true);
                        Interlocked.Increment(ref _pendingDeletes);
                    }

                    _graph.SetDeleted(id, false);
                }
                finally
                {
                    if (previous >= 0)
                    {
                        EndHandover();
                    }
                }
            }
        }
        finally
        {
            _graph.ReturnScratch(scratch);
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
    public int Compact()
    {
        Enter();
        try
        {
            ThrowIfReadOnly();
            return CompactCore();
        }
        finally
        {
            Exit();
        }
    }

    /// <summary>Removed or replaced vectors still linked in the graph: what the next compaction unlinks.</summary>
    public int PendingRemovals => Volatile.Read(ref _pendingDeletes);

    /// <summary>The end of a bulk add: no node is left without a path from the entry point (see <see cref="HnswGraph.ReconnectUnreachable()"/>).</summary>
    private void ReconnectUnreachable()
    {
        _writeGate.EnterWriteLock();
        try
        {
            _graph.ReconnectUnreachable();
        }
        finally
        {
            _writeGate.ExitWriteLock();
        }
    }

    /// <summary>Compacts when the removed nodes still linked reach a tenth of the live ones. Call holding no lock or scratch.</summary>
    private void CompactIfDue()
    {
        if (Volatile.Read(ref _pendingDeletes) >= Math.Max(MinimumCompaction, Count / 10))
        {
            CompactCore();
        }
    }

    private int CompactCore()
    {
        _writeGate.EnterWriteLock();
        try
        {
            List<int> dead = _graph.DeletedNodes();
            if (dead.Count > 0)
            {
                _graph.RepairAroundDeleted(dead, maxDegreeOfParallelism: -1);
                _graph.WaitForReaders();
                _graph.Free(dead);
            }

            // Then the live nodes close the gaps and the storage past them goes back. Short searches wait for the
            // handover to end, holding their scratch: no grace period may start inside it.
            BeginHandover();
            try
            {
                int[] moved = _graph.MoveTailIntoHoles();
                lock (_idsLock)
                {
                    foreach (int id in moved)
                    {
                        _ids![_graph.KeyOf(id)] = id;
                    }
                }
            }
            finally
            {
                EndHandover();
            }

            _graph.ReleaseTail();

            Volatile.Write(ref _pendingDeletes, 0);
            return dead.Count;
        }
        finally
        {
            _writeGate.ExitWriteLock();
        }
    }

    /// <summary>The key map; a read-only index builds it on first use (opening a mapped file stays fast).</summary>
    private Dictionary<ulong, int> Ids()
    {
        Dictionary<ulong, int>? ids = Volatile.Read(ref _ids);
        if (ids is not null)
        {
            return ids;
        }

        lock (_idsLock)
        {
            if (_ids is null)
            {
                int n = _graph.NodeCount;
                var keys = new ulong[n];
                var flags = new byte[n];
                for (int id = 0; id < n; id++)
                {
                    keys[id] = _graph.KeyOf(id);
                    flags[id] = _graph.IsDeleted(id) ? Storage.NodeFlags.Deleted : (byte)0;
                }

                Volatile.Write(ref _ids, IndexReader.LiveKeys(keys, flags, n));
            }

            return _ids;
        }
    }

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

    /// <summary>How a filtered search runs.</summary>
    internal enum SearchPlan
    {
        /// <summary>The plain graph walk: rejected nodes are measured and route the walk, only accepted ones are results.</summary>
        Walk,

        /// <summary>The walk that looks through rejected nodes to their neighbours (ACORN-1) without measuring them.</summary>
        Bridging,

        /// <summary>An exact scan of the accepted nodes.</summary>
        Exact,
    }

    private Lock Stripe(ulong key) => _keyStripes[(int)((key * 0x9E3779B97F4A7C15UL) >> 56) & (KeyStripes - 1)];

    private static Lock[] CreateStripes()
    {
        var stripes = new Lock[KeyStripes];
        for (int i = 0; i < stripes.Length; i++)
        {
            stripes[i] = new Lock();
        }

        return stripes;
    }

    private void Enter()
    {
        Interlocked.Increment(ref _activeCalls);
        if (_disposed)
        {
            Interlocked.Decrement(ref _activeCalls);
            throw new ObjectDisposedException(nameof(HnswIndex));
        }
    }

    private void Exit() => Interlocked.Decrement(ref _activeCalls);
}
