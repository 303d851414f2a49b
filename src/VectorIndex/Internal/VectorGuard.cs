using System.Numerics.Tensors;

namespace VectorIndex.Internal;

/// <summary>The input checks of API.md's error table, shared by every public entry point.</summary>
internal static class VectorGuard
{
    /// <summary>Throws <see cref="ArgumentException"/> unless <paramref name="vector"/> is a valid input for the metric.</summary>
    public static void Check(ReadOnlySpan<float> vector, int dimensions, Metric metric, string paramName)
    {
        if (vector.Length != dimensions)
        {
            throw new ArgumentException(
                $"The vector has {vector.Length} dimensions; this index expects {dimensions}.", paramName);
        }

        // The vectorised sum is finite unless a value is NaN or infinite (or the sum overflows), so the exact
        // element scan runs only then.
        if (!float.IsFinite(TensorPrimitives.Sum(vector)) && HasNonFinite(vector, out int at))
        {
            throw new ArgumentException($"The vector holds {vector[at]} at index {at}; only finite values are accepted.", paramName);
        }

        if (metric == Metric.Cosine && !float.IsNormal(NormOf(vector)))
        {
            throw new ArgumentException(
                "The vector is all zeros (or its norm is outside the float range); Metric.Cosine needs a vector it can normalise.", paramName);
        }
    }

    /// <summary>Writes <paramref name="source"/> to <paramref name="destination"/>, scaled to length 1 for <see cref="Metric.Cosine"/>.</summary>
    public static void CopyForMetric(ReadOnlySpan<float> source, Span<float> destination, Metric metric)
    {
        if (metric == Metric.Cosine)
        {
            TensorPrimitives.Divide(source, NormOf(source), destination);
        }
        else
        {
            source.CopyTo(destination);
        }
    }

    private static float NormOf(ReadOnlySpan<float> vector)
    {
        // In double: a float sum of squares can overflow (or underflow to 0) for vectors whose norm is fine.
        double sum = 0;
        foreach (float x in vector)
        {
            sum += (double)x * x;
        }

        return (float)Math.Sqrt(sum);
    }

    private static bool HasNonFinite(ReadOnlySpan<float> vector, out int index)
    {
        for (index = 0; index < vector.Length; index++)
        {
            if (!float.IsFinite(vector[index]))
            {
                return true;
            }
        }

        return false;
    }
}
