using VectorIndex.AnnBench;

namespace VectorIndex.AnnBench.Tests;

public sealed class EmbeddingCacheTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("annbench-cache-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string PathOf(string name) => Path.Combine(_folder, name);

    [Fact]
    public void Round_trip_is_bit_identical_including_special_values()
    {
        // Negative zero, subnormals, infinities and a NaN with a payload: a text format or a conversion would lose some.
        float[] vectors =
        [
            -0f, float.Epsilon, -float.Epsilon, float.MaxValue,
            float.PositiveInfinity, float.NegativeInfinity, BitConverter.Int32BitsToSingle(0x7FC0_1234), 1e-38f,
            0.1f, -1f / 3, 384f, 12345.678f,
        ];
        string path = PathOf("v.vectors");

        EmbeddingCache.Write(path, vectors, dimensions: 4);
        (float[] read, int d) = EmbeddingCache.Read(path);

        d.Should().Be(4);
        read.Select(BitConverter.SingleToInt32Bits).Should().Equal(vectors.Select(BitConverter.SingleToInt32Bits));
        new FileInfo(path).Length.Should().Be(24 + (12 * 4));
        File.Exists(path + ".tmp").Should().BeFalse();
    }

    [Fact]
    public void A_truncated_file_is_refused_with_its_length()
    {
        string path = Written();
        using (var file = File.OpenWrite(path))
        {
            file.SetLength(file.Length - 3);
        }

        Action read = () => EmbeddingCache.Read(path);

        read.Should().Throw<InvalidDataException>().WithMessage("*is 117 bytes; 3 rows of 8 floats need 120 (truncated*");
    }

    [Fact]
    public void A_flipped_bit_in_the_vectors_is_refused()
    {
        string path = Written();
        byte[] bytes = File.ReadAllBytes(path);
        bytes[24 + 37] ^= 0x10;
        File.WriteAllBytes(path, bytes);

        Action read = () => EmbeddingCache.Read(path);

        read.Should().Throw<InvalidDataException>().WithMessage("*checksum (corrupted*");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(10)]
    public void A_file_without_the_header_is_refused(int length)
    {
        string path = PathOf("short.vectors");
        File.WriteAllBytes(path, new byte[length]);

        Action read = () => EmbeddingCache.Read(path);

        read.Should().Throw<InvalidDataException>().WithMessage("*not an embedding cache file*");
    }

    [Fact]
    public void A_header_with_no_rows_is_refused()
    {
        string path = Written();
        byte[] bytes = File.ReadAllBytes(path);
        BitConverter.GetBytes(0).CopyTo(bytes, 8);
        File.WriteAllBytes(path, bytes);

        Action read = () => EmbeddingCache.Read(path);

        read.Should().Throw<InvalidDataException>().WithMessage("*header says 0 rows of 8 dimensions*");
    }

    [Fact]
    public void Rows_that_are_not_whole_are_not_written()
    {
        Action write = () => EmbeddingCache.Write(PathOf("bad.vectors"), new float[10], dimensions: 4);

        write.Should().Throw<ArgumentException>();
        File.Exists(PathOf("bad.vectors")).Should().BeFalse();
    }

    [Fact]
    public void The_split_is_seeded_disjoint_and_complete()
    {
        const int D = 2;
        float[] vectors = [.. Enumerable.Range(0, 100 * D).Select(i => (float)(i / D))]; // row r is (r, r)

        (float[] train, float[] test) = Dataset.Split(vectors, D, testCount: 10, seed: 15);
        (float[] train2, float[] test2) = Dataset.Split(vectors, D, testCount: 10, seed: 15);
        (_, float[] other) = Dataset.Split(vectors, D, testCount: 10, seed: 16);

        train2.Should().Equal(train);
        test2.Should().Equal(test);
        other.Should().NotEqual(test);
        int[] testRows = [.. test.Where((_, i) => i % D == 0).Select(x => (int)x)];
        int[] trainRows = [.. train.Where((_, i) => i % D == 0).Select(x => (int)x)];
        testRows.Should().HaveCount(10).And.OnlyHaveUniqueItems();
        trainRows.Should().BeInAscendingOrder().And.HaveCount(90);
        trainRows.Concat(testRows).Order().Should().Equal(Enumerable.Range(0, 100));
    }

    private string Written()
    {
        string path = PathOf("v.vectors");
        EmbeddingCache.Write(path, [.. Enumerable.Range(0, 24).Select(i => i * 0.5f)], dimensions: 8);
        return path;
    }
}
