using System.Runtime.ExceptionServices;
using VectorIndex.Graph;

namespace VectorIndex;

/// <summary>Merging (every live vector of another index of the same shape, added in bulk), and a bulk add built aside.</summary>
public sealed partial class HnswIndex
{
    /// <summary>
    /// Adds every live vector of <paramref name="other"/> (an index of the same <see cref="Dimensions"/> and
    /// <see cref="Metric"/>; its other options may differ) to this one, in parallel as
    /// <see cref="AddRange(ReadOnlyMemory{ulong}, ReadOnlyMemory{float}, int, IProgress{int}?, CancellationToken)"/> does.
    /// The vectors are copied as <paramref name="other"/> stores them (already checked, and normalised for cosine), so
    /// they are neither checked nor normalised again: the vectors stored here are bit for bit the other's.
    /// </summary>
    /// <remarks>
    /// <para>Into an empty index that builds its graph as <paramref name="other"/> does (the same
    /// <see cref="HnswOptions.M"/>, <see cref="HnswOptions.NeighborSelection"/>, <see cref="HnswOptions.ExtendCandidates"/>
    /// and <see cref="HnswOptions.KeepPrunedConnections"/>), from an index with no removal pending a compaction, the
    /// other's graph is copied, links included, rather than built again: a memory copy instead of an insertion per
    /// vector, and the merged index answers every search as <paramref name="other"/> does. Otherwise every vector is
    /// inserted (into an empty index, 20,000 or more of them are built aside and taken in locality order, as
    /// <see cref="AddRange(ReadOnlyMemory{ulong}, ReadOnlyMemory{float}, int, IProgress{int}?, CancellationToken)"/> does).</para>
    /// <para>A key present in both: <paramref name="other"/>'s vector replaces this index's (as <see cref="Add"/> does);
    /// under <see cref="HnswOptions.MultipleVectorsPerKey"/> on this index, its vectors are added to the key's. When
    /// <paramref name="other"/> keeps several vectors per key and this index does not, a key takes the last of them.</para>
    /// <para><paramref name="other"/> is read at one moment (its writers wait while its vectors are copied, then go
    /// on); it may be read-only (<see cref="OpenReadOnly(string)"/>), and may be this index.</para>
    /// </remarks>
    /// <param name="other">The index to take the vectors from; it is not changed.</param>
    /// <param name="maxDegreeOfParallelism">Threads to use; 0 or less means all cores.</param>
    /// <param name="progress">Receives the vectors added so far and the total to add, about every 1% and at the end.</param>
    /// <param name="cancellationToken">Stops the insertion between two vectors.</param>
    /// <returns>How many vectors were added.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="other"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="other"/> has other dimensions or another metric; nothing is added.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled; the vectors added before stay.</exception>
    /// <exception cref="InvalidOperationException">This index is read-only (<see cref="OpenReadOnly(string)"/>).</exception>
    /// <exception cref="ObjectDisposedException">This index or <paramref name="other"/> was disposed.</exception>
    public int AddFrom(
        HnswIndex other,
        int maxDegreeOfParallelism = -1,
        IProgress<BulkProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(other);
        ThrowIfDisposed();
        ThrowIfReadOnly();
        if (other.Dimensions != Dimensions || other.Metric != Metric)
        {
            throw new ArgumentException(
                $"The other index holds {other.Dimensions}-float vectors under {other.Metric}; this one holds {Dimensions}-float vectors under {Metric}.",
                nameof(other));
        }

        cancellationToken.ThrowIfCancellationRequested();
        if (TryTakeGraphOf(other) is int taken)
        {
            TrainIfDue();
            progress?.Report(new BulkProgress(taken, taken));
            return taken;
        }

        (ulong[] keys, float[] vectors) = other.CopyLiveVectors();
        return AddRows(
            keys, vectors, maxDegreeOfParallelism, progress is null ? null : (done, total) => progress.Report(new BulkProgress(done, total)), cancellationToken, stored: true);
    }

    /// <summary>
    /// The fast path: when this index is empty (no node at all) and builds its graph as <paramref name="other"/> does (the
    /// same M, neighbour selection and heuristic flags), and every node of <paramref name="other"/> is live (no removal
    /// pending a compaction), this index takes a copy of the other's graph, links included, instead of inserting every
    /// vector again. Returns how many vectors it took, or null when the path does not apply (nothing changed).
    /// </summary>
    private int? TryTakeGraphOf(HnswIndex other)
    {
        HnswOptions mine = Options, theirs = other.Options;
        bool sameGraph = mine.M == theirs.M && mine.NeighborSelection == theirs.NeighborSelection
            && mine.ExtendCandidates == theirs.ExtendCandidates && mine.KeepPrunedConnections == theirs.KeepPrunedConnections;

        // Several vectors of one key cannot all stay in an index that keeps one per key.
        bool keysFit = mine.MultipleVectorsPerKey || !theirs.MultipleVectorsPerKey;
        if (!sameGraph || !keysFit || _graph.NodeCount != 0 || other.VectorCount == 0)
        {
            return null;
        }

        // The other's gate, then this one's, never both at once: two merges in opposite directions cannot deadlock.
        HnswGraph.Copy? copy = other.Exclusively(() => other._graph.CopyWhole());
        if (copy is null)
        {
            return null;
        }

        return Exclusively(() =>
        {
            if (_graph.NodeCount != 0)
            {
                return (int?)null; // an add came first: insert as usual
            }

            _graph.Take(copy);
            ShowAllNodes();
            return copy.Keys.Length;
        });
    }

    /// <summary>
    /// A bulk add of <paramref name="rows"/> (checked) into this empty index: the graph is built in an index of its own
    /// that nobody else sees, then taken whole in <see cref="HnswGraph.LocalityOrder"/>, so that a node's neighbours
    /// are stored near it (measured in docs/benchmarks.md). Searches meanwhile find this index empty, then find every
    /// vector; memory holds both copies while the graph is taken. When cancelled, what was built is taken and the
    /// cancellation thrown. Returns false, having added nothing, when another add came first.
    /// </summary>
    private bool TryBuildAside(
        ReadOnlyMemory<ulong> keys, ReadOnlyMemory<float> vectors, int[] rows, ParallelOptions parallel, Action<int, int>? report, bool stored)
    {
        // No codes aside: inserts walk the floats; this index fits its codes once it holds the vectors.
        using var aside = new HnswIndex(Options with { Quantization = Quantization.None, InitialCapacity = rows.Length });
        OperationCanceledException? cancelled = null;
        try
        {
            aside.InsertRows(keys, vectors, rows, parallel, report, stored);
        }
        catch (OperationCanceledException e)
        {
            cancelled = e; // what was inserted is linked and reconnected: take it
        }

        int[] order = HnswGraph.LocalityOrder(aside._graph);
        bool taken = order.Length > 0 && Exclusively(() =>
        {
            if (_graph.NodeCount != 0)
            {
                return false; // an add came first: insert as usual
            }

            _graph.TakeInOrder(aside._graph, order);
            ShowAllNodes();
            return true;
        });
        if (cancelled is not null)
        {
            ExceptionDispatchInfo.Throw(cancelled);
        }

        return taken;
    }

    /// <summary>Publishes every node's key: the end of taking a whole graph. The caller holds the gate exclusively.</summary>
    private void ShowAllNodes()
    {
        for (int id = 0, n = _graph.NodeCount; id < n; id++)
        {
            ulong key = _graph.KeyOf(id);
            lock (_keys.StripeOf(key))
            {
                _keys.Publish(key, id);
            }
        }
    }

    /// <summary>The live keys and their stored vectors (row-major), copied at one moment: writers wait for the copy.</summary>
    private (ulong[] Keys, float[] Vectors) CopyLiveVectors() => Exclusively(() =>
    {
        int dims = Dimensions;
        int n = _graph.NodeCount;
        int live = _keys.VectorCount;
        var keys = new ulong[live];
        var vectors = new float[(long)live * dims];
        int row = 0;
        for (int id = 0; id < n && row < live; id++)
        {
            if (!_graph.IsDeleted(id))
            {
                keys[row] = _graph.KeyOf(id);
                _graph.VectorOf(id).CopyTo(vectors.AsSpan(row * dims, dims));
                row++;
            }
        }

        return row == live ? (keys, vectors) : (keys[..row], vectors[..(row * dims)]);
    });
}
