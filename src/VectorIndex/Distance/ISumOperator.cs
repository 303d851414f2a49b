using System.Runtime.Intrinsics;

namespace VectorIndex.Distance;

/// <summary>
/// One accumulation step of a sum kernel, <c>acc + f(a, b)</c> per lane, at every width the kernels use.
/// Implemented by small readonly structs so that <see cref="SumKernel"/> is specialised and inlined per operator.
/// f(0, 0) must be 0: zero padding and masked-off lanes then add nothing.
/// </summary>
internal interface ISumOperator
{
    static abstract float Accumulate(float a, float b, float acc);

    static abstract Vector128<float> Accumulate(Vector128<float> a, Vector128<float> b, Vector128<float> acc);

    static abstract Vector256<float> Accumulate(Vector256<float> a, Vector256<float> b, Vector256<float> acc);

    static abstract Vector512<float> Accumulate(Vector512<float> a, Vector512<float> b, Vector512<float> acc);
}

/// <summary><c>acc + (a - b)^2</c>: the squared Euclidean distance.</summary>
internal readonly struct SquaredDifference : ISumOperator
{
    public static float Accumulate(float a, float b, float acc)
    {
        float d = a - b;
        return MathF.FusedMultiplyAdd(d, d, acc);
    }

    public static Vector128<float> Accumulate(Vector128<float> a, Vector128<float> b, Vector128<float> acc)
    {
        var d = a - b;
        return Vector128.MultiplyAddEstimate(d, d, acc);
    }

    public static Vector256<float> Accumulate(Vector256<float> a, Vector256<float> b, Vector256<float> acc)
    {
        var d = a - b;
        return Vector256.MultiplyAddEstimate(d, d, acc);
    }

    public static Vector512<float> Accumulate(Vector512<float> a, Vector512<float> b, Vector512<float> acc)
    {
        var d = a - b;
        return Vector512.MultiplyAddEstimate(d, d, acc);
    }
}

/// <summary><c>acc + a * b</c>: the dot product.</summary>
internal readonly struct Product : ISumOperator
{
    public static float Accumulate(float a, float b, float acc) => MathF.FusedMultiplyAdd(a, b, acc);

    public static Vector128<float> Accumulate(Vector128<float> a, Vector128<float> b, Vector128<float> acc) =>
        Vector128.MultiplyAddEstimate(a, b, acc);

    public static Vector256<float> Accumulate(Vector256<float> a, Vector256<float> b, Vector256<float> acc) =>
        Vector256.MultiplyAddEstimate(a, b, acc);

    public static Vector512<float> Accumulate(Vector512<float> a, Vector512<float> b, Vector512<float> acc) =>
        Vector512.MultiplyAddEstimate(a, b, acc);
}
