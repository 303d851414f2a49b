using VectorIndex.Distance;
using VectorIndex.Graph;
using VectorIndex.Internal;

namespace VectorIndex;

/// <summary>Range search and batch search: the searches that return other than k results for one query.</summary>
public sealed partial class HnswIndex
{
    /// <summary>
    /// Every live vector within <paramref name="radius"/> of <paramref name="query"/> (distance &lt;= radius, in the
    /// index's metric), however many, nearest first; under <see cref="HnswOptions.MultipleVectorsPerKey"/>, every key
    /// with a vector within the radius, once, at its nearest such vector.
    /// </summary>
    /// <remarks>
    /// Approximate, as the graph is: the walk expands every node it meets within the radius, and beyond it only those
    /// among the <c>ef</c> nearest met so far (<see cref="SearchOptions.Ef"/>, else <see cref="HnswOptions.EfSearch"/>),
    /// so a vector within the radius that is reachable only through vectors farther away than that is missed. A larger
    /// ef finds more of them; docs/benchmarks.md gives the recall against exact range search on Fashion-MNIST.
    /// <see cref="SearchOptions.Filter"/> and <see cref="SearchOptions.AllowedKeys"/> apply (rejected vectors still
    /// route the walk); <see cref="SearchOptions.MaxDistance"/> is ignored (the radius is the threshold).
    /// </remarks>
    /// <param name="query">Exactly <see cref="Dimensions"/> finite floats (non-zero for <see cref="Metric.Cosine"/>).</param>
    /// <param name="radius">The distance threshold; not NaN.</param>
    /// <param name="options">The breadth beyond the radius and the filter; null for the index's defaults.</param>
    /// <param name="cancellationToken">Stops a long walk (a radius that holds much of the index).</param>
    /// <exception cref="ArgumentException">The query has the wrong length, a NaN or infinity, or is all zeros under cosine; or the radius is NaN.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><see cref="SearchOptions.Ef"/> &lt; 1.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled.</exception>
    /// <exception cref="ObjectDisposedException">The index was disposed.</exception>
    public IReadOnlyList<SearchResult> SearchRange(
        ReadOnlySpan<float> query, float radius, SearchOptions? options = null, CancellationToken cancellationToken = default)
    {
        int epoch = _graph.Epoch.Enter();
        SearchScratch? scratch = null;
        try
        {
            ThrowIfDisposed();
            if (float.IsNaN(radius))
            {
                throw new ArgumentException("The radius is NaN.", nameof(radius));
            }

            int ef = options?.Ef ?? Options.EfSearch;
            ArgumentOutOfRangeException.ThrowIfLessThan(ef, 1, "options.Ef");
            VectorGuard.Check(query, Dimensions, Metric, nameof(query));

            scratch = _graph.RentScratch();
            VectorGuard.CopyForMetric(query, scratch.Query, Metric);
            long stamp = _keys.HandoverStamp();
            int found = (_graph.UsesL2, options is { Filters: true }) switch
            {
                (true, false) => _graph.RangeSearch<L2SquaredDistance, LiveNodes>(scratch, radius, ef, default, cancellationToken),
                (false, false) => _graph.RangeSearch<InnerProductDistance, LiveNodes>(scratch, radius, ef, default, cancellationToken),
                (true, true) => _graph.RangeSearch<L2SquaredDistance, AcceptedKeys>(scratch, radius, ef, new AcceptedKeys(options!), cancellationToken),
                (false, true) => _graph.RangeSearch<InnerProductDistance, AcceptedKeys>(scratch, radius, ef, new AcceptedKeys(options!), cancellationToken),
            };

            Span<Candidate> inRange = scratch.InRange.AsSpan(0, found);
            inRange.Sort(default(ByDistance));
            var results = new List<SearchResult>(found);
            foreach (Candidate c in inRange)
            {
                // Checked again at the end, as WriteResults does: a node hidden since it was met is not an answer.
                if (!_graph.IsDeleted(c.Id))
                {
                    results.Add(new SearchResult(_graph.KeyOf(c.Id), c.Distance));
                }
            }

            if (_keys.MultipleVectors || !_keys.NoHandoverSince(stamp))
            {
                // A key with several vectors, or handed to another node meanwhile, may have been met more than once: keep its nearest.
                var seen = new HashSet<ulong>(results.Count);
                results.RemoveAll(r => !seen.Add(r.Key));
            }

            return results;
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

    /// <summary>
    /// Searches many queries at once, on all cores or <paramref name="maxDegreeOfParallelism"/> threads: query i (row
    /// i of <paramref name="queries"/>, row-major) writes its results, nearest first, to
    /// <c>results[(i * k)..((i + 1) * k)]</c> and their number to <c>counts[i]</c>. Nothing is allocated per query.
    /// </summary>
    /// <param name="queries">Row-major: a multiple of <see cref="Dimensions"/> floats, every row as for <see cref="Search(ReadOnlySpan{float}, Span{SearchResult}, SearchOptions?)"/>.</param>
    /// <param name="k">Results per query; at least 1.</param>
    /// <param name="results">At least rows x <paramref name="k"/> results.</param>
    /// <param name="counts">At least one count per row.</param>
    /// <param name="options">As for a single search, shared by every query.</param>
    /// <param name="maxDegreeOfParallelism">Threads to use; 0 or less means all cores.</param>
    /// <param name="cancellationToken">Stops between queries; the rows already answered keep their results.</param>
    /// <exception cref="ArgumentException">The sizes do not fit, or a row is invalid; nothing is written.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="k"/> &lt; 1, or <see cref="SearchOptions.Ef"/> &lt; 1.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled.</exception>
    /// <exception cref="ObjectDisposedException">The index was disposed.</exception>
    public void SearchBatch(
        ReadOnlyMemory<float> queries,
        int k,
        Memory<SearchResult> results,
        Memory<int> counts,
        SearchOptions? options = null,
        int maxDegreeOfParallelism = -1,
        CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        int dims = Dimensions;
        if (queries.Length % dims != 0)
        {
            throw new ArgumentException($"{queries.Length} floats are not a whole number of {dims}-float rows.", nameof(queries));
        }

        int rows = queries.Length / dims;
        if ((long)rows * k > results.Length)
        {
            throw new ArgumentException($"{rows} queries of k = {k} need {(long)rows * k} results; {results.Length} were given.", nameof(results));
        }

        if (rows > counts.Length)
        {
            throw new ArgumentException($"{rows} queries need {rows} counts; {counts.Length} were given.", nameof(counts));
        }

        ReadOnlySpan<float> all = queries.Span;
        for (int row = 0; row < rows; row++)
        {
            VectorGuard.Check(all.Slice(row * dims, dims), dims, Metric, $"{nameof(queries)}[row {row}]");
        }

        var parallel = new ParallelOptions
        {
            MaxDegreeOfParallelism = maxDegreeOfParallelism <= 0 ? Environment.ProcessorCount : maxDegreeOfParallelism,
            CancellationToken = cancellationToken,
        };

        // Ranges of rows, not single rows: one delegate call and one cancellation check per range.
        int chunk = Math.Clamp(rows / (parallel.MaxDegreeOfParallelism * 8), 1, 256);
        Parallel.For(0, (rows + chunk - 1) / chunk, parallel, c =>
        {
            int end = Math.Min(rows, (c + 1) * chunk);
            for (int row = c * chunk; row < end; row++)
            {
                counts.Span[row] = Search(queries.Span.Slice(row * dims, dims), results.Span.Slice(row * k, k), options);
            }
        });
    }
}
