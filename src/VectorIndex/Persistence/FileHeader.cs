using System.Buffers.Binary;
using VectorIndex.Codes;
using VectorIndex.Graph;
using VectorIndex.Internal;

namespace VectorIndex.Persistence;

/// <summary>The sections of an index file, in file order (see docs/file-format.md).</summary>
internal enum Section
{
    Keys,
    Flags,
    Vectors,
    Layer0,
    Upper,

    /// <summary>Format version 1 only: slots a compaction had freed (always written empty by the first release's last writer).</summary>
    FreeSlots,

    /// <summary>Since format version 3, in the table's sixth entry: the quantisation, its quantiser and the codes (see <see cref="FileHeader.CodesPreamble"/>).</summary>
    Codes,
}

/// <summary>Where one section lies in the file, and its CRC-32C.</summary>
internal readonly record struct SectionInfo(long Offset, long Length, uint Crc);

/// <summary>
/// The fixed 256-byte header of an index file: magic, format version, the options, counts, entry point, the level
/// generator's state, the section table, and a CRC-32C over all of it. <see cref="Parse"/> checks every field
/// against the others and against the file length before anything is allocated.
/// </summary>
internal sealed record FileHeader
{
    public const int Length = 256;
    public const int Alignment = 64;
    public const uint CurrentVersion = 3;

    // Room for 6 sections: version 1's (the free slots last), version 2's 5 (the last entry zero), version 3's (the
    // codes last).
    private const int TableEntries = 6;
    private const int SectionTableOffset = 80;
    private const int SectionEntryLength = 24;
    public const int CrcOffset = SectionTableOffset + (TableEntries * SectionEntryLength);

    /// <summary>"VIDXHNSW": identifies the format.</summary>
    public static ReadOnlySpan<byte> Magic => "VIDXHNSW"u8;

    public required HnswOptions Options { get; init; }

    public required int NodeCount { get; init; }

    public required int LiveCount { get; init; }

    /// <summary>(level &lt;&lt; 32) | id, or -1 when the graph is empty.</summary>
    public required long Entry { get; init; }

    public required ulong LevelState { get; init; }

    public required SectionInfo[] Sections { get; init; }

    /// <summary>The format version the file was written in (this library writes <see cref="CurrentVersion"/>).</summary>
    public uint Version { get; init; } = CurrentVersion;

    /// <summary>How many sections a file of <paramref name="version"/> has: 6 in version 1 (the free slots last), 5 in version 2, 6 since (the codes last).</summary>
    public static int SectionCountOf(uint version) => version == 2 ? 5 : 6;

    /// <summary>The section in entry <paramref name="i"/> of the table of a file of <paramref name="version"/>.</summary>
    public static Section SectionAt(uint version, int i) => i == 5 && version >= 3 ? Section.Codes : (Section)i;

    /// <summary>Whether the file has <paramref name="s"/> (the free-slot section is version 1's only, the codes version 3's on).</summary>
    public bool Has(Section s) => s switch
    {
        Section.FreeSlots => Version == 1,
        Section.Codes => Version >= 3,
        _ => true,
    };

    /// <summary>Bytes of the codes section's fixed start: quantisation (int32), training size (int32), trained (int32), zeros.</summary>
    public const int CodesPreamble = 64;

    /// <summary>The codes section's length: the preamble, then, once trained, the quantiser (64-byte aligned) and a code per node.</summary>
    public static long CodesLength(HnswOptions options, int nodeCount, bool trained) =>
        CodesPreamble + (trained ? CodesStart(options.Dimensions) - CodesPreamble + ((long)nodeCount * ScalarQuantizer.CodeBytesOf(options.Quantization, options.Dimensions)) : 0);

    /// <summary>Where the codes start in a trained codes section: after the preamble and the aligned quantiser.</summary>
    public static long CodesStart(int dimensions) => CodesPreamble + Align(ScalarQuantizer.HeaderBytes + ((long)dimensions * sizeof(float)));

    public int PaddedDimensions => HnswGraph.PaddedLength(Options.Dimensions);

    public int EntryId => (int)Entry;

    public int MaxLevel => (int)(Entry >> 32);

    public SectionInfo this[Section s] => Sections[s == Section.Codes ? 5 : (int)s];

    /// <summary>The end of the last section: the whole file's length.</summary>
    public long FileLength => Sections[^1].Offset + Sections[^1].Length;

    /// <summary>The lengths every section must have, given the counts (the upper section needs the levels: -1 here).</summary>
    public static long[] ExpectedLengths(HnswOptions options, int nodeCount, long upperInts) =>
    [
        (long)nodeCount * sizeof(ulong),
        nodeCount,
        (long)nodeCount * HnswGraph.PaddedLength(options.Dimensions) * sizeof(float),
        (long)nodeCount * HnswGraph.Layer0Stride(options.M) * sizeof(int),
        upperInts * sizeof(int),
    ];

    /// <summary>Lays the sections out one after another from the end of the header, each 64-byte aligned.</summary>
    public static SectionInfo[] Layout(ReadOnlySpan<long> lengths, ReadOnlySpan<uint> crcs)
    {
        var sections = new SectionInfo[lengths.Length];
        long offset = Length;
        for (int i = 0; i < sections.Length; i++)
        {
            sections[i] = new SectionInfo(offset, lengths[i], crcs[i]);
            offset = Align(offset + lengths[i]);
        }

        return sections;
    }

    public static long Align(long offset) => (offset + Alignment - 1) / Alignment * Alignment;

    public void Write(Span<byte> destination)
    {
        destination[..Length].Clear();
        Magic.CopyTo(destination);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[8..], CurrentVersion);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[12..], Length);
        BinaryPrimitives.WriteInt32LittleEndian(destination[16..], Options.Dimensions);
        BinaryPrimitives.WriteInt32LittleEndian(destination[20..], PaddedDimensions);
        BinaryPrimitives.WriteInt32LittleEndian(destination[24..], (int)Options.Metric);
        BinaryPrimitives.WriteInt32LittleEndian(destination[28..], Options.M);
        BinaryPrimitives.WriteInt32LittleEndian(destination[32..], Options.EfConstruction);
        BinaryPrimitives.WriteInt32LittleEndian(destination[36..], Options.EfSearch);
        BinaryPrimitives.WriteInt32LittleEndian(destination[40..], Options.Seed);
        BinaryPrimitives.WriteInt32LittleEndian(destination[44..], (int)Options.NeighborSelection);
        BinaryPrimitives.WriteInt32LittleEndian(destination[48..], (Options.ExtendCandidates ? 1 : 0) | (Options.KeepPrunedConnections ? 2 : 0) | (Options.MultipleVectorsPerKey ? 4 : 0));
        BinaryPrimitives.WriteInt32LittleEndian(destination[52..], NodeCount);
        BinaryPrimitives.WriteInt32LittleEndian(destination[56..], LiveCount);
        BinaryPrimitives.WriteInt64LittleEndian(destination[60..], Entry);
        BinaryPrimitives.WriteInt32LittleEndian(destination[68..], Sections.Length);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[72..], LevelState);
        for (int i = 0; i < Sections.Length; i++)
        {
            Span<byte> entry = destination[(SectionTableOffset + (i * SectionEntryLength))..];
            BinaryPrimitives.WriteInt64LittleEndian(entry, Sections[i].Offset);
            BinaryPrimitives.WriteInt64LittleEndian(entry[8..], Sections[i].Length);
            BinaryPrimitives.WriteUInt32LittleEndian(entry[16..], Sections[i].Crc);
        }

        BinaryPrimitives.WriteUInt32LittleEndian(destination[CrcOffset..], Crc32C.Compute(destination[..CrcOffset]));
    }

    /// <summary>
    /// Reads and checks a header. <paramref name="fileLength"/> is the length of the whole input; every section must
    /// lie inside it, so no later allocation can exceed what the input holds.
    /// </summary>
    /// <exception cref="InvalidDataException">Anything is wrong; the message says what.</exception>
    public static FileHeader Parse(ReadOnlySpan<byte> header, long fileLength)
    {
        // The kind first, whatever the length: a brute-force file is named as such.
        if (header.StartsWith(FlatFile.Magic))
        {
            throw Invalid("it is a BruteForceIndex file (magic \"VIDXFLAT\"), not an HnswIndex file; load it with BruteForceIndex.Load");
        }

        if (header.Length < Length || fileLength < Length)
        {
            throw Invalid($"the input is {fileLength} bytes, shorter than the {Length}-byte header of a VectorIndex file");
        }

        if (!header.StartsWith(Magic))
        {
            throw Invalid("it does not start with the VectorIndex magic \"VIDXHNSW\": not a VectorIndex index file");
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

        uint crc = BinaryPrimitives.ReadUInt32LittleEndian(header[CrcOffset..]);
        if (crc != Crc32C.Compute(header[..CrcOffset]))
        {
            throw Invalid("the header checksum does not match: the header is corrupted");
        }

        int sectionCount = SectionCountOf(version);
        if (BinaryPrimitives.ReadUInt32LittleEndian(header[12..]) != Length || BinaryPrimitives.ReadInt32LittleEndian(header[68..]) != sectionCount)
        {
            throw Invalid($"the header length or section count is not the one of format version {version}");
        }

        if (header[(SectionTableOffset + (sectionCount * SectionEntryLength))..CrcOffset].ContainsAnyExcept((byte)0))
        {
            throw Invalid($"the section table has entries past the {sectionCount} sections of format version {version}");
        }

        int flags = BinaryPrimitives.ReadInt32LittleEndian(header[48..]);
        HnswOptions options;
        try
        {
            options = new HnswOptions
            {
                Dimensions = BinaryPrimitives.ReadInt32LittleEndian(header[16..]),
                Metric = (Metric)BinaryPrimitives.ReadInt32LittleEndian(header[24..]),
                M = BinaryPrimitives.ReadInt32LittleEndian(header[28..]),
                EfConstruction = BinaryPrimitives.ReadInt32LittleEndian(header[32..]),
                EfSearch = BinaryPrimitives.ReadInt32LittleEndian(header[36..]),
                Seed = BinaryPrimitives.ReadInt32LittleEndian(header[40..]),
                NeighborSelection = (NeighborSelection)BinaryPrimitives.ReadInt32LittleEndian(header[44..]),
                ExtendCandidates = (flags & 1) != 0,
                KeepPrunedConnections = (flags & 2) != 0,
                MultipleVectorsPerKey = (flags & 4) != 0,
            };
            options.Validate();
        }
        catch (ArgumentOutOfRangeException e)
        {
            throw Invalid($"the stored options are out of range ({e.ParamName})");
        }

        if ((flags & ~7) != 0 || BinaryPrimitives.ReadInt32LittleEndian(header[20..]) != HnswGraph.PaddedLength(options.Dimensions))
        {
            throw Invalid("unknown option flags or a padded dimension count that does not match the dimensions");
        }

        int nodeCount = BinaryPrimitives.ReadInt32LittleEndian(header[52..]);
        int liveCount = BinaryPrimitives.ReadInt32LittleEndian(header[56..]);
        long entry = BinaryPrimitives.ReadInt64LittleEndian(header[60..]);
        if (nodeCount < 0 || liveCount < 0 || liveCount > nodeCount)
        {
            throw Invalid($"the counts are inconsistent ({nodeCount} nodes, {liveCount} live)");
        }

        int entryId = (int)entry;
        int maxLevel = (int)(entry >> 32);
        bool entryValid = nodeCount == 0
            ? entry == -1
            : entryId >= 0 && entryId < nodeCount && maxLevel >= 0 && maxLevel <= LevelGenerator.MaxLevel;
        if (!entryValid)
        {
            throw Invalid($"the entry point (node {entryId}, level {maxLevel}) is outside the graph of {nodeCount} nodes");
        }

        var sections = new SectionInfo[sectionCount];
        long expectedOffset = Length;
        long[] lengths = ExpectedLengths(options, nodeCount, upperInts: -1);
        for (int i = 0; i < sectionCount; i++)
        {
            ReadOnlySpan<byte> e = header[(SectionTableOffset + (i * SectionEntryLength))..];
            var s = new SectionInfo(
                BinaryPrimitives.ReadInt64LittleEndian(e),
                BinaryPrimitives.ReadInt64LittleEndian(e[8..]),
                BinaryPrimitives.ReadUInt32LittleEndian(e[16..]));
            Section which = SectionAt(version, i);
            if (s.Offset != expectedOffset || s.Length < 0 || s.Length > fileLength - s.Offset)
            {
                throw Invalid($"section {which} (offset {s.Offset}, {s.Length} bytes) does not lie where it must inside the {fileLength}-byte input");
            }

            bool lengthOk = which switch
            {
                Section.Upper => s.Length % (HnswGraph.UpperStride(options.M) * sizeof(int)) == 0,
                Section.FreeSlots => s.Length % sizeof(int) == 0 && s.Length / sizeof(int) <= nodeCount,

                // Which quantisation is in the preamble, checked by the reader; here only the lengths that can be.
                Section.Codes => s.Length == CodesPreamble
                    || s.Length == CodesLength(options with { Quantization = Quantization.Int8 }, nodeCount, trained: true)
                    || s.Length == CodesLength(options with { Quantization = Quantization.Int4 }, nodeCount, trained: true),
                _ => s.Length == lengths[i],
            };
            if (!lengthOk)
            {
                throw Invalid($"section {which} has {s.Length} bytes, which does not match {nodeCount} nodes");
            }

            sections[i] = s;
            expectedOffset = Align(s.Offset + s.Length);
        }

        if (sections[^1].Offset + sections[^1].Length > fileLength)
        {
            throw Invalid("the input is truncated");
        }

        return new FileHeader
        {
            Options = options,
            NodeCount = nodeCount,
            LiveCount = liveCount,
            Entry = entry,
            LevelState = BinaryPrimitives.ReadUInt64LittleEndian(header[72..]),
            Sections = sections,
            Version = version,
        };
    }

    public static InvalidDataException Invalid(string what) => new($"Not a valid VectorIndex index: {what}.");
}
