namespace VectorIndex.Orleans;

internal static class Validation
{
    public static void CheckVector(float[] vector, ShardedCollectionDefinition definition, string parameter)
    {
        if (vector.Length != definition.Dimensions)
        {
            throw new ArgumentException($"A vector has {vector.Length} floats; the collection has {definition.Dimensions} dimensions.", parameter);
        }

        bool nonZero = false;
        foreach (float value in vector)
        {
            if (!float.IsFinite(value))
            {
                throw new ArgumentException("A vector has a NaN or infinity.", parameter);
            }

            nonZero |= value != 0;
        }

        if (!nonZero && definition.Metric == Metric.Cosine)
        {
            throw new ArgumentException("A vector is all zeros, which has no direction under the cosine metric.", parameter);
        }
    }
}
