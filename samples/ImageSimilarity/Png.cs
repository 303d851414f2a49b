using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

/// <summary>
/// The smallest PNG writer that image viewers accept: 8-bit RGB, one IDAT chunk compressed with zlib, no interlace
/// (PNG specification, chapters 5 to 11).
/// </summary>
internal static class Png
{
    private static readonly byte[] Signature = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    private static readonly uint[] CrcTable = BuildCrcTable();

    public static void Write(string path, int width, int height, ReadOnlySpan<byte> rgb)
    {
        if (rgb.Length != width * height * 3)
        {
            throw new ArgumentException($"{width} x {height} RGB needs {width * height * 3} bytes; {rgb.Length} were given.", nameof(rgb));
        }

        using var file = File.Create(path);
        file.Write(Signature);

        Span<byte> header = stackalloc byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, width);
        BinaryPrimitives.WriteInt32BigEndian(header[4..], height);
        header[8] = 8;   // bits per sample
        header[9] = 2;   // colour type: RGB
        header[10] = 0;  // compression: deflate (the only one)
        header[11] = 0;  // filtering: adaptive, five filter types (the only method)
        header[12] = 0;  // no interlace
        WriteChunk(file, "IHDR", header);
        WriteChunk(file, "IDAT", Compress(width, height, rgb));
        WriteChunk(file, "IEND", []);
    }

    /// <summary>
    /// Each scanline gets a filter byte and its filtered bytes. Choosing per row the filter whose output has the smallest
    /// sum of absolute values (the specification's suggested heuristic) makes deflate's job easier: flat areas and
    /// vertical repeats become runs of zeros. Paeth is left out: Sub and Up already cover a contact sheet's
    /// backgrounds and upscaled pixels.
    /// </summary>
    private static byte[] Compress(int width, int height, ReadOnlySpan<byte> rgb)
    {
        int stride = width * 3;
        using var output = new MemoryStream();
        using (var zlib = new ZLibStream(output, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            byte[] zeros = new byte[stride];
            byte[][] candidates = [new byte[stride], new byte[stride], new byte[stride]];
            for (int y = 0; y < height; y++)
            {
                ReadOnlySpan<byte> row = rgb.Slice(y * stride, stride);
                ReadOnlySpan<byte> above = y == 0 ? zeros : rgb.Slice((y - 1) * stride, stride);
                for (int i = 0; i < stride; i++)
                {
                    byte left = i >= 3 ? row[i - 3] : (byte)0;
                    candidates[0][i] = row[i];                      // 0: None
                    candidates[1][i] = (byte)(row[i] - left);       // 1: Sub, minus the same channel of the pixel on the left
                    candidates[2][i] = (byte)(row[i] - above[i]);   // 2: Up, minus the byte above
                }

                int best = 0;
                long bestCost = long.MaxValue;
                for (int f = 0; f < candidates.Length; f++)
                {
                    long cost = 0;
                    foreach (byte b in candidates[f])
                    {
                        cost += b < 128 ? b : 256 - b; // the byte read as signed, in absolute value
                    }

                    if (cost < bestCost)
                    {
                        (best, bestCost) = (f, cost);
                    }
                }

                zlib.WriteByte((byte)best);
                zlib.Write(candidates[best]);
            }
        }

        return output.ToArray();
    }

    // A chunk: data length (big-endian), 4-letter type, data, CRC-32 of type and data.
    private static void WriteChunk(Stream stream, string type, ReadOnlySpan<byte> data)
    {
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(word, data.Length);
        stream.Write(word);
        byte[] typeBytes = Encoding.ASCII.GetBytes(type);
        stream.Write(typeBytes);
        stream.Write(data);
        uint crc = Crc32(Crc32(uint.MaxValue, typeBytes), data) ^ uint.MaxValue;
        BinaryPrimitives.WriteUInt32BigEndian(word, crc);
        stream.Write(word);
    }

    /// <summary>Continues a CRC-32 (ISO 3309, reflected polynomial 0xEDB88320) over <paramref name="bytes"/>.</summary>
    private static uint Crc32(uint crc, ReadOnlySpan<byte> bytes)
    {
        foreach (byte b in bytes)
        {
            crc = CrcTable[(crc ^ b) & 0xFF] ^ (crc >> 8);
        }

        return crc;
    }

    // The CRC of each byte value, one bit at a time, so the loop above can take a byte per step.
    private static uint[] BuildCrcTable()
    {
        var table = new uint[256];
        for (uint n = 0; n < 256; n++)
        {
            uint c = n;
            for (int bit = 0; bit < 8; bit++)
            {
                c = (c & 1) != 0 ? 0xEDB88320 ^ (c >> 1) : c >> 1;
            }

            table[n] = c;
        }

        return table;
    }
}
