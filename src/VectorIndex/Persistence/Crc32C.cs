using System.Buffers.Binary;
using System.Numerics;

namespace VectorIndex.Persistence;

/// <summary>CRC-32C (Castagnoli) over byte runs with the CPU's CRC instruction (<see cref="BitOperations.Crc32C(uint, ulong)"/>).</summary>
internal static class Crc32C
{
    public const uint Initial = 0xFFFFFFFF;

    /// <summary>Continues a running CRC (start with <see cref="Initial"/>, finish with <see cref="Finish"/>).</summary>
    public static uint Append(uint crc, ReadOnlySpan<byte> data)
    {
        while (data.Length >= 32)
        {
            crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(data));
            crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(data[8..]));
            crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(data[16..]));
            crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(data[24..]));
            data = data[32..];
        }

        while (data.Length >= 8)
        {
            crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(data));
            data = data[8..];
        }

        foreach (byte b in data)
        {
            crc = BitOperations.Crc32C(crc, b);
        }

        return crc;
    }

    public static uint Finish(uint crc) => ~crc;

    public static uint Compute(ReadOnlySpan<byte> data) => Finish(Append(Initial, data));
}
