using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace VectorIndex.Distance;

/// <summary>
/// The 4-bit squared distance of the walk: a stored code (two unsigned nibbles per byte, low nibble first) against a
/// query kept as two planes of signed bytes at four times the code's resolution, <c>planes[i]</c> for the low nibble of
/// byte i and <c>planes[length + i]</c> for its high one, each in -3..63
/// (<see cref="Codes.ScalarQuantizer.EncodeQuery"/> writes them once per search): <c>Σ (plane - 4 x nibble)²</c>.
/// Only the stored side is split per distance, straight into four times its nibbles (<c>(c &lt;&lt; 2) &amp; 0x3C</c>,
/// <c>(c &gt;&gt; 2) &amp; 0x3C</c>); a difference is at most 63, so <c>vpmaddubsw</c> of |d| with itself sums a
/// pair of squares into 16 bits (at most 7,938), the two planes of two blocks stay below 32,767, and <c>vpmaddwd</c>
/// widens them to 32 bits once per two blocks. The variants are named as in <see cref="CodeKernel"/>; the sums are
/// integers, so every variant is exact.
/// </summary>
internal static class NibblePlaneKernel
{
    /// <summary>The widest variant the hardware runs; <paramref name="planes"/> holds 2 x <paramref name="length"/> bytes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Sum(ref byte code, ref byte planes, nuint length)
    {
        if (Vector512.IsHardwareAccelerated && Avx512BW.IsSupported && length >= (nuint)Vector512<byte>.Count)
        {
            return Vector512Unroll2(ref code, ref planes, length);
        }

        if (Vector256.IsHardwareAccelerated && Avx2.IsSupported && length >= (nuint)Vector256<byte>.Count)
        {
            return Vector256Unroll2(ref code, ref planes, length);
        }

        if (Vector128.IsHardwareAccelerated && Ssse3.IsSupported && length >= (nuint)Vector128<byte>.Count)
        {
            return Vector128Unroll2(ref code, ref planes, length);
        }

        return Scalar(ref code, ref planes, length);
    }

    public static int Scalar(ref byte code, ref byte planes, nuint length) => Tail(ref code, ref planes, 0, length, 0);

    public static int Vector128Unroll2(ref byte code, ref byte planes, nuint length)
    {
        const int W = 16;
        var mask = Vector128.Create((byte)0x3C);
        nuint i = 0;
        if (!Ssse3.IsSupported)
        {
            // No pmaddubsw (not x86): the differences widened to 32 bits and squared.
            Vector128<int> widened = default;
            for (; i + W <= length; i += W)
            {
                var (dl, dh) = Differences(Vector128.LoadUnsafe(ref code, i), Vector128.LoadUnsafe(ref planes, i), Vector128.LoadUnsafe(ref planes, length + i), mask);
                widened += CodeMath.SquaresWidened(dl) + CodeMath.SquaresWidened(dh);
            }

            return Tail(ref code, ref planes, i, length, Vector128.Sum(widened));
        }

        Vector128<int> sum = default;
        for (; i + (2 * W) <= length; i += 2 * W)
        {
            var s = Squares(Vector128.LoadUnsafe(ref code, i), Vector128.LoadUnsafe(ref planes, i), Vector128.LoadUnsafe(ref planes, length + i), mask)
                + Squares(Vector128.LoadUnsafe(ref code, i + W), Vector128.LoadUnsafe(ref planes, i + W), Vector128.LoadUnsafe(ref planes, length + i + W), mask);
            sum += Sse2.MultiplyAddAdjacent(s, Vector128<short>.One);
        }

        if (i + W <= length)
        {
            sum += Sse2.MultiplyAddAdjacent(Squares(Vector128.LoadUnsafe(ref code, i), Vector128.LoadUnsafe(ref planes, i), Vector128.LoadUnsafe(ref planes, length + i), mask), Vector128<short>.One);
            i += W;
        }

        return Tail(ref code, ref planes, i, length, Vector128.Sum(sum));

        static Vector128<short> Squares(Vector128<byte> c, Vector128<byte> lo, Vector128<byte> hi, Vector128<byte> mask)
        {
            var (dl, dh) = Differences(c, lo, hi, mask);
            return Ssse3.MultiplyAddAdjacent(dl, dl.AsSByte()) + Ssse3.MultiplyAddAdjacent(dh, dh.AsSByte());
        }

        static (Vector128<byte> Low, Vector128<byte> High) Differences(Vector128<byte> c, Vector128<byte> lo, Vector128<byte> hi, Vector128<byte> mask) =>
            (Vector128.Abs(lo.AsSByte() - (Vector128.ShiftLeft(c.AsUInt16(), 2).AsByte() & mask).AsSByte()).AsByte(),
             Vector128.Abs(hi.AsSByte() - (Vector128.ShiftRightLogical(c.AsUInt16(), 2).AsByte() & mask).AsSByte()).AsByte());
    }

    public static int Vector256Unroll2(ref byte code, ref byte planes, nuint length)
    {
        if (!Avx2.IsSupported)
        {
            return Vector128Unroll2(ref code, ref planes, length);
        }

        const int W = 32;
        var mask = Vector256.Create((byte)0x3C);
        Vector256<int> sum = default;
        nuint i = 0;
        for (; i + (2 * W) <= length; i += 2 * W)
        {
            var s = Squares(Vector256.LoadUnsafe(ref code, i), Vector256.LoadUnsafe(ref planes, i), Vector256.LoadUnsafe(ref planes, length + i), mask)
                + Squares(Vector256.LoadUnsafe(ref code, i + W), Vector256.LoadUnsafe(ref planes, i + W), Vector256.LoadUnsafe(ref planes, length + i + W), mask);
            sum += Avx2.MultiplyAddAdjacent(s, Vector256<short>.One);
        }

        if (i + W <= length)
        {
            sum += Avx2.MultiplyAddAdjacent(Squares(Vector256.LoadUnsafe(ref code, i), Vector256.LoadUnsafe(ref planes, i), Vector256.LoadUnsafe(ref planes, length + i), mask), Vector256<short>.One);
            i += W;
        }

        return Tail(ref code, ref planes, i, length, Vector256.Sum(sum));

        static Vector256<short> Squares(Vector256<byte> c, Vector256<byte> lo, Vector256<byte> hi, Vector256<byte> mask)
        {
            var dl = Vector256.Abs(lo.AsSByte() - (Vector256.ShiftLeft(c.AsUInt16(), 2).AsByte() & mask).AsSByte()).AsByte();
            var dh = Vector256.Abs(hi.AsSByte() - (Vector256.ShiftRightLogical(c.AsUInt16(), 2).AsByte() & mask).AsSByte()).AsByte();
            return Avx2.MultiplyAddAdjacent(dl, dl.AsSByte()) + Avx2.MultiplyAddAdjacent(dh, dh.AsSByte());
        }
    }

    public static int Vector512Unroll2(ref byte code, ref byte planes, nuint length)
    {
        if (!Avx512BW.IsSupported)
        {
            return Vector256Unroll2(ref code, ref planes, length);
        }

        const int W = 64;
        var mask = Vector512.Create((byte)0x3C);
        Vector512<int> sum = default;
        nuint i = 0;
        for (; i + (2 * W) <= length; i += 2 * W)
        {
            var s = Squares(Vector512.LoadUnsafe(ref code, i), Vector512.LoadUnsafe(ref planes, i), Vector512.LoadUnsafe(ref planes, length + i), mask)
                + Squares(Vector512.LoadUnsafe(ref code, i + W), Vector512.LoadUnsafe(ref planes, i + W), Vector512.LoadUnsafe(ref planes, length + i + W), mask);
            sum += Avx512BW.MultiplyAddAdjacent(s, Vector512<short>.One);
        }

        if (i + W <= length)
        {
            sum += Avx512BW.MultiplyAddAdjacent(Squares(Vector512.LoadUnsafe(ref code, i), Vector512.LoadUnsafe(ref planes, i), Vector512.LoadUnsafe(ref planes, length + i), mask), Vector512<short>.One);
            i += W;
        }

        return Tail(ref code, ref planes, i, length, Vector512.Sum(sum));

        static Vector512<short> Squares(Vector512<byte> c, Vector512<byte> lo, Vector512<byte> hi, Vector512<byte> mask)
        {
            var dl = Vector512.Abs(lo.AsSByte() - (Vector512.ShiftLeft(c.AsUInt16(), 2).AsByte() & mask).AsSByte()).AsByte();
            var dh = Vector512.Abs(hi.AsSByte() - (Vector512.ShiftRightLogical(c.AsUInt16(), 2).AsByte() & mask).AsSByte()).AsByte();
            return Avx512BW.MultiplyAddAdjacent(dl, dl.AsSByte()) + Avx512BW.MultiplyAddAdjacent(dh, dh.AsSByte());
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Tail(ref byte code, ref byte planes, nuint i, nuint length, int sum)
    {
        for (; i < length; i++)
        {
            int c = Unsafe.Add(ref code, i);
            int lo = (sbyte)Unsafe.Add(ref planes, i) - (4 * (c & 0xF));
            int hi = (sbyte)Unsafe.Add(ref planes, length + i) - (4 * (c >> 4));
            sum += (lo * lo) + (hi * hi);
        }

        return sum;
    }
}
