using System.Linq.Expressions;
using Microsoft.Extensions.VectorData;

namespace VectorIndex.VectorData.Tests;

public sealed class FilterRecord
{
    [VectorStoreKey]
    public int Key { get; set; }

    [VectorStoreData]
    public string? Name { get; set; }

    [VectorStoreData]
    public int Age { get; set; }

    [VectorStoreData]
    public int? Score { get; set; }

    [VectorStoreData]
    public bool Active { get; set; }

    [VectorStoreData]
    public string[] Tags { get; set; } = [];

    [VectorStoreData]
    public List<string> Labels { get; set; } = [];

    [VectorStoreData]
    public double Weight { get; set; }

    [VectorStoreVector(4, DistanceFunction = DistanceFunction.EuclideanSquaredDistance, IndexKind = IndexKind.Flat)]
    public ReadOnlyMemory<float> Vector { get; set; }
}

public class FilterTests
{
    private static readonly string?[] s_names = ["a", "b", "c", "d", null];
    private static readonly string[] s_colors = ["red", "blue", "green"];

    private static List<FilterRecord> Records()
    {
        var random = new Random(17);
        return Enumerable.Range(0, 300).Select(i => new FilterRecord
        {
            Key = i,
            Name = s_names[random.Next(s_names.Length)],
            Age = random.Next(0, 60),
            Score = random.Next(3) == 0 ? null : random.Next(10),
            Active = random.Next(2) == 0,
            Tags = s_colors.Where(_ => random.Next(2) == 0).ToArray(),
            Labels = new[] { "x", "y", "z" }.Where(_ => random.Next(3) == 0).ToList(),
            Weight = random.NextDouble(),
            Vector = Vectors.Random(random, 4),
        }).ToList();
    }

    // Definitions equal to the attributes, with every data property indexed: the inverted-index path.
    private static VectorStoreCollectionDefinition IndexedDefinition() => new()
    {
        Properties =
        [
            new VectorStoreKeyProperty("Key", typeof(int)),
            new VectorStoreDataProperty("Name", typeof(string)) { IsIndexed = true },
            new VectorStoreDataProperty("Age", typeof(int)) { IsIndexed = true },
            new VectorStoreDataProperty("Score", typeof(int?)) { IsIndexed = true },
            new VectorStoreDataProperty("Active", typeof(bool)) { IsIndexed = true },
            new VectorStoreDataProperty("Tags", typeof(string[])) { IsIndexed = true },
            new VectorStoreDataProperty("Labels", typeof(List<string>)) { IsIndexed = true },
            new VectorStoreDataProperty("Weight", typeof(double)),
            new VectorStoreVectorProperty("Vector", typeof(ReadOnlyMemory<float>), 4)
                { DistanceFunction = DistanceFunction.EuclideanSquaredDistance, IndexKind = IndexKind.Flat },
        ],
    };

    public static IEnumerable<object[]> Filters()
    {
        string captured = "b";
        string[] names = ["a", "c"];
        var list = new List<int> { 3, 5, 7 };
        int threshold = 40;
        Expression<Func<FilterRecord, bool>>[] filters =
        [
            r => r.Age == 30,
            r => r.Age > 20 && r.Age <= threshold,
            r => r.Name == "b" || r.Age < 10,
            r => !r.Active,
            r => r.Tags.Contains("red"),
            r => r.Labels.Contains("x"),
            r => r.Name == null,
            r => r.Name != null && r.Age >= 50,
            r => r.Score == null,
            r => r.Score > 5,
            r => names.Contains(r.Name!),
            r => list.Contains(r.Age),
            r => r.Name == captured,
            r => r.Active && r.Tags.Contains("blue") && r.Age != 3,
            r => r.Weight < 0.5 && !(r.Name == "a"),
            r => r.Name == "a" && r.Score == 2,
            r => r.Name!.StartsWith('c'),
            r => r.Key < 10 || r.Key == 250,
            r => true,
        ];
        return filters.Select((f, i) => new object[] { i, f });
    }

    [Theory]
    [MemberData(nameof(Filters))]
    public async Task Filtered_get_and_search_match_linq_to_objects(int index, Expression<Func<FilterRecord, bool>> filter)
    {
        _ = index;
        var records = Records();
        var predicate = filter.Compile();
        var expected = records.Where(r =>
        {
            try
            {
                return predicate(r);
            }
            catch (NullReferenceException)
            {
                return false;
            }
        }).Select(r => r.Key).ToList();

        using var store = new VectorIndexVectorStore();
        foreach (var (name, definition) in new[] { ("plain", (VectorStoreCollectionDefinition?)null), ("indexed", IndexedDefinition()) })
        {
            var collection = store.GetCollection<int, FilterRecord>(name, definition);
            await collection.EnsureCollectionExistsAsync();
            await collection.UpsertAsync(records);

            var got = await collection.GetAsync(filter, 1000).CollectAsync();
            got.Select(r => r.Key).Should().Equal(expected, $"collection {name}");

            var query = Vectors.Random(new Random(3), 4);
            var exact = records.Where(r => expected.Contains(r.Key))
                .OrderBy(r => Vectors.SquaredEuclidean(query, r.Vector.ToArray())).Take(10).Select(r => r.Key).ToList();
            var hits = await collection.SearchAsync(query, 10, new() { Filter = filter }).CollectAsync();
            hits.Select(h => h.Record.Key).Should().Equal(exact, $"collection {name}");
        }
    }

    public static IEnumerable<object[]> DynamicFilters()
    {
        string wanted = "b";
        var pairs = new (Expression<Func<Dictionary<string, object?>, bool>> Dynamic, Func<FilterRecord, bool> Typed)[]
        {
            (r => (int)r["Age"]! > 20 && (int)r["Age"]! <= 40, r => r.Age > 20 && r.Age <= 40),
            (r => (string?)r["Name"] == wanted || !(bool)r["Active"]!, r => r.Name == wanted || !r.Active),
            (r => r["Name"] == null, r => r.Name == null),
            (r => (int?)r["Score"] > 5, r => r.Score > 5),
            (r => ((string[])r["Tags"]!).Contains("red"), r => r.Tags.Contains("red")),
            (r => ((List<string>)r["Labels"]!).Contains("y") && (int)r["Key"]! < 200, r => r.Labels.Contains("y") && r.Key < 200),
        };
        return pairs.Select((p, i) => new object[] { i, p.Dynamic, p.Typed });
    }

    [Theory]
    [MemberData(nameof(DynamicFilters))]
    public async Task Dynamic_filters_match_linq_to_objects(int index, Expression<Func<Dictionary<string, object?>, bool>> filter, Func<FilterRecord, bool> typed)
    {
        _ = index;
        var records = Records();
        var expected = records.Where(typed).Select(r => r.Key).ToList();
        using var store = new VectorIndexVectorStore();
        var typedCollection = store.GetCollection<int, FilterRecord>("c", IndexedDefinition());
        await typedCollection.EnsureCollectionExistsAsync();
        await typedCollection.UpsertAsync(records);
        var dynamicCollection = store.GetDynamicCollection("c", IndexedDefinition());

        var got = await dynamicCollection.GetAsync(filter, 1000).CollectAsync();
        got.Select(r => (int)r["Key"]!).Should().Equal(expected);
        var hits = await dynamicCollection.SearchAsync(new float[] { 0.1f, 0.2f, 0.3f, 0.4f }, 1000, new() { Filter = filter }).CollectAsync();
        hits.Select(h => (int)h.Record["Key"]!).Order().Should().Equal(expected);
    }

    [Fact]
    public async Task Filtered_get_orders_skips_and_takes()
    {
        var records = Records();
        using var store = new VectorIndexVectorStore();
        var collection = store.GetCollection<int, FilterRecord>("c");
        await collection.EnsureCollectionExistsAsync();
        await collection.UpsertAsync(records);

        var page = await collection.GetAsync(r => r.Age > 10, 7, new FilteredRecordRetrievalOptions<FilterRecord>
        {
            Skip = 3,
            OrderBy = o => o.Descending(r => r.Age).Ascending(r => r.Key),
        }).CollectAsync();
        var expected = records.Where(r => r.Age > 10).OrderByDescending(r => r.Age).ThenBy(r => r.Key).Skip(3).Take(7).Select(r => r.Key);
        page.Select(r => r.Key).Should().Equal(expected);
    }

    [Fact]
    public async Task Filtered_search_on_a_graph_returns_only_matching_records()
    {
        using var store = new VectorIndexVectorStore();
        var collection = store.GetCollection<int, KeyedRecord<int>>("g");
        await collection.EnsureCollectionExistsAsync();
        var random = new Random(4);
        await collection.UpsertAsync(Enumerable.Range(0, 1000).Select(i => new KeyedRecord<int> { Key = i, Text = (i % 10).ToString(System.Globalization.CultureInfo.InvariantCulture), Vector = Vectors.Random(random, 2) }));
        var hits = await collection.SearchAsync(new float[] { 0.3f, 0.2f }, 20, new() { Filter = r => r.Text == "7" }).CollectAsync();
        hits.Should().HaveCount(20);
        hits.Should().OnlyContain(h => h.Record.Key % 10 == 7);
    }
}
