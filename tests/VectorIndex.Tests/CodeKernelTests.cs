using VectorIndex.Distance;

namespace VectorIndex.Tests;

/// <summary>
/// Every integer code kernel variant this CPU runs natively, for each of the four operators (the 4-bit squared distance
/// and dot product against the query's planes), at every length 1..256
/// and at unaligned offsets, against a plain scalar reference written here. The sums are integers, so they must be
/// equal. CI runs this class again with AVX-512, AVX2 and all hardware intrinsics off.
/// </summary>
public sealed class CodeKernelTests
{
    private const int MaxLength = 256;

    public static TheoryData<string> Variants()
    {
        var data = new TheoryData<string>();
        foreach (CodeKernelVariant v in CodeKernelVariants.Accelerated)
        {
            data.Add(v.Name);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public void Unsigned_8_bit_squared_distance_matches_the_reference(string name) =>
        ForEveryLength(Variant(name).SquaredL2U8, (a, b) => (a - b) * (a - b), name);

    [Theory]
    [MemberData(nameof(Variants))]
    public void Signed_8_bit_dot_product_matches_the_reference(string name) =>
        ForEveryLength(Variant(name).DotS8, (a, b) => (sbyte)a * (sbyte)b, name);

    [Theory]
    [MemberData(nameof(Variants))]
    public void Unsigned_4_bit_squared_distance_against_query_planes_matches_the_reference(string name)
    {
        // The query side is what EncodeQuery writes: two planes of signed bytes in -3..63 (quarter steps), the first
        // for the low nibbles, the second for the high ones; here two functions of the random byte b.
        CodeSpanKernel kernel = Variant(name).SquaredL2U4;
        ForEveryLength((a, b) => kernel(a, [.. b.ToArray().Select(x => (byte)LowPlane(x)), .. b.ToArray().Select(x => (byte)HighPlane(x))]),
            (a, b) => Square(LowPlane(b) - (4 * (a & 15))) + Square(HighPlane(b) - (4 * (a >> 4))), name);
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public void Signed_4_bit_dot_product_against_query_planes_matches_the_reference(string name)
    {
        // The query side: two planes of signed bytes in -127..127 (eighth steps), two functions of the random byte b.
        CodeSpanKernel kernel = Variant(name).DotS4;
        ForEveryLength((a, b) => kernel(a, [.. b.ToArray().Select(x => (byte)SignedLowPlane(x)), .. b.ToArray().Select(x => (byte)SignedHighPlane(x))]),
            (a, b) => (Nibble(a & 15) * SignedLowPlane(b)) + (Nibble(a >> 4) * SignedHighPlane(b)), name);
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public void The_extremes_do_not_saturate(string name)
    {
        // The largest per-byte terms, over a long run: 255^2, (-128)^2, 2 * 63^2 (query planes at -3 or 63 against
        // nibbles 15 or 0), 2 * 8 * 127 (nibbles -8 against planes at -127 or 127).
        CodeKernelVariant v = Variant(name);
        byte[] zeros = new byte[4096], full = [.. Enumerable.Repeat((byte)255, 4096)], minimum = [.. Enumerable.Repeat((byte)0x80, 4096)];
        byte[] nibbleMinimum = [.. Enumerable.Repeat((byte)0x88, 4096)];
        v.SquaredL2U8(full, zeros).Should().Be(4096 * 255 * 255);
        v.DotS8(minimum, minimum).Should().Be(4096 * 128 * 128);
        v.SquaredL2U4(full, [.. Enumerable.Repeat(unchecked((byte)-3), 2 * 4096)]).Should().Be(4096 * 2 * 63 * 63);
        v.SquaredL2U4(zeros, [.. Enumerable.Repeat((byte)63, 2 * 4096)]).Should().Be(4096 * 2 * 63 * 63);
        v.DotS4(nibbleMinimum, [.. Enumerable.Repeat(unchecked((byte)-127), 2 * 4096)]).Should().Be(4096 * 2 * 8 * 127);
        v.DotS4(nibbleMinimum, [.. Enumerable.Repeat((byte)127, 2 * 4096)]).Should().Be(4096 * 2 * -8 * 127);
    }

    [Fact]
    public void The_registry_lists_the_scalar_fallback_and_the_dispatch_as_always_available()
    {
        CodeKernelVariants.Accelerated.Select(v => v.Name).Should().Contain(["Scalar", "Dispatch"]);
        CodeKernelVariants.All.Select(v => v.Name).Should().OnlyHaveUniqueItems();
    }

    private static CodeKernelVariant Variant(string name) => CodeKernelVariants.All.Single(v => v.Name == name);

    private static int Square(int x) => x * x;

    private static int Nibble(int n) => n >= 8 ? n - 16 : n;

    private static int LowPlane(int b) => (b % 67) - 3;

    private static int HighPlane(int b) => (((b * 7) + 5) % 67) - 3;

    private static int SignedLowPlane(int b) => (b % 255) - 127;

    private static int SignedHighPlane(int b) => (((b * 7) + 5) % 255) - 127;

    private static void ForEveryLength(CodeSpanKernel kernel, Func<int, int, int> term, string name)
    {
        var random = new Random(17);
        byte[] a = new byte[MaxLength + 3];
        byte[] b = new byte[MaxLength + 3];
        random.NextBytes(a);
        random.NextBytes(b);
        for (int length = 1; length <= MaxLength; length++)
        {
            for (int offset = 0; offset < 3; offset++)
            {
                ReadOnlySpan<byte> x = a.AsSpan(offset, length);
                ReadOnlySpan<byte> y = b.AsSpan(3 - offset, length);
                int expected = 0;
                for (int i = 0; i < length; i++)
                {
                    expected += term(x[i], y[i]);
                }

                kernel(x, y).Should().Be(expected, $"{name} at length {length}, offset {offset}");
            }
        }
    }
}
