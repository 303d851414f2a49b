namespace VectorIndex.Tests;

/// <summary>Progress reports that carry the total (BulkProgress), next to the done-count-only form they extend.</summary>
public sealed class BulkProgressTests
{
    private const int D = 8;

    [Fact]
    public void Add_range_reports_every_count_against_the_total_of_distinct_keys_ending_at_the_total()
    {
        float[] data = TestData.Uniform(1_000, D, 21);
        ulong[] keys = [.. TestData.Keys(990), .. TestData.Keys(10)]; // the last 10 rows repeat the first 10 keys
        var reports = new List<BulkProgress>();
        using var index = new HnswIndex(new HnswOptions { Dimensions = D, EfConstruction = 40 });
        index.AddRange(keys, data, new Recorder<BulkProgress>(reports), maxDegreeOfParallelism: 2);

        index.Count.Should().Be(990);
        reports.Should().NotBeEmpty();
        reports.Should().OnlyContain(r => r.Total == 990 && r.Completed >= 1 && r.Completed <= 990);
        reports.Select(r => r.Completed).Should().Contain(990);
        reports.Single(r => r.Completed == 990).Fraction.Should().Be(1);
    }

    [Fact]
    public void Under_multiple_vectors_per_key_every_row_counts_in_the_total()
    {
        float[] data = TestData.Uniform(300, D, 23);
        ulong[] keys = [.. TestData.Keys(300).Select(k => k % 100)];
        var reports = new List<BulkProgress>();
        using var index = new HnswIndex(new HnswOptions { Dimensions = D, EfConstruction = 40, MultipleVectorsPerKey = true });
        index.AddRange(keys, data, new Recorder<BulkProgress>(reports));
        index.Count.Should().Be(100);
        index.VectorCount.Should().Be(300);
        reports.Should().OnlyContain(r => r.Total == 300);
        reports.Max(r => r.Completed).Should().Be(300);
    }

    [Fact]
    public void A_null_progress_record_is_refused_and_nothing_is_added()
    {
        using var index = new HnswIndex(new HnswOptions { Dimensions = D });
        FluentActions.Invoking(() => index.AddRange(TestData.Keys(3), new float[3 * D], (IProgress<BulkProgress>)null!))
            .Should().Throw<ArgumentNullException>();
        index.Count.Should().Be(0);
    }

    [Fact]
    public void Cancelling_from_a_progress_record_keeps_what_was_added()
    {
        float[] data = TestData.Uniform(5_000, D, 22);
        using var index = new HnswIndex(new HnswOptions { Dimensions = D, EfConstruction = 20 });
        using var cts = new CancellationTokenSource();
        var reports = new List<BulkProgress>();
        var progress = new Recorder<BulkProgress>(reports, r =>
        {
            if (r.Completed >= 500)
            {
                cts.Cancel();
            }
        });
        FluentActions.Invoking(() => index.AddRange(TestData.Keys(5_000), data, progress, 2, cts.Token))
            .Should().Throw<OperationCanceledException>();
        index.Count.Should().BeInRange(500, 4_999);
        reports.Should().OnlyContain(r => r.Total == 5_000);
    }

    [Fact]
    public void Compact_reports_the_lists_it_checked_against_a_fixed_total_ending_at_it()
    {
        float[] data = TestData.Clustered(3_000, D, seed: 24);
        using var index = new HnswIndex(new HnswOptions { Dimensions = D, EfConstruction = 40 });
        index.AddRange(TestData.Keys(3_000), data, maxDegreeOfParallelism: 1);
        IndexStatistics before = index.GetStatistics();
        index.RemoveRange(TestData.Keys(200)); // 200 of 3,000: below the automatic compaction's tenth
        index.PendingRemovals.Should().Be(200);

        // One list per layer of every live node: the sum over the levels histogram, less the removed nodes' lists.
        var reports = new List<BulkProgress>();
        index.Compact(new Recorder<BulkProgress>(reports), CancellationToken.None).Should().Be(200);
        reports.Should().NotBeEmpty();
        reports.Select(r => r.Total).Distinct().Should().ContainSingle();
        int total = reports[0].Total;
        total.Should().BeInRange(2_800, before.NodesPerLevel.Select((count, level) => count * (level + 1)).Sum());
        reports.Select(r => r.Completed).Should().BeInAscendingOrder().And.OnlyHaveUniqueItems();
        reports[^1].Completed.Should().Be(total);

        reports.Clear();
        index.Compact(new Recorder<BulkProgress>(reports), CancellationToken.None).Should().Be(0);
        reports.Should().Equal(new BulkProgress(0, 0));
        FluentActions.Invoking(() => index.Compact(null!, CancellationToken.None)).Should().Throw<ArgumentNullException>();
    }

    [Fact]
    public void Fraction_of_an_empty_operation_is_one()
    {
        new BulkProgress(0, 0).Fraction.Should().Be(1);
        new BulkProgress(1, 4).Fraction.Should().Be(0.25);
    }

    /// <summary>Records every report on the reporting thread (Progress&lt;T&gt; would post them later).</summary>
    internal sealed class Recorder<T>(List<T> reports, Action<T>? onReport = null) : IProgress<T>
    {
        public void Report(T value)
        {
            lock (reports)
            {
                reports.Add(value);
            }

            onReport?.Invoke(value);
        }
    }
}
