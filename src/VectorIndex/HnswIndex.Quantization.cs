using VectorIndex.Codes;

namespace VectorIndex;

/// <summary>Quantised traversal: when the codes are fitted, and refitted (see <see cref="HnswOptions.Quantization"/>).</summary>
public sealed partial class HnswIndex
{
    // The most vectors the codes' ranges are fitted on.
    private const int MaxTrainingSample = 20_000;

    /// <summary>
    /// Whether searches walk codes now: the index is quantised (<see cref="HnswOptions.Quantization"/>) and has fitted
    /// its codes (it held <see cref="HnswOptions.QuantizationTrainingSize"/> vectors once, or was loaded so).
    /// </summary>
    public bool IsQuantizationTrained => _graph.Segments.Quantizer is not null;

    /// <summary>
    /// Fits the codes' ranges on a sample of the live vectors (up to 20,000, spread over the index) and codes every
    /// stored vector again, now, whatever their number. Adds, removes and compactions wait meanwhile; searches go on,
    /// each with the codes it started with. Useful after the data has drifted from what the codes were fitted on
    /// (<see cref="IndexStatistics.ClippedShare"/>), and what <see cref="Compact()"/> does by itself when the clipped
    /// share exceeds twice what the fit clips by design.
    /// </summary>
    /// <exception cref="InvalidOperationException">The index is not quantised, is empty, or is read-only.</exception>
    /// <exception cref="ObjectDisposedException">The index was disposed.</exception>
    public void TrainQuantization()
    {
        ThrowIfDisposed();
        ThrowIfReadOnly();
        if (Options.Quantization == Quantization.None)
        {
            throw new InvalidOperationException("The index is not quantised (HnswOptions.Quantization is None).");
        }

        Exclusively(() =>
        {
            if (Count == 0)
            {
                throw new InvalidOperationException("An empty index has nothing to fit the codes on.");
            }

            TrainCore();
        });
    }

    /// <summary>Fits the codes once the index has reached its training size. Call holding no lock.</summary>
    private void TrainIfDue()
    {
        if (Options.Quantization != Quantization.None && _graph.Segments.Quantizer is null && Count >= Options.QuantizationTrainingSize)
        {
            Exclusively(() =>
            {
                if (_graph.Segments.Quantizer is null && Count >= Options.QuantizationTrainingSize)
                {
                    TrainCore();
                }
            });
        }
    }

    /// <summary>At a compaction: refits when the share of clipped coordinates has grown past twice what the fit clips by design.</summary>
    private void RefitIfDrifted()
    {
        if (_graph.Segments.Quantizer is { } quantizer && Count > 0
            && quantizer.ClippedShare > (2 * quantizer.ExpectedClippedShare) + 0.001)
        {
            TrainCore();
        }
    }

    /// <summary>Samples live vectors evenly over the ids, fits, and installs the codes. The caller holds the gate exclusively.</summary>
    private void TrainCore()
    {
        int n = _graph.NodeCount;
        int live = Count;
        int take = Math.Min(live, MaxTrainingSample);
        int dims = Dimensions;
        var sample = new float[(long)take * dims];
        int rows = 0;
        double step = (double)live / take;
        double next = 0;
        for (int id = 0, seen = 0; id < n && rows < take; id++)
        {
            if (_graph.IsDeleted(id))
            {
                continue;
            }

            if (seen++ >= next)
            {
                _graph.VectorOf(id).CopyTo(sample.AsSpan(rows++ * dims, dims));
                next += step;
            }
        }

        var quantizer = ScalarQuantizer.Train(Options.Quantization, Metric, dims, sample, rows);
        _graph.InstallCodes(quantizer);
    }

    /// <summary>
    /// The re-rank depth a search passes the graph: -1 walks the floats (not quantised). The default: 2k under Int8,
    /// 4k under Int4, and at least a quarter of ef and 10. Measured at k 10 (docs/benchmarks.md): on Fashion-MNIST 20
    /// re-ranked gave the recall of re-ranking all ef at every ef from 16 to 96 under both codes, and up to 1.3x the
    /// speed at ef 48; on the rotated Fashion-MNIST (coordinates that are not small integers) 4-bit codes needed 40 to
    /// reach the float walk's recall ceiling (0.9994 at ef 200; 20 capped it at 0.9973), 8-bit ones 20. A quarter of
    /// ef keeps the ceiling where a caller asks for a wide walk.
    /// </summary>
    private int RerankFor(SearchOptions? options, int k, int ef) =>
        Options.Quantization == Quantization.None ? -1
        : options?.Rerank ?? Math.Max(Math.Max((Options.Quantization == Quantization.Int4 ? 4 : 2) * k, ef / 4), 10);
}
