using Microsoft.Extensions.AI;
using Microsoft.Extensions.VectorData;
using VectorIndex.VectorData;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers VectorIndex stores and collections with a service collection.</summary>
public static class VectorIndexServiceCollectionExtensions
{
    /// <summary>
    /// Registers a <see cref="VectorIndexVectorStore"/> as itself and as <see cref="VectorStore"/>. Without an options
    /// provider the store is in memory; without an embedding generator in the options, one registered as
    /// <see cref="IEmbeddingGenerator"/> is used.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="optionsProvider">Makes the store's options; null for defaults.</param>
    /// <param name="lifetime">The lifetime of the registrations.</param>
    /// <returns>The service collection.</returns>
    public static IServiceCollection AddVectorIndexVectorStore(this IServiceCollection services,
        Func<IServiceProvider, VectorIndexVectorStoreOptions>? optionsProvider = null,
        ServiceLifetime lifetime = ServiceLifetime.Singleton)
        => AddKeyedVectorIndexVectorStore(services, serviceKey: null, optionsProvider, lifetime);

    /// <summary>As <see cref="AddVectorIndexVectorStore"/>, under a service key (null registers unkeyed).</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="serviceKey">The service key.</param>
    /// <param name="optionsProvider">Makes the store's options; null for defaults.</param>
    /// <param name="lifetime">The lifetime of the registrations.</param>
    /// <returns>The service collection.</returns>
    public static IServiceCollection AddKeyedVectorIndexVectorStore(this IServiceCollection services, object? serviceKey,
        Func<IServiceProvider, VectorIndexVectorStoreOptions>? optionsProvider = null,
        ServiceLifetime lifetime = ServiceLifetime.Singleton)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.Add(new ServiceDescriptor(typeof(VectorIndexVectorStore), serviceKey, (sp, _) =>
        {
            var options = optionsProvider?.Invoke(sp) ?? new VectorIndexVectorStoreOptions();
            if (options.EmbeddingGenerator is null && sp.GetService<IEmbeddingGenerator>() is { } generator)
            {
                options = new VectorIndexVectorStoreOptions(options) { EmbeddingGenerator = generator };
            }

            return new VectorIndexVectorStore(options);
        }, lifetime));
        services.Add(new ServiceDescriptor(typeof(VectorStore), serviceKey,
            (sp, key) => sp.GetRequiredKeyedService<VectorIndexVectorStore>(key), lifetime));
        return services;
    }

    /// <summary>
    /// Registers a <see cref="VectorIndexCollection{TKey, TRecord}"/> as itself, as
    /// <see cref="VectorStoreCollection{TKey, TRecord}"/> and as <see cref="IVectorSearchable{TRecord}"/>. Without an
    /// options provider the collection is in memory; without an embedding generator in the options, one registered as
    /// <see cref="IEmbeddingGenerator"/> is used.
    /// </summary>
    /// <typeparam name="TKey">The key type.</typeparam>
    /// <typeparam name="TRecord">The record type.</typeparam>
    /// <param name="services">The service collection.</param>
    /// <param name="name">The collection name.</param>
    /// <param name="optionsProvider">Makes the collection's options; null for defaults.</param>
    /// <param name="lifetime">The lifetime of the registrations.</param>
    /// <returns>The service collection.</returns>
    public static IServiceCollection AddVectorIndexCollection<TKey, TRecord>(this IServiceCollection services, string name,
        Func<IServiceProvider, VectorIndexCollectionOptions>? optionsProvider = null,
        ServiceLifetime lifetime = ServiceLifetime.Singleton)
        where TKey : notnull
        where TRecord : class
        => AddKeyedVectorIndexCollection<TKey, TRecord>(services, serviceKey: null, name, optionsProvider, lifetime);

    /// <summary>As <see cref="AddVectorIndexCollection{TKey, TRecord}"/>, under a service key (null registers unkeyed).</summary>
    /// <typeparam name="TKey">The key type.</typeparam>
    /// <typeparam name="TRecord">The record type.</typeparam>
    /// <param name="services">The service collection.</param>
    /// <param name="serviceKey">The service key.</param>
    /// <param name="name">The collection name.</param>
    /// <param name="optionsProvider">Makes the collection's options; null for defaults.</param>
    /// <param name="lifetime">The lifetime of the registrations.</param>
    /// <returns>The service collection.</returns>
    public static IServiceCollection AddKeyedVectorIndexCollection<TKey, TRecord>(this IServiceCollection services,
        object? serviceKey, string name,
        Func<IServiceProvider, VectorIndexCollectionOptions>? optionsProvider = null,
        ServiceLifetime lifetime = ServiceLifetime.Singleton)
        where TKey : notnull
        where TRecord : class
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        services.Add(new ServiceDescriptor(typeof(VectorIndexCollection<TKey, TRecord>), serviceKey, (sp, _) =>
        {
            var options = optionsProvider?.Invoke(sp) ?? new VectorIndexCollectionOptions();
            if (options.EmbeddingGenerator is null && sp.GetService<IEmbeddingGenerator>() is { } generator)
            {
                options = new VectorIndexCollectionOptions(options) { EmbeddingGenerator = generator };
            }

            return new VectorIndexCollection<TKey, TRecord>(name, options);
        }, lifetime));
        services.Add(new ServiceDescriptor(typeof(VectorStoreCollection<TKey, TRecord>), serviceKey,
            (sp, key) => sp.GetRequiredKeyedService<VectorIndexCollection<TKey, TRecord>>(key), lifetime));
        services.Add(new ServiceDescriptor(typeof(IVectorSearchable<TRecord>), serviceKey,
            (sp, key) => sp.GetRequiredKeyedService<VectorIndexCollection<TKey, TRecord>>(key), lifetime));
        return services;
    }
}
