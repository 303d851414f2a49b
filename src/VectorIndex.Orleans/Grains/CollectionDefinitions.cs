using System.Collections.Concurrent;

namespace VectorIndex.Orleans.Grains;

/// <summary>
/// The silo's cache of collection definitions (one per silo, shared by every coordinator, sequencer and replica
/// activation). A definition never changes once created, so caching it is safe; sharing it matters when a silo dies:
/// a coordinator or replica activated after the death must not wait for the collection grain, whose activation or
/// directory entry may have been on the dead silo. A deleted collection's definition is evicted on the silos that ran
/// its sequencers and replicas; other silos may keep it, which is why a deleted name is re-created only with the same
/// definition (see <see cref="ICollectionGrain.CreateAsync"/>).
/// </summary>
internal sealed class CollectionDefinitions(IGrainFactory grains)
{
    private readonly ConcurrentDictionary<string, ShardedCollectionDefinition> _definitions = new(StringComparer.Ordinal);

    /// <summary>The definition of <paramref name="collection"/>.</summary>
    /// <exception cref="InvalidOperationException">The collection does not exist.</exception>
    public async ValueTask<ShardedCollectionDefinition> GetAsync(string collection)
    {
        if (_definitions.TryGetValue(collection, out var definition))
        {
            return definition;
        }

        definition = await grains.GetGrain<ICollectionGrain>(collection).GetShardDefinitionAsync()
            ?? throw new CollectionNotFoundException($"The collection '{collection}' does not exist.");
        return _definitions.GetOrAdd(collection, definition);
    }

    /// <summary>Forgets the definition of a deleted collection.</summary>
    public void Evict(string collection) => _definitions.TryRemove(collection, out _);
}
