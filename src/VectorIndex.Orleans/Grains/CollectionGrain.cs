namespace VectorIndex.Orleans.Grains;

[GenerateSerializer]
internal sealed class CollectionState
{
    [Id(0)] public ShardedCollectionDefinition? Definition { get; set; }
}

internal sealed class CollectionGrain(
    [PersistentState("collection", VectorIndexSiloOptions.StorageName)] IPersistentState<CollectionState> state)
    : Grain, ICollectionGrain
{
    public async Task<ShardedCollectionDefinition> CreateAsync(ShardedCollectionDefinition definition)
    {
        ArgumentNullException.ThrowIfNull(definition);
        definition.Validate();
        if (state.State.Definition is { } existing)
        {
            return existing == definition
                ? existing
                : throw new InvalidOperationException($"The collection '{this.GetPrimaryKeyString()}' exists with a different definition ({existing}).");
        }

        state.State.Definition = definition;
        await state.WriteStateAsync();
        await GrainFactory.GetGrain<ICatalogGrain>(0).AddAsync(this.GetPrimaryKeyString());

        // Activate every shard's replicas now, so that the first queries find them ready.
        string name = this.GetPrimaryKeyString();
        await Task.WhenAll(Enumerable.Range(0, definition.ShardCount)
            .Select(s => GrainFactory.GetGrain<IShardSequencerGrain>(ShardRouting.SequencerKey(name, s)).SyncAsync()));
        return definition;
    }

    public Task<ShardedCollectionDefinition?> GetDefinitionAsync() => Task.FromResult(state.State.Definition);
}

[GenerateSerializer]
internal sealed class CatalogState
{
    [Id(0)] public SortedSet<string> Names { get; set; } = new(StringComparer.Ordinal);
}

internal sealed class CatalogGrain(
    [PersistentState("catalog", VectorIndexSiloOptions.StorageName)] IPersistentState<CatalogState> state)
    : Grain, ICatalogGrain
{
    public async Task AddAsync(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (state.State.Names.Add(name))
        {
            await state.WriteStateAsync();
        }
    }

    public Task<string[]> ListAsync() => Task.FromResult(state.State.Names.ToArray());
}
