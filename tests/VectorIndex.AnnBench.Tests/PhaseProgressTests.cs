using VectorIndex.AnnBench;

namespace VectorIndex.AnnBench.Tests;

public sealed class PhaseProgressTests
{
    private readonly ManualClock _clock = new();
    private readonly StringWriter _log = new();

    [Fact]
    public void Redirected_it_writes_a_line_every_three_seconds_and_the_final_one()
    {
        var progress = new PhaseProgress("ground truth", 10_000, "queries", _log, inPlace: false, _clock);

        // An update every 100 ms for 10 s: 100 updates.
        for (int i = 1; i <= 100; i++)
        {
            _clock.Advance(TimeSpan.FromMilliseconds(100));
            progress.Report(i * 100);
        }

        progress.Done();

        Lines().Should().Equal(
            "  ground truth: 3,000 of 10,000 queries, 3 s",
            "  ground truth: 6,000 of 10,000 queries, 6 s",
            "  ground truth: 9,000 of 10,000 queries, 9 s",
            "  ground truth: 10,000 of 10,000 queries, 10.0 s");
        _log.ToString().Should().NotContain("\r");
    }

    [Fact]
    public void On_a_terminal_it_rewrites_one_line_in_place()
    {
        var progress = new PhaseProgress("build", 2_000, "vectors", _log, inPlace: true, _clock);

        _clock.Advance(TimeSpan.FromSeconds(1));
        progress.Report(1_500);
        _clock.Advance(TimeSpan.FromSeconds(1));
        progress.Report(2_000);
        progress.Done();

        // Each update starts with '\r' and pads over the longer text before it; only the final one ends the line.
        _log.ToString().Should().Be(
            "\r  build: 1,500 of 2,000 vectors, 1 s" +
            "\r  build: 2,000 of 2,000 vectors, 2 s" +
            "\r  build: 2,000 of 2,000 vectors, 2.0 s" + Environment.NewLine);
    }

    [Fact]
    public void A_late_smaller_count_does_not_move_it_back()
    {
        // HnswIndex.AddRange reports from several threads: 500 can arrive after 900.
        var progress = new PhaseProgress("build", 1_000, "vectors", _log, inPlace: false, _clock);

        progress.Report(900);
        progress.Report(500);
        _clock.Advance(TimeSpan.FromSeconds(4));
        progress.Report(600);

        Lines().Should().Equal("  build: 900 of 1,000 vectors, 4 s");
    }

    [Fact]
    public void Advance_adds_up_counts_from_many_threads()
    {
        var progress = new PhaseProgress("sweep ef 10", 40_000, "searches", _log, inPlace: false, _clock);

        Parallel.For(0, 40_000, new ParallelOptions { MaxDegreeOfParallelism = 4 }, _ => progress.Advance());
        progress.Done();

        Lines().Should().Equal("  sweep ef 10: 40,000 of 40,000 searches, 0.0 s");
    }

    [Fact]
    public void With_the_rate_it_adds_units_per_second_so_far()
    {
        var progress = new PhaseProgress("embedding", 1_000, "texts", _log, inPlace: false, _clock, showRate: true);

        _clock.Advance(TimeSpan.FromSeconds(4));
        progress.Report(300);
        _clock.Advance(TimeSpan.FromSeconds(4));
        progress.Report(1_000);
        progress.Done();

        Lines().Should().Equal(
            "  embedding: 300 of 1,000 texts, 4 s, 75.0/s",
            "  embedding: 1,000 of 1,000 texts, 8 s, 125.0/s",
            "  embedding: 1,000 of 1,000 texts, 8.0 s, 125.0/s");
    }

    private string[] Lines() => _log.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries);

    /// <summary>A clock the test moves by hand.</summary>
    private sealed class ManualClock : TimeProvider
    {
        private long _ticks;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => _ticks;

        public void Advance(TimeSpan by) => _ticks += by.Ticks;
    }
}
