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
/// The codes of a quantised index (see <c>Codes/ScalarQuantizer</c>): the integer sum <typeparamref name="TSum"/>
/// over the coded query and the node's code, turned into the metric's units by one multiply-add.
/// </summary>
internal readonly unsafe struct CodeSpace<TSum> : IWalkSpace
    where TSum : struct, ICodeSum
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
        _bias + (_factor * TSum.Sum(ref *segments.Code(id), ref *_query, _length));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Prefetch(NodeSegments segments, int id) => WalkSpace.Prefetch(segments.Code(id), _prefetchLines);
}

/// <summary>The integer sum a <see cref="CodeSpace{TSum}"/> measures between a stored code and the coded query.</summary>
internal interface ICodeSum
{
    static abstract int Sum(ref byte code, ref byte query, nuint length);
}

/// <summary>Code and query coded alike, combined by <typeparamref name="TOperator"/> (<see cref="CodeKernel"/>).</summary>
internal readonly struct OperatorSum<TOperator> : ICodeSum
    where TOperator : struct, ICodeOperator
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Sum(ref byte code, ref byte query, nuint length) => CodeKernel.Sum<TOperator>(ref query, ref code, length);
}

/// <summary>4-bit codes against a query written once as two planes at a finer resolution (<see cref="NibblePlaneKernel"/>).</summary>
internal readonly struct NibblePlaneSum<TOperator> : ICodeSum
    where TOperator : struct, INibblePlaneOperator
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Sum(ref byte code, ref byte query, nuint length) => NibblePlaneKernel.Sum<TOperator>(ref code, ref query, length);
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
