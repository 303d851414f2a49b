using System.Runtime.InteropServices;
using VectorIndex.Graph;
using VectorIndex.Storage;

namespace VectorIndex.Persistence;

/// <summary>
/// Writes a graph in the format of docs/file-format.md. The caller keeps writers out while this runs (readers may
/// go on), so the graph is a consistent snapshot. Two passes over the data: the CRCs first, because they are in the
/// header, then header and sections; so any stream works, seekable or not.
/// </summary>
internal static unsafe class IndexWriter
{
    private const int NodesPerChunk = 1024;

    private delegate void ChunkSink(ReadOnlySpan<byte> chunk);

    public static void Write(HnswGraph graph, HnswOptions options, int liveCount, Stream stream, IProgress<long>? progress, CancellationToken cancellationToken)
    {
        NodeSegments segments = graph.Segments;
        int n = graph.NodeCount;
        long upperInts = 0;
        for (int id = 0; id < n; id++)
        {
            upperInts += (long)graph.LevelOf(id) * HnswGraph.UpperStride(graph.M);
        }

        long[] lengths = FileHeader.ExpectedLengths(options, n, upperInts);
        var crcs = new uint[lengths.Length];
        byte[] buffer = new byte[Math.Max(1 << 16, NodesPerChunk * Math.Max(segments.Layer0Stride, segments.VectorStride) * sizeof(int))];
        for (int s = 0; s < crcs.Length; s++)
        {
            uint crc = Crc32C.Initial;
            Emit((Section)s, graph, segments, n, buffer, chunk => crc = Crc32C.Append(crc, chunk));
            crcs[s] = Crc32C.Finish(crc);
            cancellationToken.ThrowIfCancellationRequested();
        }

        var header = new FileHeader
        {
            Options = options,
            NodeCount = n,
            LiveCount = liveCount,
            Entry = graph.PackedEntry,
            LevelState = graph.LevelState,
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
            Emit((Section)s, graph, segments, n, buffer, chunk =>
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
    private static void Emit(Section section, HnswGraph graph, NodeSegments segments, int n, byte[] buffer, ChunkSink sink)
    {
        int perSegment = 1 << segments.Shift;
        for (int first = 0; first < n; first += Math.Min(perSegment, NodesPerChunk))
        {
            int seg = first >> segments.Shift;
            int slot = first & segments.Mask;
            int count = Math.Min(Math.Min(perSegment, NodesPerChunk), n - first);
            switch (section)
            {
                case Section.Keys:
                    sink(MemoryMarshal.AsBytes(segments.Keys[seg].AsSpan(slot, count)));
                    break;
                case Section.Flags:
                    // The free bit is runtime state: a slot a compaction freed and did not release yet (only a file of
                    // version 1 can leave one) is stored as what it is, a deleted level-0 node that nothing links to.
                    Span<byte> flags = buffer.AsSpan(0, count);
                    segments.FlagSegments[seg].AsSpan(slot, count).CopyTo(flags);
                    foreach (ref byte f in flags)
                    {
                        f &= unchecked((byte)~NodeFlags.Free);
                    }

                    sink(flags);
                    break;
                case Section.Vectors:
                    sink(new ReadOnlySpan<byte>(segments.Vector(first), count * segments.VectorStride * sizeof(float)));
                    break;
                case Section.Layer0:
                    // The version word is runtime state (lock and seqlock bits): stored as 0.
                    Span<int> records = MemoryMarshal.Cast<byte, int>(buffer.AsSpan(0, count * segments.Layer0Stride * sizeof(int)));
                    new ReadOnlySpan<int>(segments.Layer0Record(first), records.Length).CopyTo(records);
                    for (int i = 0; i < records.Length; i += segments.Layer0Stride)
                    {
                        records[i] = 0;
                    }

                    sink(MemoryMarshal.AsBytes(records));
                    break;
                case Section.Upper:
                    for (int id = first; id < first + count; id++)
                    {
                        if (segments.Upper(id) is { } upper)
                        {
                            Span<int> copy = MemoryMarshal.Cast<byte, int>(buffer.AsSpan(0, upper.Length * sizeof(int)));
                            upper.CopyTo(copy);
                            for (int i = 0; i < copy.Length; i += HnswGraph.UpperStride(graph.M))
                            {
                                copy[i] = 0;
                            }

                            sink(MemoryMarshal.AsBytes(copy));
                        }
                    }

                    break;
            }
        }
    }
}
