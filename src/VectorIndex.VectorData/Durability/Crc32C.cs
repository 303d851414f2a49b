using System.Buffers.Binary;
using System.Numerics;

namespace VectorIndex.VectorData.Durability;

/// <summary>CRC-32C (Castagnoli), the checksum of the write-ahead log and the snapshot manifest.</summary>
public static class Crc32C
{
    /// <summary>The CRC-32C of <paramref name="data"/>.</summary>
    /// <param name="data">The bytes to checksum.</param>
    /// <returns>The checksum.</returns>
    public static uint Compute(ReadOnlySpan<byte> data) => Append(0, data);

    /// <summary>Continues a CRC-32C: the checksum of the bytes behind <paramref name="crc"/> followed by <paramref name="data"/>.</summary>
    /// <param name="crc">The checksum of the bytes before (0 for none).</param>
    /// <param name="data">The bytes that follow.</param>
    /// <returns>The checksum of both.</returns>
    public static uint Append(uint crc, ReadOnlySpan<byte> data)
    {
        // BitOperations.Crc32C is the raw (non-inverted) step, hardware accelerated where the CPU has it.
        uint state = ~crc;
        while (data.Length >= 8)
        {
            state = BitOperations.Crc32C(state, BinaryPrimitives.ReadUInt64LittleEndian(data));
            data = data[8..];
        }

        foreach (byte b in data)
        {
            state = BitOperations.Crc32C(state, b);
        }

        return ~state;
    }
}
