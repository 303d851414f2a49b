using System.Buffers.Binary;
using VectorIndex.Persistence;

namespace VectorIndex.Tests;

/// <summary>BruteForceIndex Save / Load: identical answers after a round trip, atomic saves, and hostile files.</summary>
public sealed class BruteForcePersistenceTests : IDisposable
{
    private const int D = 10;
    private readonly string _folder = Directory.CreateTempSubdirectory("vectorindex-flat-").FullName;
    private readonly float[] _data = TestData.Clustered(500, D, seed: 111);
    private readonly float[] _queries = TestData.Clustered(40, D, seed: 112);
    private readonly ulong[] _keys = TestData.Keys(500);

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Theory]
    [InlineData(Metric.L2Squared)]
    [InlineData(Metric.Cosine)]
    [InlineData(Metric.InnerProduct)]
    public void File_and_stream_round_trips_answer_every_query_identically(Metric metric)
    {
        using BruteForceIndex original = Build(metric);
        string path = Path.Combine(_folder, "flat.vidx");
        original.Save(path);
        using var memory = new MemoryStream();
        memory.Write(new byte[17]); // the stream's position is where the index starts
        original.Save(memory);
        memory.Position = 17;

        using BruteForceIndex fromFile = BruteForceIndex.Load(path);
        using BruteForceIndex fromStream = BruteForceIndex.Load(memory);
        foreach (BruteForceIndex copy in new[] { fromFile, fromStream })
        {
            copy.Dimensions.Should().Be(D);
            copy.Metric.Should().Be(metric);
            copy.Count.Should().Be(original.Count);
            copy.GetKeys().Should().Equal(original.GetKeys(), "rows keep their order");
            var a = new float[D];
            var b = new float[D];
            foreach (ulong key in original.GetKeys())
            {
                original.TryGetVector(key, a);
                copy.TryGetVector(key, b).Should().BeTrue();
                b.Should().Equal(a, "the stored vectors are bit-identical");
            }

            for (int q = 0; q < _queries.Length / D; q++)
            {
                copy.Search(TestData.Row(_queries, D, q), 10).Should().Equal(original.Search(TestData.Row(_queries, D, q), 10));
                copy.SearchRange(TestData.Row(_queries, D, q), 2f).Should().Equal(original.SearchRange(TestData.Row(_queries, D, q), 2f));
            }

            // A loaded index accepts adds and removes.
            copy.Remove(_keys[1]).Should().BeTrue();
            copy.Add(1, TestData.Row(_data, D, 1));
            copy.Count.Should().Be(original.Count);
        }
    }

    [Fact]
    public void An_empty_index_round_trips()
    {
        using var empty = new BruteForceIndex(3, Metric.Cosine);
        using var stream = new MemoryStream();
        empty.Save(stream);
        stream.Length.Should().Be(FlatFile.HeaderLength);
        stream.Position = 0;
        using BruteForceIndex loaded = BruteForceIndex.Load(stream);
        loaded.Metric.Should().Be(Metric.Cosine);
        loaded.Count.Should().Be(0);
        loaded.Search([1, 2, 3], 3).Should().BeEmpty();
    }

    [Fact]
    public void Saving_over_a_file_replaces_it_whole_and_leaves_no_temporary_file()
    {
        string path = Path.Combine(_folder, "swap.vidx");
        using BruteForceIndex first = Build(Metric.L2Squared);
        first.Save(path);
        using var second = new BruteForceIndex(D);
        second.Add(7, TestData.Row(_data, D, 7));
        second.Save(path);
        using BruteForceIndex reopened = BruteForceIndex.Load(path);
        reopened.GetKeys().Should().Equal(7UL);
        Directory.GetFiles(_folder).Should().ContainSingle().Which.Should().Be(path);
    }

    [Fact]
    public void A_failed_save_leaves_the_old_file_intact_and_no_temporary_file()
    {
        string path = Path.Combine(_folder, "atomic.vidx");
        using BruteForceIndex old = Build(Metric.L2Squared);
        old.Save(path);
        byte[] before = File.ReadAllBytes(path);

        var disposed = new BruteForceIndex(D);
        disposed.Add(1, TestData.Row(_data, D, 1));
        disposed.Dispose();
        disposed.Invoking(d => d.Save(path)).Should().Throw<ObjectDisposedException>();
        disposed.Invoking(d => d.Save(new MemoryStream())).Should().Throw<ObjectDisposedException>();

        File.ReadAllBytes(path).Should().Equal(before);
        Directory.GetFiles(_folder).Should().ContainSingle();
    }

    [Fact]
    public void Each_index_refuses_the_others_file_by_name()
    {
        using BruteForceIndex flat = Build(Metric.L2Squared);
        using var hnsw = new HnswIndex(new HnswOptions { Dimensions = D });
        hnsw.AddRange(_keys, _data);
        string flatPath = Path.Combine(_folder, "flat.vidx");
        string hnswPath = Path.Combine(_folder, "hnsw.vidx");
        flat.Save(flatPath);
        hnsw.Save(hnswPath);

        FluentActions.Invoking(() => HnswIndex.Load(flatPath)).Should().Throw<InvalidDataException>().WithMessage("*BruteForceIndex file*");
        FluentActions.Invoking(() => HnswIndex.OpenReadOnly(flatPath)).Should().Throw<InvalidDataException>().WithMessage("*BruteForceIndex file*");
        FluentActions.Invoking(() => BruteForceIndex.Load(hnswPath)).Should().Throw<InvalidDataException>().WithMessage("*HnswIndex file*");

        // An empty brute-force file (header only, shorter than the HNSW header) is named too.
        using var empty = new BruteForceIndex(D);
        var bytes = new MemoryStream();
        empty.Save(bytes);
        FluentActions.Invoking(() => HnswIndex.Load(new MemoryStream(bytes.ToArray()))).Should().Throw<InvalidDataException>().WithMessage("*BruteForceIndex file*");
    }

    [Fact]
    public void Truncation_at_any_length_is_invalid_data()
    {
        byte[] bytes = SmallBytes();
        string path = Path.Combine(_folder, "cut.vidx");
        var lengths = Enumerable.Range(0, 200).Concat(Enumerable.Range(1, 100).Select(i => (int)((long)bytes.Length * i / 101))).Append(bytes.Length - 1);
        foreach (int length in lengths.Distinct())
        {
            byte[] cut = bytes[..length];
            FluentActions.Invoking(() => BruteForceIndex.Load(new MemoryStream(cut))).Should().Throw<InvalidDataException>($"cut at {length}");
            File.WriteAllBytes(path, cut);
            FluentActions.Invoking(() => BruteForceIndex.Load(path)).Should().Throw<InvalidDataException>($"cut at {length}");
        }
    }

    [Fact]
    public void A_flipped_bit_anywhere_is_invalid_data_or_changes_nothing()
    {
        using BruteForceIndex original = Small();
        byte[] bytes = Bytes(original);
        var random = new Random(113);
        var positions = Enumerable.Range(0, FlatFile.HeaderLength * 8).Concat(Enumerable.Range(0, 1_000).Select(_ => random.Next(bytes.Length * 8)));
        int invalid = 0;
        foreach (int bit in positions)
        {
            byte[] flipped = (byte[])bytes.Clone();
            flipped[bit / 8] ^= (byte)(1 << (bit % 8));
            BruteForceIndex copy;
            try
            {
                copy = BruteForceIndex.Load(new MemoryStream(flipped));
            }
            catch (InvalidDataException)
            {
                invalid++;
                continue;
            }

            using (copy)
            {
                // Only padding bytes may flip unnoticed.
                copy.GetKeys().Should().Equal(original.GetKeys(), $"bit {bit}");
                for (int q = 0; q < 5; q++)
                {
                    copy.Search(TestData.Row(_queries, D, q), 5).Should().Equal(original.Search(TestData.Row(_queries, D, q), 5), $"bit {bit}");
                }
            }
        }

        invalid.Should().BeGreaterThan(1_900);
    }

    [Fact]
    public void A_newer_format_version_is_refused_naming_both_versions()
    {
        byte[] bytes = SmallBytes();
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(8), 9);
        Reseal(bytes);
        FluentActions.Invoking(() => BruteForceIndex.Load(new MemoryStream(bytes))).Should().Throw<InvalidDataException>()
            .WithMessage("*9*").WithMessage($"*{FlatFile.CurrentVersion}*");
    }

    [Theory]
    [InlineData(16, 0)] // dimensions
    [InlineData(16, 1 << 30)]
    [InlineData(20, 7)] // metric
    [InlineData(24, int.MaxValue)] // count
    [InlineData(24, -1)]
    [InlineData(28, 1)] // flags
    [InlineData(48, int.MaxValue)] // keys length
    [InlineData(40, 64)] // keys offset
    [InlineData(72, 1 << 30)] // vectors length
    [InlineData(64, 512)] // vectors offset
    public void Hostile_header_fields_with_a_valid_checksum_are_invalid_data_without_large_allocations(int offset, int value)
    {
        byte[] bytes = SmallBytes();
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(offset), value);
        Reseal(bytes);
        long before = GC.GetAllocatedBytesForCurrentThread();
        FluentActions.Invoking(() => BruteForceIndex.Load(new MemoryStream(bytes))).Should().Throw<InvalidDataException>();
        (GC.GetAllocatedBytesForCurrentThread() - before).Should().BeLessThan(4L * bytes.Length + 1_000_000, "no allocation beyond what the input justifies");
    }

    [Fact]
    public void Repeated_keys_and_non_finite_vectors_with_valid_checksums_are_invalid_data()
    {
        byte[] bytes = SmallBytes();
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(FlatFile.HeaderLength + 8), BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(FlatFile.HeaderLength)));
        ResealSection(bytes, 0);
        FluentActions.Invoking(() => BruteForceIndex.Load(new MemoryStream(bytes))).Should().Throw<InvalidDataException>().WithMessage("*twice*");

        bytes = SmallBytes();
        long vectors = BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(64));
        BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan((int)vectors + 12), float.NaN);
        ResealSection(bytes, 1);
        FluentActions.Invoking(() => BruteForceIndex.Load(new MemoryStream(bytes))).Should().Throw<InvalidDataException>().WithMessage("*NaN*");
    }

    [Fact]
    public void Foreign_and_null_inputs_are_refused()
    {
        string path = Path.Combine(_folder, "foreign.vidx");
        foreach (byte[] bytes in new[] { Array.Empty<byte>(), "hello"u8.ToArray(), new byte[4096], TestData.Uniform(200, 4, 1).SelectMany(BitConverter.GetBytes).ToArray() })
        {
            FluentActions.Invoking(() => BruteForceIndex.Load(new MemoryStream(bytes))).Should().Throw<InvalidDataException>();
            File.WriteAllBytes(path, bytes);
            FluentActions.Invoking(() => BruteForceIndex.Load(path)).Should().Throw<InvalidDataException>();
        }

        FluentActions.Invoking(() => BruteForceIndex.Load((Stream)null!)).Should().Throw<ArgumentNullException>();
        FluentActions.Invoking(() => BruteForceIndex.Load("")).Should().Throw<ArgumentException>();
        FluentActions.Invoking(() => BruteForceIndex.Load(Path.Combine(_folder, "missing.vidx"))).Should().Throw<FileNotFoundException>();
    }

    private BruteForceIndex Build(Metric metric) => TestData.Exact(_keys, _data, D, metric);

    private BruteForceIndex Small()
    {
        var index = new BruteForceIndex(D);
        for (int i = 0; i < 60; i++)
        {
            index.Add(_keys[i], TestData.Row(_data, D, i));
        }

        index.Remove(_keys[3]); // the last row moves into row 3
        return index;
    }

    private byte[] SmallBytes()
    {
        using BruteForceIndex index = Small();
        return Bytes(index);
    }

    private static byte[] Bytes(BruteForceIndex index)
    {
        using var stream = new MemoryStream();
        index.Save(stream);
        return stream.ToArray();
    }

    private static void Reseal(byte[] bytes) =>
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(FlatFile.CrcOffset), Crc32C.Compute(bytes.AsSpan(0, FlatFile.CrcOffset)));

    /// <summary>Recomputes section <paramref name="index"/>'s CRC (table entry at 40 + 24 * index) and the header's.</summary>
    private static void ResealSection(byte[] bytes, int index)
    {
        int entry = 40 + (24 * index);
        int offset = (int)BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(entry));
        int length = (int)BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(entry + 8));
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(entry + 16), Crc32C.Compute(bytes.AsSpan(offset, length)));
        Reseal(bytes);
    }
}
