using Microsoft.Extensions.AI;
using Microsoft.Extensions.VectorData;

namespace VectorIndex.VectorData.Tests;

public sealed class AllTypes
{
    [VectorStoreKey]
    public long Id { get; set; }

    [VectorStoreData] public bool Bool { get; set; }
    [VectorStoreData] public byte Byte { get; set; }
    [VectorStoreData] public sbyte SByte { get; set; }
    [VectorStoreData] public short Short { get; set; }
    [VectorStoreData] public ushort UShort { get; set; }
    [VectorStoreData] public int Int { get; set; }
    [VectorStoreData] public uint UInt { get; set; }
    [VectorStoreData] public long Long { get; set; }
    [VectorStoreData] public ulong ULong { get; set; }
    [VectorStoreData] public float Float { get; set; }
    [VectorStoreData] public double Double { get; set; }
    [VectorStoreData] public decimal Decimal { get; set; }
    [VectorStoreData] public string? String { get; set; }
    [VectorStoreData] public Guid Guid { get; set; }
    [VectorStoreData] public DateTime DateTime { get; set; }
    [VectorStoreData] public DateTimeOffset DateTimeOffset { get; set; }
    [VectorStoreData] public DateOnly DateOnly { get; set; }
    [VectorStoreData] public TimeOnly TimeOnly { get; set; }
    [VectorStoreData] public int? NullableInt { get; set; }
    [VectorStoreData] public DateTime? NullableDateTime { get; set; }
    [VectorStoreData] public string[]? Strings { get; set; }
    [VectorStoreData] public List<string>? StringList { get; set; }
    [VectorStoreData] public int[]? Ints { get; set; }
    [VectorStoreData] public List<double?>? NullableDoubles { get; set; }

    [VectorStoreVector(3)] public Embedding<float>? AsEmbedding { get; set; }
    [VectorStoreVector(3)] public float[]? AsArray { get; set; }
    [VectorStoreVector(3)] public ReadOnlyMemory<float> AsMemory { get; set; }
}

public class DataTypeTests
{
    private static AllTypes Sample(long id) => new()
    {
        Id = id,
        Bool = true,
        Byte = 250,
        SByte = -5,
        Short = -300,
        UShort = 60000,
        Int = int.MinValue,
        UInt = uint.MaxValue,
        Long = long.MaxValue,
        ULong = ulong.MaxValue,
        Float = 1.5f,
        Double = Math.PI,
        Decimal = 79228162514264337593543950335m,
        String = "ünïcödé",
        Guid = Guid.NewGuid(),
        DateTime = new DateTime(2024, 2, 29, 23, 59, 58, DateTimeKind.Utc),
        DateTimeOffset = new DateTimeOffset(2001, 1, 1, 0, 0, 0, TimeSpan.FromMinutes(-330)),
        DateOnly = new DateOnly(1999, 12, 31),
        TimeOnly = new TimeOnly(13, 14, 15, 16),
        NullableInt = null,
        NullableDateTime = new DateTime(2000, 1, 1, 0, 0, 0, DateTimeKind.Local),
        Strings = ["a", "", "c"],
        StringList = ["x"],
        Ints = [1, -2, 3],
        NullableDoubles = [1.5, null],
        AsEmbedding = new Embedding<float>(new float[] { 1, 2, 3 }),
        AsArray = [4, 5, 6],
        AsMemory = new float[] { 7, 8, 9 },
    };

    private static void ShouldMatch(AllTypes read, AllTypes expected)
    {
        read.Should().BeEquivalentTo(expected, o => o.Excluding(x => x.AsEmbedding).Excluding(x => x.AsMemory));
        read.DateTime.Kind.Should().Be(DateTimeKind.Utc);
        read.DateTimeOffset.Offset.Should().Be(expected.DateTimeOffset.Offset);
        read.AsEmbedding!.Vector.ToArray().Should().Equal(1, 2, 3);
        read.AsMemory.ToArray().Should().Equal(7, 8, 9);
    }

    [Fact]
    public async Task Every_supported_type_round_trips_in_memory_and_through_the_log_and_snapshot()
    {
        using var dir = new TempDirectory();
        var sample = Sample(1);
        var other = Sample(2);
        foreach (long threshold in new[] { long.MaxValue, 1 })
        {
            var options = new VectorIndexVectorStoreOptions { Directory = Path.Combine(dir.Path, threshold.ToString(System.Globalization.CultureInfo.InvariantCulture)), SnapshotThresholdBytes = threshold };
            using (var store = new VectorIndexVectorStore(options))
            {
                var c = store.GetCollection<long, AllTypes>("all");
                await c.EnsureCollectionExistsAsync();
                await c.UpsertAsync(sample);
                await c.UpsertAsync(other);
                ShouldMatch((await c.GetAsync(1, new RecordRetrievalOptions { IncludeVectors = true }))!, sample);
            }

            using (var store = new VectorIndexVectorStore(options))
            {
                var c = store.GetCollection<long, AllTypes>("all");
                ShouldMatch((await c.GetAsync(1, new RecordRetrievalOptions { IncludeVectors = true }))!, sample);
                ShouldMatch((await c.GetAsync(2, new RecordRetrievalOptions { IncludeVectors = true }))!, other);
                var found = await c.GetAsync(r => r.DateOnly == new DateOnly(1999, 12, 31) && r.Ints!.Contains(-2) && r.NullableInt == null, 10).CollectAsync();
                found.Should().HaveCount(2);
            }
        }
    }

    [Fact]
    public async Task Dynamic_keys_convert_between_integer_types_and_reject_others()
    {
        using var store = new VectorIndexVectorStore();
        var c = store.GetDynamicCollection("d", new VectorStoreCollectionDefinition
        {
            Properties = [new VectorStoreKeyProperty("Id", typeof(long)), new VectorStoreVectorProperty("V", typeof(ReadOnlyMemory<float>), 2)],
        });
        await c.EnsureCollectionExistsAsync();
        await c.UpsertAsync(new Dictionary<string, object?> { ["Id"] = 5L, ["V"] = new ReadOnlyMemory<float>([1, 2]) });
        (await c.GetAsync(5))!["Id"].Should().Be(5L, "an int key finds the long key 5");
        (await c.GetAsync(5UL)).Should().NotBeNull();
        await FluentActions.Awaiting(() => c.GetAsync("5")).Should().ThrowAsync<ArgumentException>();
    }

    [Fact]
    public async Task Operations_on_a_collection_deleted_meanwhile_throw_VectorStoreException()
    {
        using var store = new VectorIndexVectorStore();
        var c = store.GetCollection<int, KeyedRecord<int>>("c");
        await c.EnsureCollectionExistsAsync();
        await store.EnsureCollectionDeletedAsync("c");
        await FluentActions.Awaiting(() => c.GetAsync(1)).Should().ThrowAsync<VectorStoreException>();
    }
}
