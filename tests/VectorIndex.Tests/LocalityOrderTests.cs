using VectorIndex.Graph;

namespace VectorIndex.Tests;

/// <summary>
/// A bulk add into an empty index builds its graph aside and stores it in locality order (HnswIndex.TryBuildAside):
/// the same graph, renumbered so that a node's neighbours sit near it. <see cref="HnswOptions.LocalityOrderMinimum"/>
/// is lowered here so that small indexes take that path.
/// </summary>
public class LocalityOrderTests
{
    private const int D = 16;

    private static HnswOptions Options(bool aside, Quantization quantization = Quantization.None) => new()
    {
        Dimensions = D,
        EfConstruction = 64,
        Quantization = quantization,
        QuantizationTrainingSize = 1_000,
        LocalityOrderMinimum = aside ? 1_000 : int.MaxValue,
    };

    [Fact]
    public void The_graph_built_aside_answers_every_search_as_the_one_built_in_place()
    {
        float[] data = TestData.Uniform(3_000, D, 71), queries = TestData.Uniform(200, D, 72);
        ulong[] keys = TestData.Keys(3_000);
        using var inPlace = new HnswIndex(Options(aside: false));
        using var aside = new HnswIndex(Options(aside: true));
        inPlace.AddRange(keys, data, maxDegreeOfParallelism: 1);
        aside.AddRange(keys, data, maxDegreeOfParallelism: 1);

        // One thread: the same levels and links, so the same walk; only the node numbers differ.
        aside.Graph.LevelState.Should().Be(inPlace.Graph.LevelState, "the level generator goes on from where the build left it");
        LayerSizes(aside.Graph).Should().Equal(LayerSizes(inPlace.Graph));
        for (int i = 0; i < 200; i++)
        {
            aside.Search(TestData.Row(queries, D, i), 10, new SearchOptions { Ef = 32 })
                .Should().Equal(inPlace.Search(TestData.Row(queries, D, i), 10, new SearchOptions { Ef = 32 }));
        }

        GraphInvariants.Check(aside);
        aside.Count.Should().Be(3_000);
        foreach (ulong key in keys)
        {
            aside.Contains(key).Should().BeTrue();
        }
    }

    [Fact]
    public void Neighbours_are_stored_near_each_other()
    {
        // Rows arrive in random cluster order: inserted in place, a node's neighbours are anywhere in the index.
        float[] data = TestData.Clustered(6_000, D, seed: 73);
        ulong[] keys = TestData.Keys(6_000);
        using var inPlace = new HnswIndex(Options(aside: false));
        using var aside = new HnswIndex(Options(aside: true));
        inPlace.AddRange(keys, data, maxDegreeOfParallelism: 2);
        aside.AddRange(keys, data, maxDegreeOfParallelism: 2);

        double scattered = BlocksPerList(inPlace.Graph), local = BlocksPerList(aside.Graph);
        local.Should().BeLessThan(scattered * 0.75, $"neighbour lists touch {local:F1} blocks of 64 nodes in locality order, {scattered:F1} in insertion order");
    }

    [Fact]
    public void Quantised_index_built_aside_fits_its_codes_and_keeps_its_recall()
    {
        float[] data = TestData.Clustered(4_000, D, seed: 74), queries = TestData.Clustered(200, D, seed: 75);
        ulong[] keys = TestData.Keys(4_000);
        using var index = new HnswIndex(Options(aside: true, Quantization.Int4));
        index.AddRange(keys, data);
        index.IsQuantizationTrained.Should().BeTrue();
        using BruteForceIndex exact = TestData.Exact(keys, data, D, Metric.L2Squared);
        TestData.Recall(index, exact, queries, D, 10, new SearchOptions { Ef = 64 }).Should().BeGreaterThan(0.95);
    }

    [Fact]
    public void Several_vectors_per_key_are_all_taken()
    {
        float[] data = TestData.Clustered(3_000, D, seed: 76);
        ulong[] keys = [.. TestData.Keys(3_000).Select(k => k / 3)];
        using var index = new HnswIndex(Options(aside: true) with { MultipleVectorsPerKey = true });
        index.AddRange(keys, data);
        index.Count.Should().Be(keys.Distinct().Count());
        index.VectorCount.Should().Be(3_000);
        for (int row = 0; row < 3_000; row += 97)
        {
            index.Search(TestData.Row(data, D, row), 1)[0].Key.Should().Be(keys[row]);
        }

        GraphInvariants.Check(index);
    }

    [Fact]
    public void Searches_meanwhile_find_the_index_empty_then_find_every_vector()
    {
        float[] data = TestData.Uniform(3_000, D, 77);
        ulong[] keys = TestData.Keys(3_000);
        using var index = new HnswIndex(Options(aside: true));
        var seenDuringBuild = new List<int>();
        index.AddRange(keys, data, new BulkProgressTests.Recorder<BulkProgress>([], _ =>
        {
            lock (seenDuringBuild)
            {
                seenDuringBuild.Add(index.Search(TestData.Row(data, D, 0), 5).Count);
            }
        }));
        seenDuringBuild.Should().NotBeEmpty().And.OnlyContain(found => found == 0);
        for (int row = 0; row < 3_000; row += 101)
        {
            index.Search(TestData.Row(data, D, row), 1)[0].Key.Should().Be(keys[row]);
        }
    }

    [Fact]
    public void An_add_that_comes_first_makes_the_bulk_add_insert_in_place()
    {
        float[] data = TestData.Uniform(3_001, D, 78);
        ulong[] keys = TestData.Keys(3_001);
        using var index = new HnswIndex(Options(aside: true));
        int added = 0;
        index.AddRange(keys.AsMemory(0, 3_000), data.AsMemory(0, 3_000 * D), new BulkProgressTests.Recorder<BulkProgress>([], _ =>
        {
            if (Interlocked.Exchange(ref added, 1) == 0)
            {
                index.Add(keys[3_000], TestData.Row(data, D, 3_000));
            }
        }), maxDegreeOfParallelism: 2);
        index.Count.Should().Be(3_001);
        foreach (ulong key in keys)
        {
            index.Contains(key).Should().BeTrue();
        }

        GraphInvariants.Check(index);
    }

    [Fact]
    public void Cancelled_bulk_add_keeps_what_was_built_aside()
    {
        float[] data = TestData.Uniform(4_000, D, 79);
        ulong[] keys = TestData.Keys(4_000);
        using var index = new HnswIndex(Options(aside: true));
        using var cts = new CancellationTokenSource();
        var progress = new BulkProgressTests.Recorder<BulkProgress>([], r =>
        {
            if (r.Completed >= 1_000)
            {
                cts.Cancel();
            }
        });
        FluentActions.Invoking(() => index.AddRange(keys, data, progress, 2, cts.Token)).Should().Throw<OperationCanceledException>();
        index.Count.Should().BeInRange(1_000, 3_999);
        GraphInvariants.Check(index);
        int found = 0;
        for (int row = 0; row < 4_000; row++)
        {
            if (index.Contains(keys[row]))
            {
                index.Search(TestData.Row(data, D, row), 1)[0].Key.Should().Be(keys[row]);
                found++;
            }
        }

        found.Should().Be(index.Count);
    }

    [Fact]
    public void A_merge_that_inserts_into_an_empty_index_builds_aside_too()
    {
        float[] data = TestData.Clustered(3_000, D, seed: 80);
        ulong[] keys = TestData.Keys(3_000);
        using var other = new HnswIndex(new HnswOptions { Dimensions = D, Metric = Metric.Cosine, EfConstruction = 64 });
        other.AddRange(keys, data);
        other.RemoveRange(keys.AsSpan(0, 100)).Should().Be(100); // pending a compaction: no graph copy, an insertion
        using var index = new HnswIndex(Options(aside: true) with { Metric = Metric.Cosine });
        index.AddFrom(other).Should().Be(2_900);

        index.Count.Should().Be(2_900);
        GraphInvariants.Check(index);
        float[] mine = new float[D], theirs = new float[D];
        for (int row = 100; row < 3_000; row++)
        {
            index.TryGetVector(keys[row], mine).Should().BeTrue();
            other.TryGetVector(keys[row], theirs).Should().BeTrue();
            mine.Should().Equal(theirs, "stored vectors are copied as they are, not normalised again");
        }

        for (int row = 100; row < 3_000; row += 103)
        {
            index.Search(TestData.Row(data, D, row), 1)[0].Key.Should().Be(keys[row]);
        }
    }

    /// <summary>The nodes on each layer.</summary>
    private static int[] LayerSizes(HnswGraph g) =>
        [.. Enumerable.Range(0, g.MaxLevel + 1).Select(level => Enumerable.Range(0, g.NodeCount).Count(id => g.LevelOf(id) >= level))];

    /// <summary>The mean number of distinct blocks of 64 consecutive node ids a layer-0 list links into: what a walk's hop touches.</summary>
    private static double BlocksPerList(HnswGraph g)
    {
        var links = new int[g.M0];
        long blocks = 0;
        for (int id = 0; id < g.NodeCount; id++)
        {
            int count = g.ReadLinks(id, 0, links);
            blocks += links.AsSpan(0, count).ToArray().Select(e => e / 64).Distinct().Count();
        }

        return (double)blocks / g.NodeCount;
    }
}
