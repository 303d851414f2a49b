using Microsoft.Extensions.VectorData;

namespace VectorIndex.VectorData.CrashHelper;

/// <summary>The record the crash test writes; its vector is a function of <see cref="Seq"/> so the reader can check it.</summary>
public sealed class CrashRecord
{
    /// <summary>The key.</summary>
    [VectorStoreKey]
    public int Id { get; set; }

    /// <summary>The number of the write that stored this version.</summary>
    [VectorStoreData(IsIndexed = true)]
    public long Seq { get; set; }

    /// <summary>A text derived from the sequence number.</summary>
    [VectorStoreData]
    public string Text { get; set; } = string.Empty;

    /// <summary>The vector.</summary>
    [VectorStoreVector(8)]
    public ReadOnlyMemory<float> Vector { get; set; }

    /// <summary>The vector written with sequence number <paramref name="seq"/>.</summary>
    /// <param name="seq">The sequence number.</param>
    /// <returns>Eight values, never all zero.</returns>
    public static float[] VectorFor(long seq)
    {
        var v = new float[8];
        for (int i = 0; i < v.Length; i++)
        {
            v[i] = (float)Math.Sin((seq * 0.37) + i) + 1.5f;
        }

        return v;
    }
}
