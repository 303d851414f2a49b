namespace VectorIndex.Tests;

/// <summary>
/// Same seed and single-threaded calls: the same graph, link for link, and the same results, also when removals make
/// compactions run (their repair uses every core).
/// </summary>
public sealed class DeterminismTests
{
    private const int D = 32;

    [Fact]
    public void The_same_seed_and_order_give_identical_graphs_and_results()
    {
        float[] data = TestData.Clustered(3_000, D, seed: 31);
        ulong[] keys = TestData.Keys(3_000);
        using HnswIndex a = Build(data, keys, seed: 5);
        using HnswIndex b = Build(data, keys, seed: 5);

        Links(a).Should().Equal(Links(b));
        float[] queries = TestData.Clustered(100, D, seed: 32);
        for (int i = 0; i < 100; i++)
        {
            a.Search(TestData.Row(queries, D, i), 10).Should().Equal(b.Search(TestData.Row(queries, D, i), 10));
        }
    }

    [Fact]
    public void The_same_seed_and_the_same_adds_and_removes_give_the_same_file_though_compaction_runs_on_all_cores()
    {
        float[] data = TestData.Clustered(6_000, D, seed: 35);
        ulong[] keys = TestData.Keys(6_000);

        byte[] BuildAndSave()
        {
            using var index = new HnswIndex(new HnswOptions { Dimensions = D, M = 8, EfConstruction = 64, Seed = 5 });
            for (int row = 0; row < 5_000; row++)
            {
                index.Add(keys[row], TestData.Row(data, D, row));
            }

            // Removals reach the automatic threshold several times, then an explicit compaction, a replacement and adds.
            for (int row = 0; row < 5_000; row += 3)
            {
                index.Remove(keys[row]);
            }

            index.Add(keys[1], TestData.Row(data, D, 5_999));
            for (int row = 5_000; row < 5_900; row++)
            {
                index.Add(keys[row], TestData.Row(data, D, row));
            }

            index.Compact();
            using var stream = new MemoryStream();
            index.Save(stream);
            return stream.ToArray();
        }

        byte[] first = BuildAndSave();
        for (int run = 0; run < 3; run++)
        {
            BuildAndSave().AsSpan().SequenceEqual(first).Should().BeTrue($"run {run} wrote the same bytes as the first");
        }
    }

    [Fact]
    public void A_different_seed_gives_a_different_graph()
    {
        float[] data = TestData.Clustered(3_000, D, seed: 33);
        ulong[] keys = TestData.Keys(3_000);
        using HnswIndex a = Build(data, keys, seed: 5);
        using HnswIndex b = Build(data, keys, seed: 6);
        Links(a).Should().NotEqual(Links(b));
    }

    [Fact]
    public void Levels_follow_the_papers_distribution()
    {
        float[] data = TestData.Uniform(20_000, 2, 34);
        using var index = new HnswIndex(new HnswOptions { Dimensions = 2, M = 16, EfConstruction = 8 });
        index.AddRange(TestData.Keys(20_000), data);
        int above0 = Enumerable.Range(0, index.Graph.NodeCount).Count(id => index.Graph.LevelOf(id) > 0);

        // P(level >= 1) = exp(-1 / mL) = 1 / M.
        ((double)above0 / 20_000).Should().BeApproximately(1.0 / 16, 0.01);
    }

    private static HnswIndex Build(float[] data, ulong[] keys, int seed)
    {
        var index = new HnswIndex(new HnswOptions { Dimensions = D, M = 8, EfConstruction = 64, Seed = seed });
        for (int i = 0; i < keys.Length; i++)
        {
            index.Add(keys[i], TestData.Row(data, D, i));
        }

        return index;
    }

    private static List<int> Links(HnswIndex index)
    {
        var all = new List<int>();
        var buffer = new int[index.Graph.M0];
        for (int id = 0; id < index.Graph.NodeCount; id++)
        {
            all.Add(-1 - index.Graph.LevelOf(id));
            for (int level = 0; level <= index.Graph.LevelOf(id); level++)
            {
                int count = index.Graph.ReadLinks(id, level, buffer);
                all.AddRange(buffer.AsSpan(0, count).ToArray());
                all.Add(-100);
            }
        }

        return all;
    }
}
