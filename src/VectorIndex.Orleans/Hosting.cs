using Microsoft.Extensions.DependencyInjection;
using VectorIndex.Orleans;
using VectorIndex.Orleans.Grains;

namespace Orleans.Hosting;

/// <summary>Silo-side registration of sharded VectorIndex collections.</summary>
public static class VectorIndexSiloBuilderExtensions
{
    /// <summary>
    /// Hosts shard replicas, sequencers and query coordinators on this silo: registers the options and the replica
    /// placement director. The silo must also have a grain storage provider named
    /// <see cref="VectorIndexSiloOptions.StorageName"/> (for example <c>AddMemoryGrainStorage("VectorIndex")</c> in
    /// tests, a durable one in production) for the catalog and the replicas' manifests.
    /// </summary>
    /// <param name="builder">The silo builder.</param>
    /// <param name="configure">Sets <see cref="VectorIndexSiloOptions.DataPath"/> and the rest.</param>
    /// <returns>The builder.</returns>
    public static ISiloBuilder AddVectorIndexShards(this ISiloBuilder builder, Action<VectorIndexSiloOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        builder.Services.AddOptions<VectorIndexSiloOptions>().Configure(configure)
            .Validate(o => !string.IsNullOrEmpty(o.DataPath), "VectorIndexSiloOptions.DataPath is required.");
        builder.Services.AddSingleton<CollectionDefinitions>();
        builder.AddPlacementDirector<ReplicaPlacementStrategy, ReplicaPlacementDirector>();
        return builder;
    }
}
