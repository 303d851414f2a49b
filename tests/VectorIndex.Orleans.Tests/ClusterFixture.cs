using Microsoft.Extensions.Configuration;
using Orleans.Runtime;
using Orleans.TestingHost;
using VectorIndex.Orleans.SiloHost;

namespace VectorIndex.Orleans.Tests;

/// <summary>A test cluster (in-process, or one process per silo) with a temporary data folder and failure detection tuned to seconds.</summary>
public sealed class TestClusterHandle : IAsyncDisposable
{
    private TestClusterHandle(TestCluster cluster, string dataPath)
    {
        Cluster = cluster;
        DataPath = dataPath;
    }

    public TestCluster Cluster { get; }

    public string DataPath { get; }

    public IGrainFactory Grains => Cluster.Client;

    /// <summary>Starts a cluster.</summary>
    /// <param name="silos">The number of silos.</param>
    /// <param name="outOfProcess">Each silo in its own process, so that a kill is a real process kill.</param>
    /// <param name="folderPerSilo">Each silo keeps its replicas in its own folder (a disk per machine) instead of a shared one.</param>
    /// <param name="snapshotChunkBytes">When set, the bytes per message of a snapshot copy (small: a copy lasts many calls).</param>
    /// <param name="catchUpTailBytes">When set, the bytes of latest writes a replica keeps in memory for catch-ups (0: none, so catch-ups read the log on disk).</param>
    public static async Task<TestClusterHandle> StartAsync(int silos, bool outOfProcess = false, bool folderPerSilo = false, int? snapshotChunkBytes = null, long? catchUpTailBytes = null)
    {
        string dataPath = Path.Combine(Path.GetTempPath(), "vi-orleans-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dataPath);
        var builder = new TestClusterBuilder((short)silos);
        builder.ConfigureHostConfiguration(c => c.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["VectorIndexDataPath"] = dataPath,
            ["VectorIndexPerProcessData"] = folderPerSilo ? "true" : "false",
            ["VectorIndexSnapshotChunkBytes"] = snapshotChunkBytes?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "",
            ["VectorIndexCatchUpTailBytes"] = catchUpTailBytes?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "",
        }));
        builder.AddSiloBuilderConfigurator<SiloConfigurator>();
        if (outOfProcess)
        {
            builder.CreateSiloAsync = StandaloneSiloHandle.CreateDelegate(SiloHostPath());
        }

        var cluster = builder.Build();
        await cluster.DeployAsync();
        return new TestClusterHandle(cluster, dataPath);
    }

    /// <summary>
    /// Calls the cluster from the test client, again while the call fails, times out or is canceled by the cluster: the
    /// TestingHost client keeps a dead silo in its static gateway list, so a call may go to a dead gateway.
    /// </summary>
    public static async Task<T> RetryAsync<T>(Func<Task<T>> call, TimeSpan? limit = null)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            try
            {
                return await call().WaitAsync(TimeSpan.FromSeconds(10));
            }
            // OperationCanceledException: a grain directory lookup canceled while membership changes (seen under load
            // right after a kill, from the silo's DistributedGrainDirectory).
            catch (Exception ex) when (ex is OrleansException or TimeoutException or OperationCanceledException && clock.Elapsed < (limit ?? TimeSpan.FromSeconds(60)))
            {
                await Task.Delay(200);
            }
        }
    }

    /// <summary>
    /// Where the active grains of a collection live, from the management grain: the silo of each shard's sequencer, and
    /// (shard, silo) of each replica.
    /// </summary>
    public async Task<(Dictionary<int, SiloAddress> Sequencers, List<(int Shard, SiloAddress Silo)> Replicas)> PlacementAsync(string collection)
    {
        var grains = await RetryAsync(() => Grains.GetGrain<IManagementGrain>(0).GetDetailedGrainStatistics());
        var sequencers = new Dictionary<int, SiloAddress>();
        var replicas = new List<(int Shard, SiloAddress Silo)>();
        foreach (var grain in grains)
        {
            string key = grain.GrainId.Key.ToString() ?? "";
            if (ShardRouting.TryParseReplicaKey(key, out string c, out int shard, out _))
            {
                if (c == collection)
                {
                    replicas.Add((shard, grain.SiloAddress));
                }
            }
            else if (key.StartsWith(collection + "/", StringComparison.Ordinal) && grain.GrainId.Type.ToString()!.Contains("sequencer", StringComparison.OrdinalIgnoreCase))
            {
                sequencers[int.Parse(key.AsSpan(collection.Length + 1), System.Globalization.CultureInfo.InvariantCulture)] = grain.SiloAddress;
            }
        }

        return (sequencers, replicas);
    }

    /// <summary>Kills an out-of-process silo's process (a crash, not a stop) and returns its process id.</summary>
    public static async Task<int> KillProcessAsync(SiloHandle silo)
    {
        // The handle's process is not public in 10.4.2.
        var process = (System.Diagnostics.Process)typeof(StandaloneSiloHandle)
            .GetProperty("Process", System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.NonPublic)!
            .GetValue((StandaloneSiloHandle)silo)!;
        int pid = process.Id;
        process.Kill(entireProcessTree: true);
        await process.WaitForExitAsync();
        return pid;
    }

    // The silo host is built beside this project (same configuration and framework); StandaloneSiloHandle needs the
    // absolute path of its app host.
    private static string SiloHostPath()
    {
        string baseDir = AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar);
        string hostDir = baseDir.Replace("VectorIndex.Orleans.Tests", "VectorIndex.Orleans.SiloHost", StringComparison.Ordinal);
        string path = Path.Combine(hostDir, OperatingSystem.IsWindows() ? "VectorIndex.Orleans.SiloHost.exe" : "VectorIndex.Orleans.SiloHost");
        File.Exists(path).Should().BeTrue($"the silo host is built at {path}");
        return Path.GetFullPath(path);
    }

    public async ValueTask DisposeAsync()
    {
        // One by one, secondaries first: a silo a test killed fails its stop, and the others must still stop (an
        // out-of-process silo left running would outlive the test run).
        foreach (var silo in Cluster.Silos.Reverse().ToList())
        {
            try
            {
                await Cluster.StopSiloAsync(silo);
            }
            catch (Exception ex) when (ex is IOException or InvalidOperationException or OrleansException or TimeoutException or OperationCanceledException)
            {
                // already dead
            }
        }

        try
        {
            await Cluster.DisposeAsync();
        }
        catch (Exception ex) when (ex is IOException or InvalidOperationException or OrleansException or TimeoutException or OperationCanceledException)
        {
            // already stopped
        }

        try
        {
            Directory.Delete(DataPath, recursive: true);
        }
        catch (IOException)
        {
            // best effort
        }
    }
}
