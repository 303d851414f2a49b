namespace VectorIndex.Tests;

/// <summary>
/// Every row of API.md's error table: the documented exception, and the index exactly as it was before the call.
/// </summary>
public sealed class ErrorTests : IDisposable
{
    private const int D = 8;
    private readonly float[] _data = TestData.Clustered(500, D, seed: 21);
    private readonly ulong[] _keys = TestData.Keys(500);
    private readonly HnswIndex _index;
    private readonly BruteForceIndex _exact;

    public ErrorTests()
    {
        _index = new HnswIndex(new HnswOptions { Dimensions = D, Metric = Metric.Cosine });
        _index.AddRange(_keys, _data);
        _exact = TestData.Exact(_keys, _data, D, Metric.Cosine);
    }

    public static TheoryData<string, float[]> BadVectors() => new()
    {
        { "too short", new float[D - 1] },
        { "too long", new float[D + 1] },
        { "empty", [] },
        { "NaN", [1, 2, float.NaN, 4, 5, 6, 7, 8] },
        { "+infinity", [1, 2, 3, 4, 5, 6, 7, float.PositiveInfinity] },
        { "-infinity", [float.NegativeInfinity, 2, 3, 4, 5, 6, 7, 8] },
        { "all zero under cosine", new float[D] },
    };

    /// <summary>The bad vectors of the right length (a wrong row length is a wrong total length: the next test).</summary>
    public static TheoryData<string, float[]> BadRowsOfTheRightLength()
    {
        var rows = new TheoryData<string, float[]>();
        foreach (object[] row in BadVectors())
        {
            if (((float[])row[1]).Length == D)
            {
                rows.Add((string)row[0], (float[])row[1]);
            }
        }

        return rows;
    }

    [Theory]
    [MemberData(nameof(BadVectors))]
    public void Add_rejects_a_bad_vector_and_changes_nothing(string because, float[] vector)
    {
        Snapshot before = Take();
        _index.Invoking(i => i.Add(1, vector)).Should().Throw<ArgumentException>(because).Which.ParamName.Should().Be("vector");
        _index.Invoking(i => i.Add(_keys[3], vector)).Should().Throw<ArgumentException>(because);
        _exact.Invoking(e => e.Add(1, vector)).Should().Throw<ArgumentException>(because);
        Take().Should().BeEquivalentTo(before, o => o.WithStrictOrdering());
    }

    [Theory]
    [MemberData(nameof(BadVectors))]
    public void Search_rejects_a_bad_query_and_changes_nothing(string because, float[] query)
    {
        Snapshot before = Take();
        _index.Invoking(i => i.Search(query, 3)).Should().Throw<ArgumentException>(because).Which.ParamName.Should().Be("query");
        _index.Invoking(i => i.Search(query, new SearchResult[3])).Should().Throw<ArgumentException>(because);
        _exact.Invoking(e => e.Search(query, 3)).Should().Throw<ArgumentException>(because);
        Take().Should().BeEquivalentTo(before, o => o.WithStrictOrdering());
    }

    [Fact]
    public void The_length_message_names_the_expected_and_the_actual_length()
    {
        _index.Invoking(i => i.Add(1, new float[5])).Should().Throw<ArgumentException>()
            .WithMessage("*5*").WithMessage($"*{D}*");
        _exact.Invoking(e => e.Search(new float[11], 1)).Should().Throw<ArgumentException>()
            .WithMessage("*11*").WithMessage($"*{D}*");
    }

    [Theory]
    [MemberData(nameof(BadRowsOfTheRightLength))]
    public void Add_range_with_one_bad_row_adds_nothing(string because, float[] vector)
    {
        Snapshot before = Take();
        float[] rows = [.. TestData.Uniform(3, D, 1), .. vector, .. TestData.Uniform(1, D, 2)];
        _index.Invoking(i => i.AddRange(new ulong[] { 1, 2, 3, 4, 5 }, rows)).Should().Throw<ArgumentException>(because);
        Take().Should().BeEquivalentTo(before, o => o.WithStrictOrdering());
    }

    [Theory]
    [InlineData(3, 3 * D - 1)]
    [InlineData(3, 3 * D + 1)]
    [InlineData(0, D)]
    [InlineData(2, 0)]
    public void Add_range_with_mismatched_lengths_adds_nothing(int keyCount, int floatCount)
    {
        Snapshot before = Take();
        _index.Invoking(i => i.AddRange(TestData.Keys(keyCount, 1), new float[floatCount].Select(_ => 1f).ToArray()))
            .Should().Throw<ArgumentException>().WithMessage($"*{floatCount}*");
        Take().Should().BeEquivalentTo(before, o => o.WithStrictOrdering());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(int.MinValue)]
    public void K_below_one_is_out_of_range(int k)
    {
        Snapshot before = Take();
        float[] query = TestData.Row(_data, D, 0).ToArray();
        _index.Invoking(i => i.Search(query, k)).Should().Throw<ArgumentOutOfRangeException>();
        _exact.Invoking(e => e.Search(query, k)).Should().Throw<ArgumentOutOfRangeException>();
        _index.Invoking(i => i.Search(query, Span<SearchResult>.Empty)).Should().Throw<ArgumentOutOfRangeException>();
        Take().Should().BeEquivalentTo(before, o => o.WithStrictOrdering());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-5)]
    public void A_search_ef_below_one_is_out_of_range(int ef)
    {
        float[] query = TestData.Row(_data, D, 0).ToArray();
        _index.Invoking(i => i.Search(query, 3, new SearchOptions { Ef = ef })).Should().Throw<ArgumentOutOfRangeException>();
    }

    public static TheoryData<string, HnswOptions> BadOptions() => new()
    {
        { "Dimensions", new HnswOptions { Dimensions = 0 } },
        { "Dimensions", new HnswOptions { Dimensions = -3 } },
        { "M", new HnswOptions { Dimensions = 4, M = 1 } },
        { "M", new HnswOptions { Dimensions = 4, M = HnswOptions.MaxM + 1 } },
        { "EfConstruction", new HnswOptions { Dimensions = 4, EfConstruction = 0 } },
        { "EfSearch", new HnswOptions { Dimensions = 4, EfSearch = 0 } },
        { "InitialCapacity", new HnswOptions { Dimensions = 4, InitialCapacity = -1 } },
        { "Metric", new HnswOptions { Dimensions = 4, Metric = (Metric)17 } },
    };

    [Theory]
    [MemberData(nameof(BadOptions))]
    public void Out_of_range_options_are_rejected_by_the_constructor(string parameter, HnswOptions options)
    {
        FluentActions.Invoking(() => new HnswIndex(options)).Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be(parameter);
    }

    [Fact]
    public void Brute_force_rejects_bad_dimensions_and_metric()
    {
        FluentActions.Invoking(() => new BruteForceIndex(0)).Should().Throw<ArgumentOutOfRangeException>();
        FluentActions.Invoking(() => new BruteForceIndex(3, (Metric)9)).Should().Throw<ArgumentOutOfRangeException>();
        FluentActions.Invoking(() => new HnswIndex(null!)).Should().Throw<ArgumentNullException>();
    }

    [Fact]
    public void A_short_destination_for_try_get_vector_is_rejected()
    {
        _index.Invoking(i => i.TryGetVector(_keys[0], new float[D - 1])).Should().Throw<ArgumentException>();
    }

    [Fact]
    public void Every_member_throws_object_disposed_after_dispose()
    {
        var index = new HnswIndex(new HnswOptions { Dimensions = D });
        index.Add(1, TestData.Row(_data, D, 0));
        index.Dispose();
        index.Dispose(); // twice is fine
        float[] v = TestData.Row(_data, D, 1).ToArray();

        index.Invoking(i => i.Add(2, v)).Should().Throw<ObjectDisposedException>();
        index.Invoking(i => i.AddRange(new ulong[] { 2 }, v)).Should().Throw<ObjectDisposedException>();
        index.Invoking(i => i.Remove(1)).Should().Throw<ObjectDisposedException>();
        index.Invoking(i => i.Contains(1)).Should().Throw<ObjectDisposedException>();
        index.Invoking(i => i.TryGetVector(1, new float[D])).Should().Throw<ObjectDisposedException>();
        index.Invoking(i => i.Search(v, 1)).Should().Throw<ObjectDisposedException>();
        index.Invoking(i => i.Search(v, new SearchResult[1])).Should().Throw<ObjectDisposedException>();

        var exact = new BruteForceIndex(D);
        exact.Add(1, v);
        exact.Dispose();
        exact.Invoking(e => e.Add(2, v)).Should().Throw<ObjectDisposedException>();
        exact.Invoking(e => e.Remove(1)).Should().Throw<ObjectDisposedException>();
        exact.Invoking(e => e.Search(v, 1)).Should().Throw<ObjectDisposedException>();
        exact.Invoking(e => e.Count).Should().Throw<ObjectDisposedException>();
    }

    public void Dispose()
    {
        _index.Dispose();
        _exact.Dispose();
    }

    private Snapshot Take()
    {
        var vectors = new List<float[]>();
        foreach (ulong key in _keys)
        {
            var v = new float[D];
            _index.TryGetVector(key, v).Should().BeTrue();
            vectors.Add(v);
        }

        var results = new List<SearchResult[]>();
        for (int i = 0; i < 20; i++)
        {
            results.Add([.. _index.Search(TestData.Row(_data, D, i * 11), 5)]);
        }

        return new Snapshot(_index.Count, _index.Contains(1), _exact.Count, vectors, results);
    }

    private sealed record Snapshot(int Count, bool HasKeyOne, int ExactCount, List<float[]> Vectors, List<SearchResult[]> Results);
}
