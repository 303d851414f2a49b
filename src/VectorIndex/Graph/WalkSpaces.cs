using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;
using VectorIndex.Distance;
using VectorIndex.Storage;

namespace VectorIndex.Graph;

/// <summary>
/// What a walk measures: the query against a node, and which bytes of the node to load ahead. SEARCH-LAYER and the
/// greedy descent are generic over it (<c>TSpace : struct, IWalkSpace</c>), so the JIT specialises them per space and
/// inlines the kernel: no delegate, no virtual call per distance.
/// </summary>
internal interface IWalkSpace
{
    /// <summary>The distance from the query to node <paramref name="id"/>, in the metric's units.</summary>
    float Distance(NodeSegments segments, int id);

    /// <summary>Starts loading what <see cref="Distance"/> will read of node <paramref name="id"/>.</summary>
    void Prefetch(NodeSegments segments, int id);
}

/// <summary>The float vectors: exact distances (the build, <see cref="Quantization.None"/>, and the re-rank).</summary>
internal readonly unsafe struct FloatSpace<TDistance> : IWalkSpace
    where TDistance : struct, IDistance
{
    private readonly float* _query;
    private readonly nuint _length;
    private readonly int _prefetchLines;

    /// <param name="query">The padded query (or a stored vector), <paramref name="length"/> floats.</param>
    /// <param name="length">Floats per vector: the padded dimensions.</param>
    /// <param name="prefetchLines">Cache lines of a vector to load ahead.</param>
    public FloatSpace(float* query, int length, int prefetchLines)
    {
        _query = query;
        _length = (nuint)length;
        _prefetchLines = prefetchLines;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float Distance(NodeSegments segments, int id) => TDistance.Compute(ref *_query, ref *segments.Vector(id), _length);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Prefetch(NodeSegments segments, int id) => WalkSpace.Prefetch(segments.Vector(id), _prefetchLines);
}

/// <summary>
/// The codes of a quantised index (see <c>Codes/ScalarQuantizer</c>): the integer kernel of <typeparamref name="TOperator"/>
/// over the coded query and the node's code, turned into the metric's units by one multiply-add.
/// </summary>
internal readonly unsafe struct CodeSpace<TOperator> : IWalkSpace
    where TOperator : struct, ICodeOperator
{
    private readonly byte* _query;
    private readonly nuint _length;
    private readonly int _prefetchLines;
    private readonly float _factor;
    private readonly float _bias;

    public CodeSpace(byte* query, int length, float factor, float bias)
    {
        _query = query;
        _length = (nuint)length;
        _prefetchLines = length / 64;
        _factor = factor;
        _bias = bias;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float Distance(NodeSegments segments, int id) =>
        _bias + (_factor * CodeKernel.Sum<TOperator>(ref *_query, ref *segments.Code(id), _length));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Prefetch(NodeSegments segments, int id) => WalkSpace.Prefetch(segments.Code(id), _prefetchLines);
}

/// <summary>
/// The walk over unsigned 4-bit codes: the query was written as two nibble planes once
/// (<see cref="Codes.ScalarQuantizer.EncodeQuery"/>), so a distance splits only the stored code
/// (<see cref="NibblePlaneKernel"/>). <c>Bias + Factor * sum</c> as for <see cref="CodeSpace{TOperator}"/>.
/// </summary>
internal readonly unsafe struct NibblePlaneSpace : IWalkSpace
{
    private readonly byte* _planes;
    private readonly nuint _length;
    private readonly int _prefetchLines;
    private readonly float _factor;
    private readonly float _bias;

    public NibblePlaneSpace(byte* planes, int length, float factor, float bias)
    {
        _planes = planes;
        _length = (nuint)length;
        _prefetchLines = length / 64;
        _factor = factor;
        _bias = bias;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float Distance(NodeSegments segments, int id) =>
        _bias + (_factor * NibblePlaneKernel.Sum(ref *segments.Code(id), ref *_planes, _length));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Prefetch(NodeSegments segments, int id) => WalkSpace.Prefetch(segments.Code(id), _prefetchLines);
}

internal static unsafe class WalkSpace
{
    /// <summary>Starts loading <paramref name="lines"/> cache lines from <paramref name="p"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Prefetch(void* p, int lines)
    {
        if (Sse.IsSupported)
        {
            for (int line = 0; line < lines; line++)
            {
                Sse.Prefetch0((byte*)p + (line * 64));
            }
        }
    }
}
