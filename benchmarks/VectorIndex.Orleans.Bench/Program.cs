using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Configuration;
using Orleans.Runtime;
using Orleans.TestingHost;
using VectorIndex;
using VectorIndex.Orleans;
using VectorIndex.Orleans.SiloHost;

// Usage: dotnet run -c Release --project benchmarks/VectorIndex.Orleans.Bench -- [count] [dimensions] [shards] [silos]
// Defaults: 30,000 clustered vectors of 32 dimensions, 4 shards, 2 silos (in one process, sharing the 2 cores).
// Then a failover run with 3 out-of-process silos (a real process kill). Prints markdown tables.
int count = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 30_000;
int dims = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 32;
int shards = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 4;
int silos = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 2;
const int K = 10, Queries = 300, EfConstruction = 100;
int[] efs = [10, 16, 32, 64, 128];

var random = new Random(42);
var centres = Enumerable.Range(0, 50).Select(_ => Gaussian(random, dims, 1.0)).ToArray();
float[] Point() => Add(centres[random.Next(centres.Length)], Gaussian(random, dims, 0.3));
var vectors = Enumerable.Range(0, count).Select(_ => Point()).ToArray();
var queries = Enumerable.Range(0, Queries).Select(_ => Point()).ToArray();
var keys = Enumerable.Range(0, count).Select(i => (ulong)i).ToArray();
Console.WriteLine($"# VectorIndex.Orleans bench: {count:N0} x {dims}, {shards} shards, {silos} silos, k {K}, {Queries} queries, efConstruction {EfConstruction}, {Environment.ProcessorCount} cores");

using var exact = new BruteForceIndex(dims);
for (int i = 0; i < count; i++)
{
    exact.Add((ulong)i, vectors[i]);
}

var truth = queries.Select(q => exact.Search(q, K).Select(r => r.Key).ToHashSet()).ToArray();
double Recall(IEnumerable<ulong>[] found) => found.Select((f, i) => f.Count(truth[i].Contains)).Sum() / (double)(K * Queries);

// One index.
var options = new HnswOptions { Dimensions = dims, EfConstruction = EfConstruction };
var sw = Stopwatch.StartNew();
using var single = new HnswIndex(options);
single.AddRange(keys, vectors.SelectMany(v => v).ToArray());
Console.WriteLine($"one index built in {sw.Elapsed.TotalSeconds:F1} s (all cores)");

// In-process shards: the same routing, one index per shard, the same merge. Each shard gets its keys one by one in
// key order, as the Orleans replicas do (batches in key order, applied in sequence): the same seed and the same calls
// give the same graph, so the two recall columns must agree exactly.
sw.Restart();
var local = Enumerable.Range(0, shards).Select(_ => new HnswIndex(options)).ToArray();
foreach (var key in keys)
{
    local[ShardRouting.ShardOf(key, shards)].Add(key, vectors[key]);
}

Console.WriteLine($"{shards} in-process shards built in {sw.Elapsed.TotalSeconds:F1} s (one thread, one add at a time)");
IEnumerable<ulong> LocalSearch(float[] q, int ef) =>
    local.SelectMany(s => s.Search(q, K, new SearchOptions { Ef = ef })).OrderBy(r => r.Distance).Take(K).Select(r => r.Key);

// Orleans-hosted shards.
string dataPath = Path.Combine(Path.GetTempPath(), "vi-orleans-bench-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
var cluster = await StartClusterAsync(silos, dataPath, outOfProcess: false);
var collection = new ShardedCollection(cluster.Client, "bench");
await collection.CreateAsync(new ShardedCollectionDefinition { Dimensions = dims, ShardCount = shards, EfConstruction = EfConstruction });
sw.Restart();
for (int start = 0; start < count; start += 1000)
{
    int end = Math.Min(count, start + 1000);
    await collection.WriteAsync(Enumerable.Range(start, end - start).Select(i => new ShardWrite { Key = (ulong)i, Vector = vectors[i] }));
}

double loadSeconds = sw.Elapsed.TotalSeconds;
Console.WriteLine($"Orleans shards loaded in {loadSeconds:F1} s ({count / loadSeconds:N0} records/s, batches of 1,000, one thread per shard replica, log flushed per batch)");

Console.WriteLine();
Console.WriteLine("| ef | recall one index | recall in-process shards | recall Orleans shards | CPU/query one index (us) | CPU/query in-process shards (us) | CPU/query Orleans shards, client and silos (us) | latency/query Orleans, 1 in flight (us) |");
Console.WriteLine("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
foreach (int ef in efs)
{
    var singleFound = queries.Select(q => single.Search(q, K, new SearchOptions { Ef = ef }).Select(r => r.Key)).ToArray();
    var localFound = queries.Select(q => LocalSearch(q, ef).ToArray().AsEnumerable()).ToArray();
    var orleansFound = new IEnumerable<ulong>[Queries];
    for (int i = 0; i < Queries; i++)
    {
        var result = await collection.SearchAsync(queries[i], K, new ShardedSearchOptions { Ef = ef, Deadline = TimeSpan.FromSeconds(30), ReplicaTimeout = TimeSpan.FromSeconds(30) });
        if (!result.IsComplete)
        {
            throw new InvalidOperationException("A benchmark query was partial.");
        }

        orleansFound[i] = result.Hits.Select(h => h.Key).ToArray();
    }

    double cpuSingle = CpuMicros(() => { foreach (var q in queries) { single.Search(q, K, new SearchOptions { Ef = ef }); } });
    double cpuLocal = CpuMicros(() => { foreach (var q in queries) { _ = LocalSearch(q, ef).ToArray(); } });
    var me = Process.GetCurrentProcess();
    me.Refresh();
    var cpuBefore = me.TotalProcessorTime;
    var wall = Stopwatch.StartNew();
    foreach (var q in queries)
    {
        await collection.SearchAsync(q, K, new ShardedSearchOptions { Ef = ef });
    }

    double orleansMicros = wall.Elapsed.TotalMicroseconds / Queries;
    me.Refresh();
    double cpuOrleans = (me.TotalProcessorTime - cpuBefore).TotalMicroseconds / Queries;
    Console.WriteLine($"| {ef} | {Recall(singleFound):F4} | {Recall(localFound):F4} | {Recall(orleansFound):F4} | {cpuSingle:F0} | {cpuLocal:F0} | {cpuOrleans:F0} | {orleansMicros:F0} |");
}

// Latency percentiles at 1 and 16 queries in flight (ef 64), and the in-process shards' wall time for comparison.
Console.WriteLine();
Console.WriteLine("| queries in flight | p50 (ms) | p99 (ms) | queries/s | in-process shards, same queries, p50 (ms) |");
Console.WriteLine("| ---: | ---: | ---: | ---: | ---: |");
foreach (int inFlight in new[] { 1, 16 })
{
    var latencies = new List<double>();
    var wall = Stopwatch.StartNew();
    int next = -1;
    await Task.WhenAll(Enumerable.Range(0, inFlight).Select(async _ =>
    {
        int i;
        while ((i = Interlocked.Increment(ref next)) < Queries * 2)
        {
            var t = Stopwatch.GetTimestamp();
            await collection.SearchAsync(queries[i % Queries], K, new ShardedSearchOptions { Ef = 64 });
            lock (latencies)
            {
                latencies.Add(Stopwatch.GetElapsedTime(t).TotalMilliseconds);
            }
        }
    }));
    double qps = Queries * 2 / wall.Elapsed.TotalSeconds;
    var localLatencies = queries.Select(q => { var t = Stopwatch.GetTimestamp(); _ = LocalSearch(q, 64).ToArray(); return Stopwatch.GetElapsedTime(t).TotalMilliseconds; }).ToList();
    Console.WriteLine($"| {inFlight} | {Percentile(latencies, 0.5):F2} | {Percentile(latencies, 0.99):F2} | {qps:N0} | {Percentile(localLatencies, 0.5):F2} |");
}

// Write throughput with flushes: every batch is acknowledged after its log flush.
Console.WriteLine();
Console.WriteLine("| replication | batch | records/s | batches/s |");
Console.WriteLine("| ---: | ---: | ---: | ---: |");
foreach (int replication in new[] { 1, 2 })
{
    var writes = new ShardedCollection(cluster.Client, "writes-r" + replication);
    await writes.CreateAsync(new ShardedCollectionDefinition { Dimensions = dims, ShardCount = shards, ReplicationFactor = replication, EfConstruction = EfConstruction });
    foreach (int batch in new[] { 1, 100, 1000 })
    {
        int records = batch == 1 ? 500 : 10_000;
        var w = Stopwatch.StartNew();
        for (int start = 0; start < records; start += batch)
        {
            await writes.WriteAsync(Enumerable.Range(start, batch).Select(i => new ShardWrite { Key = (ulong)(i + (batch * 100_000)), Vector = vectors[i % count] }));
        }

        Console.WriteLine($"| {replication} | {batch:N0} | {records / w.Elapsed.TotalSeconds:N0} | {records / batch / w.Elapsed.TotalSeconds:N0} |");
    }
}

// Recovery of a replica that lost its folder: copied from a peer's snapshot (files, no re-insertion) and caught up from
// its log tail, against re-inserting the shard's records one by one (what the copy did before, and what a rebuild costs).
{
    var copied = new ShardedCollection(cluster.Client, "copy");
    await copied.CreateAsync(new ShardedCollectionDefinition { Dimensions = dims, ShardCount = shards, ReplicationFactor = 2, EfConstruction = EfConstruction });
    for (int start = 0; start < count; start += 1000)
    {
        await copied.WriteAsync(Enumerable.Range(start, Math.Min(1000, count - start)).Select(i => new ShardWrite { Key = (ulong)i, Vector = vectors[i] }));
    }

    var target = copied.Replica(0, 1);
    var before = await target.GetStatusAsync();
    var rebuild = Stopwatch.StartNew();
    using (var again = new HnswIndex(new HnswOptions { Dimensions = dims, EfConstruction = EfConstruction }))
    {
        for (int i = 0; i < count; i++)
        {
            if (ShardRouting.ShardOf((ulong)i, shards) == 0)
            {
                again.Add((ulong)i, vectors[i]);
            }
        }
    }

    rebuild.Stop();
    string folder = Path.Combine(dataPath, Uri.EscapeDataString("copy"), "0", "r1");
    Directory.Delete(folder, recursive: true);
    if (Directory.Exists(folder + ".previous"))
    {
        Directory.Delete(folder + ".previous", recursive: true);
    }

    await target.DeactivateAsync();
    var recovery = Stopwatch.StartNew();
    ReplicaStatus? after = null;
    while (recovery.Elapsed < TimeSpan.FromSeconds(120))
    {
        var statuses = await copied.Sequencer(0).SyncAsync();
        if (statuses[1] is { Ready: true, NeedsCopy: false } s && s.Epoch > before.Epoch)
        {
            after = s;
            break;
        }

        await Task.Delay(20);
    }

    recovery.Stop();
    Console.WriteLine();
    Console.WriteLine($"| recovery of a replica that lost its folder ({before.Count:N0} records) | seconds | bytes copied |");
    Console.WriteLine("| --- | ---: | ---: |");
    Console.WriteLine(after is null
        ? "| snapshot copy + log tail | not ready after 120 s | |"
        : $"| snapshot copy + log tail, until ready | {recovery.Elapsed.TotalSeconds:F2} | {after.CopiedBytes:N0} |");
    Console.WriteLine($"| re-inserting its records one by one (one index, this process) | {rebuild.Elapsed.TotalSeconds:F2} | |");
}

await cluster.StopAllSilosAsync();
await cluster.DisposeAsync();

// Failover: 3 silos in their own processes, R = 1, one shared replica folder; kill one and time detection (membership
// shows it dead), re-activation (every replica that was on it answers from another silo) and the first full answer.
Console.WriteLine();
var failover = await StartClusterAsync(3, dataPath + "-failover", outOfProcess: true);
var fc = new ShardedCollection(failover.Client, "failover");
await fc.CreateAsync(new ShardedCollectionDefinition { Dimensions = dims, ShardCount = 6, EfConstruction = EfConstruction });
for (int start = 0; start < 5000; start += 1000)
{
    await fc.WriteAsync(Enumerable.Range(start, 1000).Select(i => new ShardWrite { Key = (ulong)i, Vector = vectors[i] }));
}

var victim = failover.SecondarySilos[0];
var moved = new List<int>();
for (int s = 0; s < 6; s++)
{
    if ((await fc.Replica(s, 0).GetStatusAsync()).Silo == victim.SiloAddress.ToString())
    {
        moved.Add(s);
    }
}

var management = failover.Client.GetGrain<IManagementGrain>(0);
var process = (Process)typeof(StandaloneSiloHandle).GetProperty("Process", System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.NonPublic)!.GetValue(victim)!;
var clock = Stopwatch.StartNew();
process.Kill(entireProcessTree: true);
TimeSpan? detected = null, reactivated = null, full = null, firstPartial = null;
while (clock.Elapsed < TimeSpan.FromSeconds(60) && (detected is null || reactivated is null || full is null))
{
    try
    {
        if (detected is null)
        {
            var hosts = await management.GetHosts(onlyActive: true).WaitAsync(TimeSpan.FromSeconds(1));
            if (!hosts.ContainsKey(victim.SiloAddress))
            {
                detected = clock.Elapsed;
            }
        }

        var result = await fc.SearchAsync(queries[0], K, new ShardedSearchOptions { Deadline = TimeSpan.FromSeconds(1), ReplicaTimeout = TimeSpan.FromMilliseconds(300) });
        if (!result.IsComplete)
        {
            firstPartial ??= clock.Elapsed;
        }
        else if (full is null)
        {
            full = clock.Elapsed;
        }

        if (reactivated is null)
        {
            var statuses = await Task.WhenAll(moved.Select(s => fc.Replica(s, 0).GetStatusAsync().WaitAsync(TimeSpan.FromSeconds(1))));
            if (statuses.All(st => st.Silo != victim.SiloAddress.ToString()))
            {
                reactivated = clock.Elapsed;
            }
        }
    }
    catch (Exception ex) when (ex is OrleansException or TimeoutException)
    {
        // a dead gateway: try again
    }
}

Console.WriteLine("| failover (3 out-of-process silos, R = 1, 6 shards, probes 1 s x 2, directory lease 2 s) | seconds after the kill |");
Console.WriteLine("| --- | ---: |");
Console.WriteLine($"| first partial answer seen | {Seconds(firstPartial)} |");
Console.WriteLine($"| membership declares the silo dead | {Seconds(detected)} |");
Console.WriteLine($"| its {moved.Count} replicas answer from other silos | {Seconds(reactivated)} |");
Console.WriteLine($"| first full answer | {Seconds(full)} |");

foreach (var silo in failover.Silos.Reverse().ToList())
{
    try
    {
        await failover.StopSiloAsync(silo);
    }
    catch (Exception ex) when (ex is IOException or OrleansException or InvalidOperationException)
    {
        // the killed one
    }
}

try
{
    await failover.DisposeAsync();
}
catch (Exception ex) when (ex is IOException or OrleansException or InvalidOperationException)
{
    // stopped already
}

foreach (string folder in new[] { dataPath, dataPath + "-failover" })
{
    Directory.Delete(folder, recursive: true);
}

static string Seconds(TimeSpan? t) => t is { } v ? v.TotalSeconds.ToString("F2", CultureInfo.InvariantCulture) : "not seen";

static async Task<TestCluster> StartClusterAsync(int silos, string dataPath, bool outOfProcess)
{
    Directory.CreateDirectory(dataPath);
    var builder = new TestClusterBuilder((short)silos);
    builder.ConfigureHostConfiguration(c => c.AddInMemoryCollection(new Dictionary<string, string?> { ["VectorIndexDataPath"] = dataPath }));
    builder.AddSiloBuilderConfigurator<SiloConfigurator>();
    if (outOfProcess)
    {
        string host = Path.Combine(AppContext.BaseDirectory, "VectorIndex.Orleans.SiloHost");
        builder.CreateSiloAsync = StandaloneSiloHandle.CreateDelegate(Path.GetFullPath(host));
    }

    var cluster = builder.Build();
    await cluster.DeployAsync();
    return cluster;
}

static double CpuMicros(Action run)
{
    run(); // warm up
    var process = Process.GetCurrentProcess();
    process.Refresh();
    var before = process.TotalProcessorTime;
    run();
    process.Refresh();
    return (process.TotalProcessorTime - before).TotalMicroseconds / Queries;
}

static double Percentile(List<double> values, double p)
{
    var sorted = values.Order().ToList();
    return sorted[Math.Min(sorted.Count - 1, (int)(p * sorted.Count))];
}

static float[] Gaussian(Random random, int dims, double sigma)
{
    var v = new float[dims];
    for (int d = 0; d < dims; d++)
    {
        double u = 1 - random.NextDouble(), w = random.NextDouble();
        v[d] = (float)(sigma * Math.Sqrt(-2 * Math.Log(u)) * Math.Cos(2 * Math.PI * w));
    }

    return v;
}

static float[] Add(float[] a, float[] b) => [.. a.Zip(b, (x, y) => x + y)];
