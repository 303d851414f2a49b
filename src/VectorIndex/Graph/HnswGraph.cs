using System.Diagnostics;
using System.Runtime.CompilerServices;
using VectorIndex.Codes;
using VectorIndex.Distance;
using VectorIndex.Internal;
using VectorIndex.Storage;

namespace VectorIndex.Graph;

/// <summary>
/// The multi-layer HNSW graph of Malkov and Yashunin over dense internal ids 0..n-1. It knows nothing of keys'
/// meaning, validation or the public API (that is <see cref="HnswIndex"/>); it stores nodes, links them
/// (<c>HnswGraph.Insert.cs</c>) and walks them (<c>HnswGraph.Search.cs</c>).
/// <para>
/// Layout: node vectors in 64-byte-aligned native slabs, zero-padded to a multiple of 16 floats so the kernels
/// never run a tail; layer 0 as one fixed-stride record per node (<see cref="LinkRecord"/> with M0 = 2M links);
/// the few nodes above layer 0 keep their upper records in a small managed array each.
/// </para>
/// </summary>
internal sealed unsafe partial class HnswGraph : IDisposable
{
    /// <summary>The vector stride is a multiple of this many floats (64 bytes): aligned rows, no kernel tails.</summary>
    public const int PaddingFloats = 16;

    private readonly NodeStore _store;
    private readonly LevelGenerator _levels;
    private readonly ScratchPool _scratch;
    private readonly LightEpoch _epoch = new();
    private readonly Lock _allocLock = new();
    private readonly Lock _entryLock = new();
    private readonly int _upperStride;

    // Cache lines of a vector a search prefetches before measuring it: the whole vector, up to PrefetchLines.
    private readonly int _prefetchLines;

    /// <summary>The most cache lines of one vector a search prefetches at once.</summary>
    public const int PrefetchLines = 8;

    // The entry point and the maximum level, packed as (level << 32) | id so readers get both in one atomic read.
    // -1 while the graph is empty. Changed only under _entryLock, which an insert that raises the top level holds
    // for its whole insert.
    private long _entry = -1;
    private int _nodeCount;

    public HnswGraph(HnswOptions options)
        : this(options, null, 0, -1, (ulong)(uint)options.Seed, frozen: false)
    {
    }

    /// <summary>
    /// A graph over existing storage (a loaded or memory-mapped file): <paramref name="nodeCount"/> nodes already
    /// linked, the packed <paramref name="entry"/> and the level generator's saved state. A frozen graph is
    /// read-only: no writer exists, so its link reads skip the seqlock (a corrupted version word cannot hang them).
    /// </summary>
    public HnswGraph(HnswOptions options, NodeStore? store, int nodeCount, long entry, ulong levelState, bool frozen)
    {
        Dimensions = options.Dimensions;
        PaddedDimensions = PaddedLength(Dimensions);
        UsesL2 = options.Metric == Metric.L2Squared;
        Metric = options.Metric;
        Quantization = options.Quantization;
        M = options.M;
        M0 = 2 * options.M;
        EfConstruction = options.EfConstruction;
        Selection = options.NeighborSelection;
        ExtendCandidates = options.ExtendCandidates;
        KeepPrunedConnections = options.KeepPrunedConnections;
        Frozen = frozen;
        _upperStride = UpperStride(M);
        _prefetchLines = Math.Min(PrefetchLines, PaddedDimensions * sizeof(float) / 64);
        _store = store ?? new NodeStore(PaddedDimensions, Layer0Stride(M), options.InitialCapacity);
        _nodeCount = nodeCount;
        _entry = entry;
        _levels = new LevelGenerator(M, levelState);
        int codeBytes = ScalarQuantizer.CodeBytesOf(options.Quantization, Dimensions);
        _scratch = new ScratchPool(() => new SearchScratch(PaddedDimensions, M0, Math.Max(EfConstruction, options.EfSearch), codeBytes));
    }

    /// <summary>Floats per stored vector: the dimensions rounded up to <see cref="PaddingFloats"/>.</summary>
    public static int PaddedLength(int dimensions) => (int)(((long)dimensions + PaddingFloats - 1) / PaddingFloats * PaddingFloats);

    /// <summary>Ints per layer-0 record: the header and M0 = 2M links.</summary>
    public static int Layer0Stride(int m) => LinkRecord.HeaderInts + (2 * m);

    /// <summary>Ints per upper-layer record: the header and M links.</summary>
    public static int UpperStride(int m) => LinkRecord.HeaderInts + m;

    /// <summary>Read-only (memory-mapped): nothing may be added, link reads need no synchronisation.</summary>
    public bool Frozen { get; }

    /// <summary>The entry point and top level, packed as <c>(level &lt;&lt; 32) | id</c>; -1 when empty.</summary>
    public long PackedEntry => Volatile.Read(ref _entry);

    /// <summary>The level generator's position, saved so a loaded index draws the levels the original would have.</summary>
    public ulong LevelState => _levels.State;

    public int Dimensions { get; }

    public int PaddedDimensions { get; }

    /// <summary>L2Squared, else inner product (cosine is inner product over normalised vectors).</summary>
    public bool UsesL2 { get; }

    public Metric Metric { get; }

    /// <summary>The codes the index keeps (once trained): see <see cref="NodeSegments.Codes"/>.</summary>
    public Quantization Quantization { get; }

    public int M { get; }

    public int M0 { get; }

    public int EfConstruction { get; }

    public NeighborSelection Selection { get; }

    public bool ExtendCandidates { get; }

    public bool KeepPrunedConnections { get; }

    /// <summary>Nodes allocated so far, deleted ones included; ids are 0..NodeCount-1.</summary>
    public int NodeCount => Volatile.Read(ref _nodeCount);

    /// <summary>Gives nodes 0..<paramref name="count"/>-1 storage now (a bulk add knows its size; an empty store then picks its segment size from it).</summary>
    public void Reserve(int count) => _store.EnsureCapacity(count);

    /// <summary>The entry point's id, or -1 when the graph is empty.</summary>
    public int EntryPoint => (int)Volatile.Read(ref _entry);

    /// <summary>The top layer, or -1 when the graph is empty.</summary>
    public int MaxLevel => (int)(Volatile.Read(ref _entry) >> 32);

    public NodeSegments Segments => _store.Segments;

    /// <summary>Native bytes held by vectors and layer-0 records.</summary>
    public long NativeBytes => _store.NativeBytes;

    public SearchScratch RentScratch() => _scratch.Rent();

    /// <summary>
    /// Readers of graph memory that writers do not keep out (searches) enter before they touch it and leave after;
    /// see <see cref="WaitForReaders"/>.
    /// </summary>
    public LightEpoch Epoch => _epoch;

    /// <summary>Returns once every search that entered <see cref="Epoch"/> before the call has left it.</summary>
    public void WaitForReaders() => _epoch.WaitForReaders();

    public void ReturnScratch(SearchScratch scratch) => _scratch.Return(scratch);

    public int LevelOf(int id) => Segments.Flags(id) & NodeFlags.LevelMask;

    public bool IsDeleted(int id) => (Volatile.Read(ref Segments.Flags(id)) & NodeFlags.Deleted) != 0;

    /// <summary>Hides a node from results or shows it again. Callers serialise per node (the index's key lock).</summary>
    public void SetDeleted(int id, bool deleted)
    {
        ref byte flags = ref Segments.Flags(id);
        Volatile.Write(ref flags, (byte)(deleted ? flags | NodeFlags.Deleted : flags & ~NodeFlags.Deleted));
    }

    public ulong KeyOf(int id) => Segments.Key(id);

    public ReadOnlySpan<float> VectorOf(int id) => new(Segments.Vector(id), Dimensions);

    /// <summary>Copies the node's neighbour list on <paramref name="level"/> (0..its level) into <paramref name="destination"/>.</summary>
    public int ReadLinks(int id, int level, Span<int> destination) => ReadLinks(Segments, id, level, destination);

    /// <summary>
    /// Recounts every node's layer-0 in-degree from the lists (after loading a file, which does not store them),
    /// leaving out the lists of the nodes <paramref name="unlinked"/> marks (a compaction's deleted nodes).
    /// </summary>
    public void RecountInDegrees(bool[]? unlinked = null)
    {
        NodeSegments s = Segments;
        int n = NodeCount;
        Span<int> links = new int[M0];
        for (int id = 0; id < n; id++)
        {
            s.InDegree(id) = 0;
        }

        for (int id = 0; id < n; id++)
        {
            if (unlinked is not null && unlinked[id])
            {
                continue;
            }

            int count = ReadLinks(s, id, 0, links);
            foreach (int e in links[..count])
            {
                s.InDegree(e)++;
            }
        }
    }

    /// <summary>
    /// Allocates a node for <paramref name="paddedVector"/> (already normalised for cosine and zero-padded to
    /// <see cref="PaddedDimensions"/>) after the last one, stored deleted: it becomes a result only when the caller clears the flag.
    /// Nobody can reach it before <see cref="Insert"/> links it.
    /// </summary>
    public int AllocateNode(ulong key, ReadOnlySpan<float> paddedVector, out int level)
    {
        Debug.Assert(!Frozen, "a read-only graph takes no nodes");
        Debug.Assert(paddedVector.Length == PaddedDimensions, "the vector is padded to the stride");
        level = _levels.Next();
        int id;
        lock (_allocLock)
        {
            id = _nodeCount;
            if (id == int.MaxValue)
            {
                throw new InvalidOperationException("The index holds the maximum number of nodes (2^31 - 1).");
            }

            _store.EnsureCapacity(id + 1);
            Volatile.Write(ref _nodeCount, id + 1);
        }

        NodeSegments s = _store.Segments;
        paddedVector.CopyTo(new Span<float>(s.Vector(id), PaddedDimensions));

        // Codes installed after this read cannot miss the node: they are installed with writers kept out.
        if (s.Quantizer is { } quantizer)
        {
            quantizer.Encode(s.Vector(id), s.Code(id));
        }

        s.Key(id) = key;
        s.Upper(id) = level == 0 ? null : new int[level * _upperStride];
        Volatile.Write(ref s.Flags(id), (byte)(level | NodeFlags.Deleted));
        return id;
    }

    /// <summary>Links an allocated node into the graph (INSERT, algorithm 1), using the metric's kernel.</summary>
    public void Insert(int id, int level, SearchScratch scratch)
    {
        if (UsesL2)
        {
            Insert<L2SquaredDistance>(id, level, scratch);
        }
        else
        {
            Insert<InnerProductDistance>(id, level, scratch);
        }
    }

    /// <summary>
    /// Codes every node with <paramref name="quantizer"/> and publishes the codes (replacing any), then frees the
    /// replaced codes once no search can read them. The caller keeps writers out.
    /// </summary>
    public void InstallCodes(ScalarQuantizer quantizer)
    {
        Released replaced = _store.InstallCodes(quantizer, NodeCount);
        WaitForReaders();
        _store.Release(replaced);
    }

    public void Dispose() => _store.Dispose();

    /// <summary>The node's link record on <paramref name="level"/>: the layer-0 block, or its slice of the upper array.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ref int Record(NodeSegments segments, int id, int level) =>
        ref level == 0 ? ref *segments.Layer0Record(id) : ref segments.Upper(id)![(level - 1) * _upperStride];

    /// <summary>Copies a neighbour list: through the seqlock, or plainly when the graph is frozen (no writer exists).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int ReadLinks(NodeSegments segments, int id, int level, Span<int> destination) =>
        Frozen
            ? LinkRecord.ReadFrozen(ref Record(segments, id, level), level == 0 ? M0 : M, destination)
            : LinkRecord.Read(ref Record(segments, id, level), level == 0 ? M0 : M, destination);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private float Distance<TDistance>(float* a, float* b)
        where TDistance : struct, IDistance => TDistance.Compute(ref *a, ref *b, (nuint)PaddedDimensions);
}
