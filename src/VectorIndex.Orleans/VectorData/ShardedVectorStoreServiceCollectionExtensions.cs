using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.VectorData;
using VectorIndex.Orleans.VectorData;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Client-side registration of the sharded VectorIndex store.</summary>
public static class ShardedVectorStoreServiceCollectionExtensions
{
    /// <summary>
    /// Registers a <see cref="ShardedVectorStore"/> (as itself and as <see cref="VectorStore"/>) over the
    /// <see cref="IGrainFactory"/> in the container (the Orleans client, or the silo's own grain factory). When the
    /// options name no embedding generator, the container's <see cref="IEmbeddingGenerator"/>, if any, is used.
    /// </summary>
    /// <param name="services">The services.</param>
    /// <param name="optionsProvider">Gives the store options; null for the defaults.</param>
    /// <param name="lifetime">The lifetime of the registration; default singleton.</param>
    /// <returns>The services.</returns>
    public static IServiceCollection AddShardedVectorStore(
        this IServiceCollection services,
        Func<IServiceProvider, ShardedVectorStoreOptions>? optionsProvider = null,
        ServiceLifetime lifetime = ServiceLifetime.Singleton)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.Add(new ServiceDescriptor(typeof(ShardedVectorStore),
            sp =>
            {
                var options = optionsProvider?.Invoke(sp) ?? new ShardedVectorStoreOptions();
                if (options.EmbeddingGenerator is null && sp.GetService<IEmbeddingGenerator>() is { } generator)
                {
                    options = options.WithEmbeddingGenerator(generator);
                }

                return new ShardedVectorStore(sp.GetRequiredService<IGrainFactory>(), options);
            }, lifetime));
        services.TryAdd(new ServiceDescriptor(typeof(VectorStore), sp => sp.GetRequiredService<ShardedVectorStore>(), lifetime));
        return services;
    }
}
