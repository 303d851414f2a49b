using FsCheck;
using FsCheck.Xunit;

namespace VectorIndex.Tests;

/// <summary><see cref="BruteForceIndex"/> against a naive double-precision sort of all distances.</summary>
public sealed class BruteForceTests
{
    [Property(MaxTest = 60)]
    public void Search_equals_a_full_sort_of_the_distances(PositiveInt seed, PositiveInt countSeed, PositiveInt kSeed)
    {
        int n = 1 + (countSeed.Get % 200);
        int d = 1 + (seed.Get % 37);
        int k = 1 + (kSeed.Get % 30);
        float[] data = TestData.Uniform(n, d, seed.Get);
        float[] query = TestData.Uniform(1, d, seed.Get + 1);
        using var exact = new BruteForceIndex(d);
        for (int i = 0; i < n; i++)
        {
            exact.Add((ulong)i, TestData.Row(data, d, i));
        }

        double[] distances = [.. Enumerable.Range(0, n).Select(i => Enumerable.Range(0, d).Sum(j => Math.Pow((double)data[(i * d) + j] - query[j], 2)))];
        IReadOnlyList<SearchResult> results = exact.Search(query, k);
        results.Should().HaveCount(Math.Min(k, n));
        double[] sorted = [.. distances.Order()];
        for (int i = 0; i < results.Count; i++)
        {
            results[i].Distance.Should().BeApproximately((float)sorted[i], 1e-4f);
            distances[(int)results[i].Key].Should().BeApproximately(sorted[i], 1e-4);
        }
    }

    [Fact]
    public void Remove_moves_the_last_row_without_losing_a_vector()
    {
        float[] data = TestData.Uniform(100, 5, 61);
        using var exact = new BruteForceIndex(5);
        for (int i = 0; i < 100; i++)
        {
            exact.Add((ulong)i, TestData.Row(data, 5, i));
        }

        for (int i = 0; i < 100; i += 2)
        {
            exact.Remove((ulong)i).Should().BeTrue();
        }

        exact.Remove(0).Should().BeFalse();
        exact.Count.Should().Be(50);
        for (int i = 1; i < 100; i += 2)
        {
            exact.Search(TestData.Row(data, 5, i), 1).Single().Should().Be(new SearchResult((ulong)i, 0f));
        }
    }

    [Fact]
    public void Add_on_an_existing_key_replaces_and_the_filter_applies()
    {
        using var exact = new BruteForceIndex(2, Metric.Cosine);
        exact.Add(1, [1, 0]);
        exact.Add(2, [0, 1]);
        exact.Add(1, [0, 2]);
        exact.Count.Should().Be(2);
        exact.Search([0, 1], 2).Select(r => r.Distance).Should().Equal(0f, 0f);
        exact.Search([0, 1], 2, new SearchOptions { Filter = k => k == 2 }).Should().Equal(new SearchResult(2, 0f));
    }
}
