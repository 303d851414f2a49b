using System.Buffers.Binary;
using VectorIndex.Persistence;

namespace VectorIndex.Tests;

/// <summary>
/// Files of the first release (format version 1, six sections) still load; what this library writes is version 2
/// (five sections: the free-slot section is gone). The fixture <c>Fixtures/first-release.vidx</c> was written by the
/// first release's last commit (cfd4af0) running the steps of <see cref="ExpectedLiveRows"/> on <see cref="Row"/>.
/// </summary>
public sealed class FormatVersionTests : IDisposable
{
    private const int D = 12;
    private static readonly string Fixture = Path.Combine(AppContext.BaseDirectory, "Fixtures", "first-release.vidx");
    private readonly string _folder = Directory.CreateTempSubdirectory("vectorindex-format-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void The_fixture_is_a_version_1_file()
    {
        byte[] bytes = File.ReadAllBytes(Fixture);
        BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(8)).Should().Be(1);
        BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(68)).Should().Be(6);
    }

    [Fact]
    public void A_first_release_file_loads_with_every_key_and_vector_bit_for_bit()
    {
        Dictionary<ulong, int> expected = ExpectedLiveRows();
        using HnswIndex loaded = HnswIndex.Load(Fixture);
        using HnswIndex mapped = HnswIndex.OpenReadOnly(Fixture);
        foreach (HnswIndex index in new[] { loaded, mapped })
        {
            index.Count.Should().Be(expected.Count);
            var vector = new float[D];
            foreach ((ulong key, int row) in expected)
            {
                index.TryGetVector(key, vector).Should().BeTrue($"key {key} is live");
                vector.Select(BitConverter.SingleToInt32Bits).Should().Equal(Row(row).Select(BitConverter.SingleToInt32Bits), $"key {key}");
            }

            for (ulong key = 1; key <= 300; key++)
            {
                index.Contains(key).Should().Be(expected.ContainsKey(key));
            }
        }

        GraphInvariants.Check(loaded);
    }

    [Fact]
    public void A_first_release_file_answers_as_exact_search_does_and_is_saved_as_version_3()
    {
        Dictionary<ulong, int> expected = ExpectedLiveRows();
        using var exact = new BruteForceIndex(D);
        foreach ((ulong key, int row) in expected)
        {
            exact.Add(key, Row(row));
        }

        using HnswIndex loaded = HnswIndex.Load(Fixture);
        float[] queries = [.. Enumerable.Range(0, 50).SelectMany(i => Row(5_000 + i))];
        TestData.Recall(loaded, exact, queries, D, 10, new SearchOptions { Ef = 64 }).Should().BeGreaterThanOrEqualTo(0.98);

        string path = Path.Combine(_folder, "resaved.vidx");
        loaded.Save(path);
        byte[] bytes = File.ReadAllBytes(path);
        BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(8)).Should().Be(FileHeader.CurrentVersion).And.Be(3);
        BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(68)).Should().Be(6, "version 3 adds the codes section");
        using HnswIndex again = HnswIndex.Load(path);
        using HnswIndex mappedAgain = HnswIndex.OpenReadOnly(path);
        var options = new SearchOptions { Ef = 40 };
        for (int q = 0; q < 50; q++)
        {
            ReadOnlySpan<float> query = TestData.Row(queries, D, q);
            IReadOnlyList<SearchResult> original = loaded.Search(query, 10, options);
            again.Search(query, 10, options).Should().Equal(original, $"query {q}");
            mappedAgain.Search(query, 10, options).Should().Equal(original, $"query {q}");
        }
    }

    [Fact]
    public void A_version_2_file_loads_and_one_with_a_sixth_section_entry_is_refused()
    {
        // A version-2 file is a version-3 one without the codes section (the sixth entry).
        using var index = new HnswIndex(new HnswOptions { Dimensions = D });
        for (int i = 0; i < 200; i++)
        {
            index.Add((ulong)i, Row(i));
        }

        using var stream = new MemoryStream();
        index.Save(stream);
        byte[] bytes = stream.ToArray();
        FileHeader header = FileHeader.Parse(bytes, bytes.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(8), 2);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(68), 5);
        byte[] withSixth = (byte[])bytes.Clone();
        bytes.AsSpan(80 + (5 * 24), 24).Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(FileHeader.CrcOffset), Crc32C.Compute(bytes.AsSpan(0, FileHeader.CrcOffset)));
        byte[] version2 = bytes[..(int)(header[Section.Upper].Offset + header[Section.Upper].Length)];
        using HnswIndex loaded = HnswIndex.Load(new MemoryStream(version2));
        for (int q = 0; q < 20; q++)
        {
            loaded.Search(Row(300 + q), 10).Should().Equal(index.Search(Row(300 + q), 10));
        }

        BinaryPrimitives.WriteUInt32LittleEndian(withSixth.AsSpan(FileHeader.CrcOffset), Crc32C.Compute(withSixth.AsSpan(0, FileHeader.CrcOffset)));
        FluentActions.Invoking(() => HnswIndex.Load(new MemoryStream(withSixth))).Should().Throw<InvalidDataException>().WithMessage("*section table*");
    }

    /// <summary>Row i of the fixture's data: <c>sin(0.37 i + 1.3 j) + cos(0.11 i j)</c>.</summary>
    private static float[] Row(int i)
    {
        var v = new float[D];
        for (int j = 0; j < D; j++)
        {
            v[j] = (float)(Math.Sin((0.37 * i) + (1.3 * j)) + Math.Cos(0.11 * i * j));
        }

        return v;
    }

    /// <summary>
    /// The fixture's steps, replayed on a dictionary: keys 1..300 take rows 0..299, every 7th row's key is removed,
    /// then the key of every 11th row from row 1 takes row + 1,000 (re-adding the few of them that were removed).
    /// </summary>
    private static Dictionary<ulong, int> ExpectedLiveRows()
    {
        var live = new Dictionary<ulong, int>();
        for (int i = 0; i < 300; i++)
        {
            live[(ulong)(i + 1)] = i;
        }

        for (int i = 0; i < 300; i += 7)
        {
            live.Remove((ulong)(i + 1));
        }

        for (int i = 1; i < 300; i += 11)
        {
            live[(ulong)(i + 1)] = i + 1_000;
        }

        return live;
    }
}
