using Microsoft.Extensions.VectorData;

namespace VectorIndex.VectorData.Storage;

/// <summary>
/// The index of one vector property: an <see cref="HnswIndex"/> (index kinds Hnsw and Dynamic) or a
/// <see cref="BruteForceIndex"/> (Flat, exact), keyed by row id, plus the conversion of its distances to MEVD scores.
/// </summary>
internal sealed class VectorSlot : IDisposable
{
    private readonly BruteForceIndex? _flat;

    public VectorSlot(VectorSpec spec, GraphSettings graph, HnswIndex? loaded = null)
    {
        Spec = spec;
        Metric = MetricOf(spec.DistanceFunction);
        if (spec.IndexKind == IndexKind.Flat)
        {
            _flat = new BruteForceIndex(spec.Dimensions, Metric);
        }
        else
        {
            Hnsw = loaded ?? new HnswIndex(new HnswOptions
            {
                Dimensions = spec.Dimensions,
                Metric = Metric,
                M = graph.M,
                EfConstruction = graph.EfConstruction,
                EfSearch = graph.EfSearch,
            });
        }

        // Similarities grow with closeness, distances shrink; the index returns nearest first either way.
        HigherIsCloser = spec.DistanceFunction is DistanceFunction.CosineSimilarity or DistanceFunction.DotProductSimilarity;
    }

    public VectorSpec Spec { get; }

    public Metric Metric { get; }

    /// <summary>The graph, when this slot has one (saved with snapshots); null for Flat.</summary>
    public HnswIndex? Hnsw { get; }

    /// <summary>Whether a larger score means a closer match (score thresholds are then lower bounds).</summary>
    public bool HigherIsCloser { get; }

    public static string NormalizeDistanceFunction(string? distanceFunction) => distanceFunction switch
    {
        null => DistanceFunction.CosineSimilarity,
        DistanceFunction.CosineSimilarity or DistanceFunction.CosineDistance or DistanceFunction.DotProductSimilarity
            or DistanceFunction.NegativeDotProductSimilarity or DistanceFunction.EuclideanDistance
            or DistanceFunction.EuclideanSquaredDistance => distanceFunction,
        _ => throw new NotSupportedException(
            $"Distance function '{distanceFunction}' is not supported by VectorIndex; use {DistanceFunction.CosineSimilarity}, {DistanceFunction.CosineDistance}, " +
            $"{DistanceFunction.DotProductSimilarity}, {DistanceFunction.NegativeDotProductSimilarity}, {DistanceFunction.EuclideanDistance} or {DistanceFunction.EuclideanSquaredDistance}."),
    };

    public static string NormalizeIndexKind(string? indexKind) => indexKind switch
    {
        null => IndexKind.Hnsw,
        IndexKind.Hnsw or IndexKind.Flat or IndexKind.Dynamic => indexKind,
        _ => throw new NotSupportedException(
            $"Index kind '{indexKind}' is not supported by VectorIndex; use {IndexKind.Hnsw}, {IndexKind.Flat} or {IndexKind.Dynamic}."),
    };

    private static Metric MetricOf(string distanceFunction) => distanceFunction switch
    {
        DistanceFunction.CosineSimilarity or DistanceFunction.CosineDistance => Metric.Cosine,
        DistanceFunction.DotProductSimilarity or DistanceFunction.NegativeDotProductSimilarity => Metric.InnerProduct,
        _ => Metric.L2Squared,
    };

    /// <summary>The MEVD score of an index distance d (cosine: 1 - cos, inner product: 1 - dot, L2: squared).</summary>
    public double ToScore(float distance) => Spec.DistanceFunction switch
    {
        DistanceFunction.CosineSimilarity => 1.0 - distance,
        DistanceFunction.CosineDistance => distance,
        DistanceFunction.DotProductSimilarity => 1.0 - distance,
        DistanceFunction.NegativeDotProductSimilarity => distance - 1.0,
        DistanceFunction.EuclideanSquaredDistance => distance,
        _ => Math.Sqrt(Math.Max(0f, distance)),
    };

    /// <summary>Whether a score passes a threshold (inclusive): at least it for similarities, at most it for distances.</summary>
    public bool Passes(double score, double threshold) => HigherIsCloser ? score >= threshold : score <= threshold;

    /// <summary>Throws <see cref="ArgumentException"/> for a vector this slot's index would refuse; called before anything is logged.</summary>
    public static void Validate(VectorSpec spec, ReadOnlySpan<float> vector, string propertyName)
    {
        if (vector.Length != spec.Dimensions)
        {
            throw new ArgumentException(
                $"Vector property '{propertyName}' has {spec.Dimensions} dimensions; the vector given has {vector.Length}.");
        }

        bool allZero = true;
        foreach (float f in vector)
        {
            if (!float.IsFinite(f))
            {
                throw new ArgumentException($"The vector for property '{propertyName}' contains NaN or infinity.");
            }

            allZero &= f == 0f;
        }

        if (allZero && MetricOf(spec.DistanceFunction) == Metric.Cosine)
        {
            throw new ArgumentException($"The vector for property '{propertyName}' is all zeros, which has no direction for cosine distance.");
        }
    }

    public void Add(ulong id, ReadOnlySpan<float> vector)
    {
        if (_flat is not null)
        {
            _flat.Add(id, vector);
        }
        else
        {
            Hnsw!.Add(id, vector);
        }
    }

    /// <summary>Adds or replaces many vectors (row-major); the graph inserts them in parallel.</summary>
    public void AddRange(ulong[] ids, float[] values)
    {
        if (ids.Length == 0)
        {
            return;
        }

        if (_flat is not null)
        {
            int dims = Spec.Dimensions;
            for (int i = 0; i < ids.Length; i++)
            {
                _flat.Add(ids[i], values.AsSpan(i * dims, dims));
            }
        }
        else
        {
            Hnsw!.AddRange(ids, values);
        }
    }

    public void Remove(ulong id)
    {
        if (_flat is not null)
        {
            _flat.Remove(id);
        }
        else
        {
            Hnsw!.Remove(id);
        }
    }

    public IReadOnlyList<SearchResult> Search(ReadOnlySpan<float> query, int k, SearchOptions options) =>
        _flat is not null ? _flat.Search(query, k, options) : Hnsw!.Search(query, k, options);

    public void Dispose()
    {
        _flat?.Dispose();
        Hnsw?.Dispose();
    }
}
