using System.Buffers.Binary;
using System.IO.MemoryMappedFiles;
using VectorIndex.Codes;
using System.Runtime.InteropServices;
using VectorIndex.Graph;
using VectorIndex.Internal;
using VectorIndex.Storage;

namespace VectorIndex.Persistence;

/// <summary>A graph read from a file, with its live keys' map and (for a mapped file) the mapping to release.</summary>
internal sealed record LoadedGraph(HnswOptions Options, HnswGraph Graph, Dictionary<ulong, int>? Ids, int LiveCount, IDisposable? Mapping);

/// <summary>
/// Reads the format of docs/file-format.md. Every count and offset is checked against the input's length before
/// anything is allocated, every section against its CRC-32C, every link against the node count and levels: bad
/// input gets <see cref="InvalidDataException"/> and nothing else.
/// </summary>
internal static unsafe class IndexReader
{
    /// <summary>Reads a whole index from <paramref name="stream"/> into new, writable storage.</summary>
    public static LoadedGraph Read(Stream stream, IProgress<long>? progress, CancellationToken cancellationToken)
    {
        stream = InputStream.Seekable(stream);

        long start = stream.Position;
        long length = stream.Length - start;
        Span<byte> headerBytes = stackalloc byte[FileHeader.Length];
        ReadExactly(stream, headerBytes[..(int)Math.Min(FileHeader.Length, Math.Max(0, length))]);
        FileHeader header = FileHeader.Parse(headerBytes, length);
        int n = header.NodeCount;
        var sectionReader = new SectionReader(stream, start, progress, cancellationToken);

        var keys = new ulong[n];
        sectionReader.Read(header[Section.Keys], Section.Keys, MemoryMarshal.AsBytes(keys.AsSpan()));
        var flags = new byte[n];
        sectionReader.Read(header[Section.Flags], Section.Flags, flags);
        CheckFlags(header, flags);

        var store = new NodeStore(header.PaddedDimensions, HnswGraph.Layer0Stride(header.Options.M), n);
        try
        {
            NodeSegments segments = store.Segments;
            int perSegment = 1 << segments.Shift;
            SectionInfo vectors = header[Section.Vectors];
            SectionInfo layer0 = header[Section.Layer0];
            sectionReader.Begin(vectors);
            for (int first = 0; first < n; first += perSegment)
            {
                int count = Math.Min(perSegment, n - first);
                sectionReader.Continue(new Span<byte>(segments.Vector(first), count * segments.VectorStride * sizeof(float)));
            }

            sectionReader.End(Section.Vectors, vectors);
            sectionReader.Begin(layer0);
            for (int first = 0; first < n; first += perSegment)
            {
                int count = Math.Min(perSegment, n - first);
                sectionReader.Continue(new Span<byte>(segments.Layer0Record(first), count * segments.Layer0Stride * sizeof(int)));
            }

            sectionReader.End(Section.Layer0, layer0);
            for (int id = 0; id < n; id++)
            {
                CheckRecord(new ReadOnlySpan<int>(segments.Layer0Record(id), segments.Layer0Stride), id, 0, flags, n);
            }

            int[]?[] upper = ReadUpper(header, flags, sectionReader);
            ReadFreeSlots(header, flags, sectionReader);
            HnswOptions options = ReadCodes(header, sectionReader, store);

            for (int id = 0; id < n; id++)
            {
                segments.Key(id) = keys[id];
                segments.Flags(id) = flags[id];
                segments.Upper(id) = upper[id];
            }

            var graph = new HnswGraph(options, store, n, header.Entry, header.LevelState, frozen: false);
            graph.RecountInDegrees();
            // Several live nodes may share a key under MultipleVectorsPerKey: the index builds that map from the graph.
            Dictionary<ulong, int>? ids = options.MultipleVectorsPerKey ? null : KeyMap.Build(keys.AsSpan(0, n), flags.AsSpan(0, n));
            return new LoadedGraph(options, graph, ids, header.LiveCount, null);
        }
        catch
        {
            store.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Maps the file read-only and searches it in place: vectors and layer-0 records are not copied. Keys, flags and
    /// upper layers (a few bytes per node) are copied and always checked; with <paramref name="verify"/>, the vectors'
    /// and layer 0's CRCs and every layer-0 link are checked too (a pass over the file). Under trained codes the
    /// floats' pages are then given back to the kernel (<see cref="PageAdvice.DropFromProcess"/>).
    /// </summary>
    public static LoadedGraph Map(string path, bool verify)
    {
        var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 1, FileOptions.RandomAccess);
        long length = file.Length;
        if (length < FileHeader.Length)
        {
            file.Dispose();
            throw FileHeader.Invalid($"the file is {length} bytes, shorter than the {FileHeader.Length}-byte header of a VectorIndex file");
        }

        var mapping = new Mapping(file, length);
        try
        {
            byte* p = mapping.Pointer;
            FileHeader header = FileHeader.Parse(new ReadOnlySpan<byte>(p, FileHeader.Length), length);
            int n = header.NodeCount;
            ReadOnlySpan<byte> Bytes(Section s) => new(p + header[s].Offset, checked((int)header[s].Length));

            CheckCrc(header, Section.Keys, Bytes(Section.Keys));
            CheckCrc(header, Section.Flags, Bytes(Section.Flags));
            ulong[] keys = MemoryMarshal.Cast<byte, ulong>(Bytes(Section.Keys)).ToArray();
            byte[] flags = Bytes(Section.Flags).ToArray();
            CheckFlags(header, flags);
            var sectionReader = new SectionReader(new UnmanagedMemoryStream(p, length), 0, null, default);
            int[]?[] upper = ReadUpper(header, flags, sectionReader);
            ReadFreeSlots(header, flags, sectionReader);

            byte* vectors = p + header[Section.Vectors].Offset;
            byte* layer0 = p + header[Section.Layer0].Offset;
            int layer0Stride = HnswGraph.Layer0Stride(header.Options.M);
            if (verify)
            {
                CheckCrc(header, Section.Vectors, new ReadOnlySpan<byte>(vectors, 0), vectors, header[Section.Vectors].Length);
                CheckCrc(header, Section.Layer0, new ReadOnlySpan<byte>(layer0, 0), layer0, header[Section.Layer0].Length);
                for (int id = 0; id < n; id++)
                {
                    CheckRecord(new ReadOnlySpan<int>((int*)layer0 + ((long)id * layer0Stride), layer0Stride), id, 0, flags, n);
                }
            }

            HnswOptions options = header.Options;
            ScalarQuantizer? quantizer = null;
            byte* codes = null;
            if (header.Has(Section.Codes))
            {
                SectionInfo section = header[Section.Codes];
                var bytes = new ReadOnlySpan<byte>(p + section.Offset, (int)Math.Min(section.Length, FileHeader.CodesPreamble));
                (options, bool trained) = ParsePreamble(header, bytes, section.Length);
                if (trained)
                {
                    long start = FileHeader.CodesStart(options.Dimensions);
                    quantizer = ScalarQuantizer.Read(
                        new ReadOnlySpan<byte>(p + section.Offset + FileHeader.CodesPreamble, (int)(start - FileHeader.CodesPreamble)),
                        options.Quantization, options.Metric, options.Dimensions);
                    codes = p + section.Offset + start;
                }

                if (verify)
                {
                    CheckCrc(header, Section.Codes, new ReadOnlySpan<byte>(p, 0), p + section.Offset, section.Length);
                }
            }

            if (quantizer is not null)
            {
                // The checksum pass left every page of the file mapped in this process, the floats too. Searches of a
                // quantised index walk the codes and read only the few re-ranked vectors: give the floats' pages back
                // (they stay in the page cache), so the resident set after the open is what the walk touches.
                PageAdvice.DropFromProcess(vectors, header[Section.Vectors].Length);
            }

            NodeStore store = NodeStore.OverExternal(header.PaddedDimensions, layer0Stride, vectors, layer0, n, keys, flags, upper, quantizer, codes);
            var graph = new HnswGraph(options, store, n, header.Entry, header.LevelState, frozen: true);
            return new LoadedGraph(options, graph, null, header.LiveCount, mapping);
        }
        catch
        {
            mapping.Dispose();
            throw;
        }
    }

    private static void CheckFlags(FileHeader header, byte[] flags)
    {
        int live = 0;
        for (int id = 0; id < flags.Length; id++)
        {
            int level = flags[id] & NodeFlags.LevelMask;
            if ((flags[id] & ~(NodeFlags.LevelMask | NodeFlags.Deleted)) != 0 || level > header.MaxLevel)
            {
                throw FileHeader.Invalid($"node {id} has flags 0x{flags[id]:X2}: unknown bits or a level above the maximum {header.MaxLevel}");
            }

            live += (flags[id] & NodeFlags.Deleted) == 0 ? 1 : 0;
        }

        if (live != header.LiveCount)
        {
            throw FileHeader.Invalid($"{live} nodes are live but the header says {header.LiveCount}");
        }

        if (flags.Length > 0 && (flags[header.EntryId] & NodeFlags.LevelMask) != header.MaxLevel)
        {
            throw FileHeader.Invalid($"the entry point {header.EntryId} is not on the top level {header.MaxLevel}");
        }
    }

    private static int[]?[] ReadUpper(FileHeader header, byte[] flags, SectionReader reader)
    {
        int stride = HnswGraph.UpperStride(header.Options.M);
        long expected = 0;
        foreach (byte f in flags)
        {
            expected += (long)(f & NodeFlags.LevelMask) * stride * sizeof(int);
        }

        SectionInfo section = header[Section.Upper];
        if (section.Length != expected)
        {
            throw FileHeader.Invalid($"the upper-layer section has {section.Length} bytes; the node levels need {expected}");
        }

        var upper = new int[]?[flags.Length];
        reader.Begin(section);
        for (int id = 0; id < flags.Length; id++)
        {
            int level = flags[id] & NodeFlags.LevelMask;
            if (level > 0)
            {
                int[] records = new int[level * stride];
                reader.Continue(MemoryMarshal.AsBytes(records.AsSpan()));
                upper[id] = records;
            }
        }

        reader.End(Section.Upper, section);
        for (int id = 0; id < flags.Length; id++)
        {
            for (int level = 1; level <= (flags[id] & NodeFlags.LevelMask); level++)
            {
                CheckRecord(upper[id].AsSpan((level - 1) * stride, stride), id, level, flags, flags.Length);
            }
        }

        return upper;
    }

    /// <summary>Checks a version-1 file's free-slot section and flags its slots free in <paramref name="flags"/>.</summary>
    private static void ReadFreeSlots(FileHeader header, byte[] flags, SectionReader reader)
    {
        if (!header.Has(Section.FreeSlots))
        {
            return;
        }

        SectionInfo section = header[Section.FreeSlots];
        int[] free = new int[section.Length / sizeof(int)];
        reader.Read(section, Section.FreeSlots, MemoryMarshal.AsBytes(free.AsSpan()));
        foreach (int id in free)
        {
            // A free slot is a removed, unlinked node (level 0), listed once: marked here, so a repeat is caught.
            if ((uint)id >= (uint)flags.Length || flags[id] != NodeFlags.Deleted)
            {
                throw FileHeader.Invalid($"free slot {id} is not a removed level-0 node, or is listed twice");
            }

            flags[id] |= NodeFlags.Free;
        }
    }

    /// <summary>
    /// Reads a version-3 file's codes section into <paramref name="store"/> (new blocks, when the file's index was
    /// trained) and returns the options with its quantisation; a file of an older version has none.
    /// </summary>
    private static HnswOptions ReadCodes(FileHeader header, SectionReader reader, NodeStore store)
    {
        if (!header.Has(Section.Codes))
        {
            return header.Options;
        }

        SectionInfo section = header[Section.Codes];
        Span<byte> preamble = stackalloc byte[FileHeader.CodesPreamble];
        reader.Begin(section);
        reader.Continue(preamble[..(int)Math.Min(section.Length, FileHeader.CodesPreamble)]);
        (HnswOptions options, bool trained) = ParsePreamble(header, preamble, section.Length);
        if (trained)
        {
            var fields = new byte[FileHeader.CodesStart(options.Dimensions) - FileHeader.CodesPreamble];
            reader.Continue(fields);
            ScalarQuantizer quantizer = ScalarQuantizer.Read(fields, options.Quantization, options.Metric, options.Dimensions);
            store.InstallCodes(quantizer, header.NodeCount, encode: false);
            NodeSegments segments = store.Segments;
            int perSegment = 1 << segments.Shift;
            for (int first = 0; first < header.NodeCount; first += perSegment)
            {
                int count = Math.Min(perSegment, header.NodeCount - first);
                reader.Continue(new Span<byte>(segments.Code(first), count * quantizer.CodeBytes));
            }
        }

        reader.End(Section.Codes, section);
        return options;
    }

    /// <summary>The codes section's preamble: the quantisation and training size (into the options) and whether codes follow.</summary>
    private static (HnswOptions Options, bool Trained) ParsePreamble(FileHeader header, ReadOnlySpan<byte> preamble, long sectionLength)
    {
        if (preamble.Length < FileHeader.CodesPreamble || preamble[12..].ContainsAnyExcept((byte)0))
        {
            throw FileHeader.Invalid("the codes section's preamble is short or has unknown fields");
        }

        int kind = BinaryPrimitives.ReadInt32LittleEndian(preamble);
        int trainingSize = BinaryPrimitives.ReadInt32LittleEndian(preamble[4..]);
        int trained = BinaryPrimitives.ReadInt32LittleEndian(preamble[8..]);
        HnswOptions options;
        try
        {
            options = header.Options with { Quantization = (Quantization)kind, QuantizationTrainingSize = trainingSize };
            options.Validate();
        }
        catch (ArgumentOutOfRangeException e)
        {
            throw FileHeader.Invalid($"the stored quantisation is out of range ({e.ParamName})");
        }

        if (trained is not (0 or 1) || (trained == 1 && options.Quantization == Quantization.None)
            || sectionLength != FileHeader.CodesLength(options, header.NodeCount, trained == 1))
        {
            throw FileHeader.Invalid($"the codes section ({sectionLength} bytes) does not match its quantisation {options.Quantization} and {header.NodeCount} nodes");
        }

        return (options, trained == 1);
    }

    /// <summary>One stored neighbour list: version 0, a count within capacity, links to other nodes on this level or above.</summary>
    private static void CheckRecord(ReadOnlySpan<int> record, int id, int level, byte[] flags, int n)
    {
        int count = record[1];
        int capacity = record.Length - LinkRecord.HeaderInts;
        if (record[0] != 0 || (uint)count > (uint)capacity)
        {
            throw FileHeader.Invalid($"node {id} has a corrupted list header on level {level}");
        }

        foreach (int e in record.Slice(LinkRecord.HeaderInts, count))
        {
            if ((uint)e >= (uint)n || e == id || (flags[e] & NodeFlags.LevelMask) < level)
            {
                throw FileHeader.Invalid($"node {id} links on level {level} to node {e}, which is not a node of that level");
            }
        }
    }

    private static void CheckCrc(FileHeader header, Section s, ReadOnlySpan<byte> data) => CheckCrc(header, s, data, null, 0);

    private static void CheckCrc(FileHeader header, Section s, ReadOnlySpan<byte> data, byte* large, long largeLength)
    {
        uint crc = Crc32C.Initial;
        if (large is null)
        {
            crc = Crc32C.Append(crc, data);
        }
        else
        {
            for (long at = 0; at < largeLength; at += 1 << 30)
            {
                crc = Crc32C.Append(crc, new ReadOnlySpan<byte>(large + at, (int)Math.Min(1 << 30, largeLength - at)));
            }
        }

        if (Crc32C.Finish(crc) != header[s].Crc)
        {
            throw FileHeader.Invalid($"the checksum of section {s} does not match: the file is corrupted");
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
            throw FileHeader.Invalid("the input ends early (truncated)");
        }
    }

    /// <summary>Reads sections in file order, skipping the alignment padding and checking each CRC.</summary>
    private sealed class SectionReader(Stream stream, long start, IProgress<long>? progress, CancellationToken cancellationToken)
    {
        private uint _crc;

        public void Read(SectionInfo section, Section which, Span<byte> destination)
        {
            Begin(section);
            Continue(destination);
            End(which, section);
        }

        public void Begin(SectionInfo section)
        {
            stream.Position = start + section.Offset;
            _crc = Crc32C.Initial;
        }

        public void Continue(Span<byte> destination)
        {
            const int Chunk = 1 << 22;
            for (int at = 0; at < destination.Length; at += Chunk)
            {
                Span<byte> part = destination.Slice(at, Math.Min(Chunk, destination.Length - at));
                ReadExactly(stream, part);
                _crc = Crc32C.Append(_crc, part);
                cancellationToken.ThrowIfCancellationRequested();
                progress?.Report(stream.Position - start);
            }
        }

        public void End(Section which, SectionInfo section)
        {
            if (stream.Position - start != section.Offset + section.Length)
            {
                throw FileHeader.Invalid($"section {which} was not read to its end");
            }

            if (Crc32C.Finish(_crc) != section.Crc)
            {
                throw FileHeader.Invalid($"the checksum of section {which} does not match: the file is corrupted");
            }
        }
    }

    /// <summary>A read-only mapping of a whole file, released with the index.</summary>
    private sealed class Mapping : IDisposable
    {
        private readonly MemoryMappedFile _file;
        private readonly MemoryMappedViewAccessor _view;
        private int _disposed;

        public Mapping(FileStream stream, long length)
        {
            try
            {
                _file = MemoryMappedFile.CreateFromFile(stream, null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: false);
            }
            catch
            {
                stream.Dispose();
                throw;
            }

            _view = _file.CreateViewAccessor(0, length, MemoryMappedFileAccess.Read);
            byte* p = null;
            _view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
            Pointer = p + _view.PointerOffset;
        }

        public byte* Pointer { get; }

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                _view.SafeMemoryMappedViewHandle.ReleasePointer();
                _view.Dispose();
                _file.Dispose();
            }
        }
    }
}
