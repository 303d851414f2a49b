using System.Numerics.Tensors;

namespace VectorIndex.AnnBench;

internal sealed partial record Dataset
{
    /// <summary>
    /// <paramref name="data"/> under a seeded random rotation (an orthogonal matrix from Gram-Schmidt on a Gaussian
    /// one): the same distances, so the same neighbours, but coordinates that are no longer small integers. The
    /// honest counterpart of Fashion-MNIST for quantised walks, whose pixels a global 8-bit code keeps exactly.
    /// </summary>
    public static Dataset Rotated(Dataset data, int seed)
    {
        int d = data.Dimensions;
        float[] rotation = RandomOrthogonal(d, seed);
        return new Dataset($"{data.Name}-rotated{seed}", d, Rotate(data.Base, rotation, d), Rotate(data.Queries, rotation, d), null, 0)
        {
            Metric = data.Metric,
        };
    }

    private static float[] RandomOrthogonal(int d, int seed)
    {
        var random = new Random(seed);
        var m = new double[d * d];
        for (int i = 0; i < m.Length; i++)
        {
            double u1 = 1.0 - random.NextDouble(), u2 = random.NextDouble();
            m[i] = Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
        }

        // Modified Gram-Schmidt over the rows, in double precision.
        for (int r = 0; r < d; r++)
        {
            Span<double> row = m.AsSpan(r * d, d);
            for (int p = 0; p < r; p++)
            {
                ReadOnlySpan<double> prior = m.AsSpan(p * d, d);
                double dot = TensorPrimitives.Dot(row, prior);
                for (int j = 0; j < d; j++)
                {
                    row[j] -= dot * prior[j];
                }
            }

            double norm = Math.Sqrt(TensorPrimitives.Dot(row, row));
            for (int j = 0; j < d; j++)
            {
                row[j] /= norm;
            }
        }

        return [.. m.Select(x => (float)x)];
    }

    private static float[] Rotate(float[] vectors, float[] rotation, int d)
    {
        var rotated = new float[vectors.Length];
        Parallel.For(0, vectors.Length / d, i =>
        {
            ReadOnlySpan<float> x = vectors.AsSpan(i * d, d);
            Span<float> y = rotated.AsSpan(i * d, d);
            for (int r = 0; r < d; r++)
            {
                y[r] = TensorPrimitives.Dot(rotation.AsSpan(r * d, d), x);
            }
        });
        return rotated;
    }
}
