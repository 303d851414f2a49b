using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using Orleans.Hosting;
using Orleans.Runtime.Hosting;
using Orleans.TestingHost;

namespace VectorIndex.Orleans.SiloHost;

/// <summary>
/// The silo configuration of the test clusters. Grain state goes to files under <c>{VectorIndexDataPath}/_state</c>,
/// shared by all silos; replica folders go under <c>{VectorIndexDataPath}</c> (shared, like a network disk) or, with
/// <c>VectorIndexPerProcessData=true</c>, under <c>{VectorIndexDataPath}/p{process id}</c> (a disk per machine).
/// <c>VectorIndexSnapshotChunkBytes</c> and <c>VectorIndexCatchUpTailBytes</c>, when set, are
/// <see cref="VectorIndexSiloOptions.SnapshotChunkBytes"/> and <see cref="VectorIndexSiloOptions.CatchUpTailBytes"/>.
/// </summary>
public sealed class SiloConfigurator : ISiloConfigurator
{
    /// <summary>The folder of a silo process's own replica folders when each silo has its own disk.</summary>
    public static string PerProcessFolder(string dataPath, int processId) =>
        Path.Combine(dataPath, "p" + processId.ToString(System.Globalization.CultureInfo.InvariantCulture));

    public void Configure(ISiloBuilder siloBuilder)
    {
        string dataPath = siloBuilder.Configuration["VectorIndexDataPath"]!;
        string statePath = Path.Combine(dataPath, "_state");
        Directory.CreateDirectory(statePath);
        string replicas = siloBuilder.Configuration["VectorIndexPerProcessData"] == "true"
            ? PerProcessFolder(dataPath, Environment.ProcessId)
            : dataPath;
        siloBuilder.Services.AddGrainStorage(VectorIndexSiloOptions.StorageName,
            (sp, _) => new FileGrainStorage(statePath, sp.GetRequiredService<global::Orleans.Serialization.Serializer>()));
        siloBuilder.AddVectorIndexShards(o =>
        {
            o.DataPath = replicas;
            o.ReplicaCallTimeout = TimeSpan.FromSeconds(2);
            if (siloBuilder.Configuration["VectorIndexSnapshotChunkBytes"] is { Length: > 0 } chunk)
            {
                o.SnapshotChunkBytes = int.Parse(chunk, System.Globalization.CultureInfo.InvariantCulture);
            }

            if (siloBuilder.Configuration["VectorIndexCatchUpTailBytes"] is { Length: > 0 } tail)
            {
                o.CatchUpTailBytes = long.Parse(tail, System.Globalization.CultureInfo.InvariantCulture);
            }
        });
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
