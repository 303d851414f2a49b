using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace VectorIndex.AnnBench;

/// <summary>
/// Row-major float32 vectors in one file, so an embedding that took minutes is computed once. Little-endian:
/// <code>
/// offset  size        field
///  0       8          magic "VIEMBED1"
///  8       4          rows (int32, > 0)
/// 12       4          dimensions (int32, > 0)
/// 16       8          FNV-1a 64 of the payload bytes
/// 24       rows*d*4   payload: the vectors, row after row, IEEE float32
/// </code>
/// Written to a temporary file and renamed, so a crash leaves no half file under the real name.
/// </summary>
internal static class EmbeddingCache
{
    private const int HeaderBytes = 24;
    private static readonly byte[] Magic = "VIEMBED1"u8.ToArray();

    public static void Write(string path, float[] vectors, int dimensions)
    {
        if (dimensions < 1 || vectors.Length == 0 || vectors.Length % dimensions != 0)
        {
            throw new ArgumentException($"{vectors.Length} floats are not whole rows of {dimensions}.", nameof(vectors));
        }

        ReadOnlySpan<byte> payload = MemoryMarshal.AsBytes(vectors.AsSpan());
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("The cache file is little-endian; this machine is not.");
        }

        Span<byte> header = stackalloc byte[HeaderBytes];
        Magic.CopyTo(header);
        BinaryPrimitives.WriteInt32LittleEndian(header[8..], vectors.Length / dimensions);
        BinaryPrimitives.WriteInt32LittleEndian(header[12..], dimensions);
        BinaryPrimitives.WriteUInt64LittleEndian(header[16..], Fnv1a64(payload));

        string full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        string temporary = full + ".tmp";
        using (var file = File.Create(temporary))
        {
            file.Write(header);
            file.Write(payload);
        }

        File.Move(temporary, full, overwrite: true);
    }

    /// <exception cref="FileNotFoundException">No file at <paramref name="path"/>.</exception>
    /// <exception cref="InvalidDataException">
    /// Not a cache file (magic), a header with no rows or dimensions, a length other than the header's (truncated or
    /// extended), or a checksum that does not match (corrupted).
    /// </exception>
    public static (float[] Vectors, int Dimensions) Read(string path)
    {
        byte[] all = File.ReadAllBytes(path);
        if (all.Length < HeaderBytes || !all.AsSpan(0, 8).SequenceEqual(Magic))
        {
            throw new InvalidDataException($"{path} is not an embedding cache file (no VIEMBED1 header).");
        }

        int rows = BinaryPrimitives.ReadInt32LittleEndian(all.AsSpan(8));
        int dimensions = BinaryPrimitives.ReadInt32LittleEndian(all.AsSpan(12));
        if (rows < 1 || dimensions < 1 || (long)rows * dimensions > Array.MaxLength)
        {
            throw new InvalidDataException($"{path}: header says {rows} rows of {dimensions} dimensions.");
        }

        long expected = HeaderBytes + ((long)rows * dimensions * sizeof(float));
        if (all.Length != expected)
        {
            throw new InvalidDataException(
                $"{path} is {all.Length:N0} bytes; {rows:N0} rows of {dimensions} floats need {expected:N0} (truncated or damaged; delete it to recompute).");
        }

        ReadOnlySpan<byte> payload = all.AsSpan(HeaderBytes);
        ulong stored = BinaryPrimitives.ReadUInt64LittleEndian(all.AsSpan(16));
        if (Fnv1a64(payload) != stored)
        {
            throw new InvalidDataException($"{path}: the vectors do not match the header's checksum (corrupted; delete it to recompute).");
        }

        var vectors = new float[rows * dimensions];
        payload.CopyTo(MemoryMarshal.AsBytes(vectors.AsSpan()));
        return (vectors, dimensions);
    }

    /// <summary>FNV-1a, 64-bit: any flipped bit changes it; collisions need intent, which a cache need not fear.</summary>
    internal static ulong Fnv1a64(ReadOnlySpan<byte> bytes)
    {
        ulong hash = 14695981039346656037UL;
        foreach (byte b in bytes)
        {
            hash = (hash ^ b) * 1099511628211UL;
        }

        return hash;
    }
}
