using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using Orleans.Hosting;
using Orleans.Runtime.Hosting;
using Orleans.TestingHost;
using VectorIndex.Orleans;

namespace VectorIndex.Orleans.Tests;

/// <summary>An in-process cluster whose silos share one temporary data folder, with failure detection tuned to seconds.</summary>
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

    public static async Task<TestClusterHandle> StartAsync(int silos)
    {
        string dataPath = Path.Combine(Path.GetTempPath(), "vi-orleans-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dataPath);
        var builder = new TestClusterBuilder((short)silos);
        builder.ConfigureHostConfiguration(c => c.AddInMemoryCollection(new Dictionary<string, string?> { ["VectorIndexDataPath"] = dataPath }));
        builder.AddSiloBuilderConfigurator<SiloConfigurator>();
        var cluster = builder.Build();
        await cluster.DeployAsync();
        return new TestClusterHandle(cluster, dataPath);
    }

    public async ValueTask DisposeAsync()
    {
        await Cluster.StopAllSilosAsync();
        await Cluster.DisposeAsync();
        try
        {
            Directory.Delete(DataPath, recursive: true);
        }
        catch (IOException)
        {
            // best effort
        }
    }

    private sealed class SiloConfigurator : ISiloConfigurator
    {
        public void Configure(ISiloBuilder siloBuilder)
        {
            string dataPath = siloBuilder.Configuration["VectorIndexDataPath"]!;
            string statePath = Path.Combine(dataPath, "_state");
            Directory.CreateDirectory(statePath);
            siloBuilder.Services.AddGrainStorage(VectorIndexSiloOptions.StorageName, (sp, _) => new FileGrainStorage(statePath, sp.GetRequiredService<global::Orleans.Serialization.Serializer>()));
            siloBuilder.AddVectorIndexShards(o => o.DataPath = dataPath);
            siloBuilder.ConfigureLogging(l => l.SetMinimumLevel(LogLevel.Warning));

            // Failure detection in seconds: probes every second, a silo is declared dead after two missed ones, and the
            // grain directory's lease on a dead silo's range is short enough that its grains re-activate right after.
            siloBuilder.Configure<ClusterMembershipOptions>(o =>
            {
                o.ProbeTimeout = TimeSpan.FromSeconds(1);
                o.NumMissedProbesLimit = 2;
                o.NumVotesForDeathDeclaration = 1;
                o.TableRefreshTimeout = TimeSpan.FromSeconds(1);
                o.IAmAliveTablePublishTimeout = TimeSpan.FromSeconds(2);
            });
            siloBuilder.Configure<GrainDirectoryOptions>(o => o.RangeLeaseDuration = TimeSpan.FromSeconds(2));
        }
    }
}
