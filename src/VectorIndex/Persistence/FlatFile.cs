using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace VectorIndex.Persistence;

/// <summary>
/// The file of a <see cref="BruteForceIndex"/> (docs/file-format.md, "Brute-force index files"): the family of the
/// HNSW format (magic, version, little-endian header with a CRC-32C, 64-byte-aligned sections each with its CRC-32C)
/// with its own magic, <c>VIDXFLAT</c>, so that either index refuses the other's file by name.
/// </summary>
internal static class FlatFile
{
    public const int HeaderLength = 128;
    public const uint CurrentVersion = 1;
    private const int SectionCount = 2;
    private const int TableOffset = 40;
    private const int EntryLength = 24;
    public const int CrcOffset = HeaderLength - sizeof(uint);

    /// <summary>"VIDXFLAT": a brute-force index file.</summary>
    public static ReadOnlySpan<byte> Magic => "VIDXFLAT"u8;

    /// <summary>What a file holds: the shape and the rows (keys and stored vectors, row-major), in row order.</summary>
    public readonly record struct Contents(int Dimensions, Metric Metric, int Count, ulong[] Keys, float[] Vectors);

    /// <summary>Writes <paramref name="contents"/> (the first <see cref="Contents.Count"/> rows of its arrays).</summary>
    public static void Write(Contents contents, Stream stream)
    {
        long keysLength = (long)contents.Count * sizeof(ulong);
        long vectorsLength = (long)contents.Count * contents.Dimensions * sizeof(float);
        ReadOnlySpan<byte> keys = MemoryMarshal.AsBytes(contents.Keys.AsSpan(0, contents.Count));
        ReadOnlySpan<byte> vectors = MemoryMarshal.AsBytes(contents.Vectors.AsSpan(0, contents.Count * contents.Dimensions));
        long keysOffset = HeaderLength;
        long vectorsOffset = FileHeader.Align(keysOffset + keysLength);

        Span<byte> header = stackalloc byte[HeaderLength];
        header.Clear();
        Magic.CopyTo(header);
        BinaryPrimitives.WriteUInt32LittleEndian(header[8..], CurrentVersion);
        BinaryPrimitives.WriteUInt32LittleEndian(header[12..], HeaderLength);
        BinaryPrimitives.WriteInt32LittleEndian(header[16..], contents.Dimensions);
        BinaryPrimitives.WriteInt32LittleEndian(header[20..], (int)contents.Metric);
        BinaryPrimitives.WriteInt32LittleEndian(header[24..], contents.Count);
        BinaryPrimitives.WriteInt32LittleEndian(header[32..], SectionCount);
        WriteEntry(header, 0, keysOffset, keysLength, Crc32C.Compute(keys));
        WriteEntry(header, 1, vectorsOffset, vectorsLength, Crc32C.Compute(vectors));
        BinaryPrimitives.WriteUInt32LittleEndian(header[CrcOffset..], Crc32C.Compute(header[..CrcOffset]));

        stream.Write(header);
        stream.Write(keys);
        Span<byte> zeros = stackalloc byte[FileHeader.Alignment];
        zeros.Clear();
        stream.Write(zeros[..(int)(vectorsOffset - keysOffset - keysLength)]);
        const int Chunk = 1 << 22;
        for (int at = 0; at < vectors.Length; at += Chunk)
        {
            stream.Write(vectors.Slice(at, Math.Min(Chunk, vectors.Length - at)));
        }
    }

    /// <summary>
    /// Reads a file written by <see cref="Write"/> from the stream's position. Every field is checked against the others
    /// and against the input's length before anything is allocated; every section against its CRC; the keys must be
    /// distinct and the vectors finite (and not all zeros under cosine).
    /// </summary>
    /// <exception cref="InvalidDataException">Anything is wrong; the message says what.</exception>
    public static Contents Read(Stream stream)
    {
        stream = InputStream.Seekable(stream);

        long start = stream.Position;
        long length = stream.Length - start;
        Span<byte> header = stackalloc byte[HeaderLength];
        int headerRead = (int)Math.Clamp(length, 0, HeaderLength);
        ReadExactly(stream, header[..headerRead]);

        // The kind first: a file of the HNSW format is named as such, whatever its length.
        if (header[..headerRead].StartsWith(FileHeader.Magic))
        {
            throw Invalid("it is an HnswIndex file (magic \"VIDXHNSW\"), not a BruteForceIndex file; load it with HnswIndex.Load");
        }

        if (length < HeaderLength)
        {
            throw Invalid($"the input is {length} bytes, shorter than the {HeaderLength}-byte header of a BruteForceIndex file");
        }

        if (!header.StartsWith(Magic))
        {
            throw Invalid("it does not start with the magic \"VIDXFLAT\": not a BruteForceIndex file");
        }

        uint version = BinaryPrimitives.ReadUInt32LittleEndian(header[8..]);
        if (version > CurrentVersion)
        {
            throw Invalid($"its format version is {version}, newer than the versions this library reads (up to {CurrentVersion}); update VectorIndex");
        }

        if (version == 0)
        {
            throw Invalid("its format version is 0, which does not exist");
        }

        if (BinaryPrimitives.ReadUInt32LittleEndian(header[CrcOffset..]) != Crc32C.Compute(header[..CrcOffset]))
        {
            throw Invalid("the header checksum does not match: the header is corrupted");
        }

        int dimensions = BinaryPrimitives.ReadInt32LittleEndian(header[16..]);
        var metric = (Metric)BinaryPrimitives.ReadInt32LittleEndian(header[20..]);
        int count = BinaryPrimitives.ReadInt32LittleEndian(header[24..]);
        if (BinaryPrimitives.ReadUInt32LittleEndian(header[12..]) != HeaderLength
            || BinaryPrimitives.ReadInt32LittleEndian(header[28..]) != 0
            || BinaryPrimitives.ReadInt32LittleEndian(header[32..]) != SectionCount
            || header[36..TableOffset].ContainsAnyExcept((byte)0)
            || header[(TableOffset + (SectionCount * EntryLength))..CrcOffset].ContainsAnyExcept((byte)0))
        {
            throw Invalid("the header length, flags, section count or reserved bytes are not those of format version 1");
        }

        if (dimensions < 1 || !Enum.IsDefined(metric) || count < 0)
        {
            throw Invalid($"the stored shape is out of range ({dimensions} dimensions, metric {(int)metric}, {count} vectors)");
        }

        long keysLength = (long)count * sizeof(ulong);
        long floats = (long)count * dimensions;
        (long keysOffset, long keysSize, uint keysCrc) = ReadEntry(header, 0);
        (long vectorsOffset, long vectorsSize, uint vectorsCrc) = ReadEntry(header, 1);
        if (keysOffset != HeaderLength || keysSize != keysLength || keysSize > length - keysOffset)
        {
            throw Invalid($"the keys section (offset {keysOffset}, {keysSize} bytes) does not hold {count} keys inside the {length}-byte input");
        }

        if (vectorsOffset != FileHeader.Align(keysOffset + keysSize) || vectorsSize != floats * sizeof(float) || vectorsSize > length - vectorsOffset)
        {
            throw Invalid($"the vectors section (offset {vectorsOffset}, {vectorsSize} bytes) does not hold {count} x {dimensions} floats inside the {length}-byte input");
        }

        if (floats > Array.MaxLength)
        {
            throw Invalid($"it holds {floats} floats, more than one array of this library can");
        }

        // Both sections lie inside the input: what follows allocates no more than it holds.
        var keys = new ulong[count];
        ReadSection(stream, start + keysOffset, MemoryMarshal.AsBytes(keys.AsSpan()), keysCrc, "keys");
        var vectors = new float[floats];
        ReadSection(stream, start + vectorsOffset, MemoryMarshal.AsBytes(vectors.AsSpan()), vectorsCrc, "vectors");

        var seen = new HashSet<ulong>(count);
        foreach (ulong key in keys)
        {
            if (!seen.Add(key))
            {
                throw Invalid($"key {key} is stored twice");
            }
        }

        for (int row = 0; row < count; row++)
        {
            ReadOnlySpan<float> vector = vectors.AsSpan(row * dimensions, dimensions);
            if (vector.ContainsAnyExcept(0f) is false && metric == Metric.Cosine)
            {
                throw Invalid($"the vector of row {row} is all zeros under cosine");
            }

            foreach (float x in vector)
            {
                if (!float.IsFinite(x))
                {
                    throw Invalid($"the vector of row {row} holds a NaN or an infinity");
                }
            }
        }

        return new Contents(dimensions, metric, count, keys, vectors);
    }

    /// <summary>The message of every fault of a brute-force file.</summary>
    public static InvalidDataException Invalid(string what) => new($"Not a valid VectorIndex brute-force index: {what}.");

    private static void WriteEntry(Span<byte> header, int index, long offset, long length, uint crc)
    {
        Span<byte> entry = header[(TableOffset + (index * EntryLength))..];
        BinaryPrimitives.WriteInt64LittleEndian(entry, offset);
        BinaryPrimitives.WriteInt64LittleEndian(entry[8..], length);
        BinaryPrimitives.WriteUInt32LittleEndian(entry[16..], crc);
    }

    private static (long Offset, long Length, uint Crc) ReadEntry(ReadOnlySpan<byte> header, int index)
    {
        ReadOnlySpan<byte> entry = header[(TableOffset + (index * EntryLength))..];
        if (BinaryPrimitives.ReadUInt32LittleEndian(entry[20..]) != 0)
        {
            throw Invalid($"section entry {index} has a non-zero reserved word");
        }

        return (BinaryPrimitives.ReadInt64LittleEndian(entry), BinaryPrimitives.ReadInt64LittleEndian(entry[8..]), BinaryPrimitives.ReadUInt32LittleEndian(entry[16..]));
    }

    private static void ReadSection(Stream stream, long position, Span<byte> destination, uint crc, string name)
    {
        stream.Position = position;
        ReadExactly(stream, destination);
        if (Crc32C.Compute(destination) != crc)
        {
            throw Invalid($"the checksum of the {name} section does not match: the file is corrupted");
        }
    }

    private static void ReadExactly(Stream stream, Span<byte> destination)
    {
        try
        {
            stream.ReadExactly(destination);
        }
        catch (EndOfStreamException)
        {
            throw Invalid("the input ends early (truncated)");
        }
    }
}
