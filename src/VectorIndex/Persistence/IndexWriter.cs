using System.Buffers.Binary;
using System.Runtime.InteropServices;
using VectorIndex.Graph;
using VectorIndex.Storage;

namespace VectorIndex.Persistence;

/// <summary>
/// Writes a graph in the format of docs/file-format.md, in two steps. <see cref="Snapshot"/> copies, while the caller
/// keeps writers out, everything that inserts and removals change: counts, entry point, keys, flags and every link
/// record. <see cref="Write"/> then writes that copy and the vectors, while the caller only keeps compactions out: the
/// vectors of the snapshot's nodes never change before a compaction (a replaced vector gets a new node), so adds and
/// removes may run meanwhile. Two passes over the data: the CRCs first, because they are in the header, then header
/// and sections; so any stream works, seekable or not.
/// </summary>
internal static unsafe class IndexWriter
{
    private const int NodesPerChunk = 1024;

    private delegate void ChunkSink(ReadOnlySpan<byte> chunk);

    /// <summary>What a file needs of a graph at one moment, but its vectors (read from the graph when written).</summary>
    internal sealed class GraphSnapshot
    {
        public required HnswGraph Graph { get; init; }

        public required HnswOptions Options { get; init; }

        public required int NodeCount { get; init; }

        public required int LiveCount { get; init; }

        public required long Entry { get; init; }

        public required ulong LevelState { get; init; }

        public required ulong[] Keys { get; init; }

        /// <summary>The flags, the free bit cleared (a slot a compaction freed and did not release yet, only a file of
        /// version 1 can leave one, is stored as what it is: a deleted level-0 node that nothing links to).</summary>
        public required byte[] Flags { get; init; }

        /// <summary>The layer-0 records, one array per storage segment, version words zeroed (runtime lock and seqlock state).</summary>
        public required int[][] Layer0 { get; init; }

        /// <summary>The upper-layer records of every node above layer 0, in id order, version words zeroed.</summary>
        public required int[] Upper { get; init; }

        /// <summary>The quantiser and codes (null: not quantised or not trained). Only a compaction or a refit replaces
        /// them, and the caller keeps both out while the file is written.</summary>
        public required CodeBlocks? Codes { get; init; }
    }

    /// <summary>Copies what inserts and removals change. The caller keeps writers out while this runs.</summary>
    public static GraphSnapshot Snapshot(HnswGraph graph, HnswOptions options, int liveCount)
    {
        NodeSegments segments = graph.Segments;
        int n = graph.NodeCount;
        int layer0Stride = segments.Layer0Stride;
        int upperStride = HnswGraph.UpperStride(graph.M);
        var keys = new ulong[n];
        var flags = new byte[n];
        int perSegment = 1 << segments.Shift;
        var layer0 = new int[(n + perSegment - 1) >> segments.Shift][];
        for (int seg = 0; seg < layer0.Length; seg++)
        {
            layer0[seg] = new int[Math.Min(perSegment, n - (seg << segments.Shift)) * layer0Stride];
        }

        long upperInts = 0;
        for (int id = 0; id < n; id++)
        {
            upperInts += (long)graph.LevelOf(id) * upperStride;
        }

        var upper = new int[upperInts];
        long u = 0;
        for (int id = 0; id < n; id++)
        {
            keys[id] = segments.Key(id);
            flags[id] = (byte)(segments.Flags(id) & ~NodeFlags.Free);
            Span<int> record = layer0[id >> segments.Shift].AsSpan((id & segments.Mask) * layer0Stride, layer0Stride);
            new ReadOnlySpan<int>(segments.Layer0Record(id), layer0Stride).CopyTo(record);
            record[0] = 0;
            if (segments.Upper(id) is { } records)
            {
                records.CopyTo(upper.AsSpan((int)u, records.Length));
                for (int i = 0; i < records.Length; i += upperStride)
                {
                    upper[u + i] = 0;
                }

                u += records.Length;
            }
        }

        return new GraphSnapshot
        {
            Graph = graph,
            Options = options,
            NodeCount = n,
            LiveCount = liveCount,
            Entry = graph.PackedEntry,
            LevelState = graph.LevelState,
            Keys = keys,
            Flags = flags,
            Layer0 = layer0,
            Upper = upper,
            Codes = segments.Codes,
        };
    }

    /// <summary>Writes the snapshot and its nodes' vectors. The caller keeps compactions out (not writers) while this runs.</summary>
    public static void Write(GraphSnapshot snapshot, Stream stream, IProgress<long>? progress, CancellationToken cancellationToken)
    {
        NodeSegments segments = snapshot.Graph.Segments;
        int n = snapshot.NodeCount;
        long[] lengths =
        [
            .. FileHeader.ExpectedLengths(snapshot.Options, n, snapshot.Upper.LongLength),
            FileHeader.CodesLength(snapshot.Options, n, snapshot.Codes is not null),
        ];
        var crcs = new uint[lengths.Length];
        for (int s = 0; s < crcs.Length; s++)
        {
            uint crc = Crc32C.Initial;
            Emit(FileHeader.SectionAt(FileHeader.CurrentVersion, s), snapshot, segments, chunk => crc = Crc32C.Append(crc, chunk));
            crcs[s] = Crc32C.Finish(crc);
            cancellationToken.ThrowIfCancellationRequested();
        }

        var header = new FileHeader
        {
            Options = snapshot.Options,
            NodeCount = n,
            LiveCount = snapshot.LiveCount,
            Entry = snapshot.Entry,
            LevelState = snapshot.LevelState,
            Sections = FileHeader.Layout(lengths, crcs),
        };
        Span<byte> headerBytes = stackalloc byte[FileHeader.Length];
        header.Write(headerBytes);
        stream.Write(headerBytes);
        ReadOnlySpan<byte> zeros = stackalloc byte[FileHeader.Alignment];
        long written = FileHeader.Length;
        for (int s = 0; s < crcs.Length; s++)
        {
            SectionInfo section = header.Sections[s];
            stream.Write(zeros[..(int)(section.Offset - written)]);
            written = section.Offset;
            Emit(FileHeader.SectionAt(FileHeader.CurrentVersion, s), snapshot, segments, chunk =>
            {
                stream.Write(chunk);
                written += chunk.Length;
                cancellationToken.ThrowIfCancellationRequested();
                progress?.Report(written);
            });
        }

        stream.Flush();
    }

    /// <summary>Produces a section's bytes in chunks, exactly as they are stored in the file.</summary>
    private static void Emit(Section section, GraphSnapshot snapshot, NodeSegments segments, ChunkSink sink)
    {
        const int ChunkBytes = 1 << 20;
        switch (section)
        {
            case Section.Keys:
                Chunks(MemoryMarshal.AsBytes(snapshot.Keys.AsSpan()), ChunkBytes, sink);
                break;
            case Section.Flags:
                Chunks(snapshot.Flags, ChunkBytes, sink);
                break;
            case Section.Layer0:
                foreach (int[] records in snapshot.Layer0)
                {
                    Chunks(MemoryMarshal.AsBytes(records.AsSpan()), ChunkBytes, sink);
                }

                break;
            case Section.Upper:
                Chunks(MemoryMarshal.AsBytes(snapshot.Upper.AsSpan()), ChunkBytes, sink);
                break;
            case Section.Vectors:
                // Straight from the graph's segments: a segment's vectors are contiguous.
                int perSegment = 1 << segments.Shift;
                for (int first = 0; first < snapshot.NodeCount; first += Math.Min(perSegment, NodesPerChunk))
                {
                    int count = Math.Min(Math.Min(perSegment - (first & segments.Mask), NodesPerChunk), snapshot.NodeCount - first);
                    sink(new ReadOnlySpan<byte>(segments.Vector(first), count * segments.VectorStride * sizeof(float)));
                }

                break;
            case Section.Codes:
                EmitCodes(snapshot, segments, sink);
                break;
        }
    }

    /// <summary>The codes section: the preamble, then (trained) the quantiser padded to 64 bytes and the codes in id order.</summary>
    private static void EmitCodes(GraphSnapshot snapshot, NodeSegments segments, ChunkSink sink)
    {
        CodeBlocks? codes = snapshot.Codes;
        Span<byte> preamble = stackalloc byte[FileHeader.CodesPreamble];
        preamble.Clear();
        BinaryPrimitives.WriteInt32LittleEndian(preamble, (int)snapshot.Options.Quantization);
        BinaryPrimitives.WriteInt32LittleEndian(preamble[4..], snapshot.Options.QuantizationTrainingSize);
        BinaryPrimitives.WriteInt32LittleEndian(preamble[8..], codes is null ? 0 : 1);
        sink(preamble);
        if (codes is null)
        {
            return;
        }

        var quantizer = new byte[FileHeader.CodesStart(snapshot.Options.Dimensions) - FileHeader.CodesPreamble];
        codes.Quantizer.Write(quantizer);
        sink(quantizer);
        var view = segments.WithCodes(codes);
        int perSegment = 1 << segments.Shift;
        for (int first = 0; first < snapshot.NodeCount; first += Math.Min(perSegment, NodesPerChunk))
        {
            int count = Math.Min(Math.Min(perSegment - (first & segments.Mask), NodesPerChunk), snapshot.NodeCount - first);
            sink(new ReadOnlySpan<byte>(view.Code(first), count * codes.Stride));
        }
    }

    private static void Chunks(ReadOnlySpan<byte> bytes, int chunkBytes, ChunkSink sink)
    {
        for (int offset = 0; offset < bytes.Length; offset += chunkBytes)
        {
            sink(bytes.Slice(offset, Math.Min(chunkBytes, bytes.Length - offset)));
        }
    }
}
