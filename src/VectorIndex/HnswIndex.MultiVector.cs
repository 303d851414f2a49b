using VectorIndex.Distance;
using VectorIndex.Graph;
using VectorIndex.Internal;

namespace VectorIndex;

/// <summary>Several vectors per key (<see cref="HnswOptions.MultipleVectorsPerKey"/>): one result per key.</summary>
public sealed partial class HnswIndex
{
    /// <summary>
    /// The number of live vectors: <see cref="Count"/> unless <see cref="HnswOptions.MultipleVectorsPerKey"/> is on, when
    /// a key may hold several.
    /// </summary>
    public int VectorCount => _keys.VectorCount;

    /// <summary>
    /// Copies every vector stored under <paramref name="key"/> (normalised, for <see cref="Metric.Cosine"/>), in the
    /// order they were added: one at most unless <see cref="HnswOptions.MultipleVectorsPerKey"/> is on.
    /// </summary>
    /// <returns>The vectors, each of <see cref="Dimensions"/> floats; empty when the key is not present.</returns>
    /// <exception cref="ObjectDisposedException">The index was disposed.</exception>
    public float[][] GetVectors(ulong key)
    {
        ThrowIfDisposed();

        // Under the gate no compaction can move or clear the nodes while their vectors are copied.
        _writeGate.EnterReadLock();
        try
        {
            ThrowIfDisposed();
            int[] nodes = _keys.NodesOf(key);
            var vectors = new float[nodes.Length][];
            for (int i = 0; i < nodes.Length; i++)
            {
                vectors[i] = _graph.VectorOf(nodes[i]).ToArray();
            }

            return vectors;
        }
        finally
        {
            _writeGate.ExitReadLock();
        }
    }

    /// <summary>
    /// The graph walk of an index with several vectors per key. The k keys take about k times the mean vectors per key
    /// of W's places, so the walk's breadth grows by that much beyond ef (keeping ef's margin over k). W must then hold k
    /// distinct keys: while it comes back with fewer although it was full (more nodes lie beyond it), the walk runs again
    /// twice as wide, up to the node count. What it still lacks then, the caller's exact scan gives.
    /// </summary>
    private int WalkDistinct<TDistance, TFilter>(SearchScratch scratch, int ef, int rerank, TFilter filter, bool bridge, Span<SearchResult> destination)
        where TDistance : struct, IDistance
        where TFilter : struct, INodeFilter
    {
        int nodes = _graph.NodeCount;
        int keys = Math.Max(1, Count);
        long extra = (long)destination.Length * Math.Max(0, VectorCount - keys) / keys;
        for (int width = (int)Math.Min(ef + extra, Math.Max(ef, nodes)); ; width = (int)Math.Min((long)width * 2, nodes))
        {
            int found = _graph.SearchDistinct<TDistance, TFilter>(scratch, width, filter, bridge, rerank, destination, out int met);
            if (found == destination.Length || met < width || width >= nodes)
            {
                return found;
            }
        }
    }
}
