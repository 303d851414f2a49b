using System.Collections.Concurrent;
using System.Diagnostics;
using Xunit.Abstractions;

namespace VectorIndex.Orleans.Tests;

/// <summary>Tests 2 and 3: a silo process killed while queries run.</summary>
public class FailoverTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(2);

    // Generous: the client-side bound on a query is its deadline plus the slack of a retry; this only checks that no
    // query hangs past its deadline (a hang would be the default 30 s response timeout).
    private static readonly TimeSpan DeadlineBound = Deadline + TimeSpan.FromSeconds(1.5);

    [Fact(Timeout = 180_000)]
    public async Task One_replica_partial_answers_are_reported_as_partial_and_full_coverage_returns()
    {
        var (scenario, before, during) = await KillDuringQueriesAsync(replication: 1);
        foreach (var (elapsed, index, result) in during)
        {
            elapsed.Should().BeLessThan(DeadlineBound);
            CheckHonest(scenario, before[index], result);
        }
    }

    [Fact(Timeout = 180_000)]
    public async Task Two_replicas_keep_full_coverage_while_a_silo_dies()
    {
        var (_, before, during) = await KillDuringQueriesAsync(replication: 2);
        foreach (var (elapsed, index, result) in during)
        {
            elapsed.Should().BeLessThan(DeadlineBound);
            result.IsComplete.Should().BeTrue();
            result.Hits.Select(h => h.Key).Should().Equal(before[index].Hits.Select(h => h.Key));
        }
    }

    // A complete answer is the answer; a partial one names its missing shards and holds only keys of the others.
    private static void CheckHonest(Scenario scenario, ShardedSearchResult before, ShardedSearchResult result)
    {
        result.ShardCount.Should().Be(scenario.ShardCount);
        (result.ShardsAnswered + result.MissingShards.Count).Should().Be(result.ShardCount);
        if (result.IsComplete)
        {
            result.Hits.Select(h => h.Key).Should().Equal(before.Hits.Select(h => h.Key));
            return;
        }

        var missing = result.MissingShards.ToHashSet();
        // (Empty when no shard answered: OnlyContain would refuse an empty list.)
        result.Hits.Where(h => missing.Contains(ShardRouting.ShardOf(h.Key, scenario.ShardCount))).Should().BeEmpty();
        var expected = before.Hits.Where(h => !missing.Contains(ShardRouting.ShardOf(h.Key, scenario.ShardCount))).Select(h => h.Key);
        result.Hits.Select(h => h.Key).Should().StartWith(expected);
    }

    private async Task<(Scenario, ShardedSearchResult[], List<(TimeSpan, int, ShardedSearchResult)>)> KillDuringQueriesAsync(int replication)
    {
        // Silos in their own processes, killed for real (an in-process kill is a fast stop); one shared replica folder
        // (a network disk), so that with one replica a shard re-activated elsewhere finds its files.
        await using var cluster = await TestClusterHandle.StartAsync(silos: 3, outOfProcess: true);
        var scenario = await Scenario.CreateAsync(cluster, "kill-r" + replication, shards: 6, replication: replication);
        var before = await scenario.AnswersAsync();
        before.Should().OnlyContain(a => a.IsComplete);
        double recallBefore = scenario.Recall(before);

        var victim = cluster.Cluster.SecondarySilos[0];
        var hosted = new List<string>();
        for (int s = 0; s < scenario.ShardCount; s++)
        {
            for (int r = 0; r < replication; r++)
            {
                if ((await TestClusterHandle.RetryAsync(() => scenario.Collection.Replica(s, r).GetStatusAsync())).Silo == victim.SiloAddress.ToString())
                {
                    hosted.Add($"{s}/r{r}");
                }
            }
        }

        hosted.Should().NotBeEmpty("the victim silo hosts replicas");
        output.WriteLine($"victim {victim.SiloAddress} hosts {string.Join(", ", hosted)}");

        var during = new ConcurrentQueue<(TimeSpan, int, ShardedSearchResult)>();
        using var stop = new CancellationTokenSource();
        var options = new ShardedSearchOptions { Ef = Scenario.Ef, Deadline = Deadline, ReplicaTimeout = TimeSpan.FromMilliseconds(300) };
        var clock = Stopwatch.StartNew();
        var firstFull = TimeSpan.Zero;
        TimeSpan killedAt = TimeSpan.Zero;
        var workers = Enumerable.Range(0, 4).Select(w => Task.Run(async () =>
        {
            for (int i = w; !stop.IsCancellationRequested; i += 4)
            {
                int index = i % scenario.Queries.Length;
                var started = Stopwatch.GetTimestamp();
                var result = await scenario.Collection.SearchAsync(scenario.Queries[index], Scenario.K, options);
                during.Enqueue((Stopwatch.GetElapsedTime(started), index, result));
            }
        })).ToArray();

        await Task.Delay(500);
        killedAt = clock.Elapsed;
        await TestClusterHandle.KillProcessAsync(victim);
        var after = await scenario.WaitForFullCoverageAsync(TimeSpan.FromSeconds(60));
        firstFull = clock.Elapsed - killedAt;
        await Task.Delay(500); // a few more queries with full coverage
        await stop.CancelAsync();
        await Task.WhenAll(workers);

        var list = during.ToList();
        foreach (var (e, i, r) in list.Where(x => !x.Item3.IsComplete))
        {
            output.WriteLine($"partial: query {i} {e.TotalMilliseconds:F0} ms answered {r.ShardsAnswered} missing [{string.Join(",", r.MissingShards)}] failovers {r.Failovers}");
        }

        output.WriteLine($"R={replication}: {list.Count} queries during the kill, {list.Count(x => !x.Item3.IsComplete)} partial, {list.Count(x => x.Item1.TotalMilliseconds > 500)} over 500 ms, worst {list.Max(x => x.Item1).TotalMilliseconds:F0} ms; full coverage {firstFull.TotalSeconds:F1} s after the kill");
        scenario.Recall(after).Should().Be(recallBefore, "recall after recovery equals recall before");
        list.Should().NotBeEmpty();
        return (scenario, before, list);
    }
}
