namespace VectorIndex.Orleans.Grains;

[GenerateSerializer]
internal sealed class CollectionState
{
    /// <summary>The definition while the collection exists or is being deleted.</summary>
    [Id(0)] public ShardedCollectionDefinition? Definition { get; set; }

    /// <summary>A deletion started and did not complete: the shards may still hold state.</summary>
    [Id(1)] public bool Deleting { get; set; }

    /// <summary>The definition of the collection last deleted under this name (silos may still cache it).</summary>
    [Id(2)] public ShardedCollectionDefinition? Deleted { get; set; }
}

internal sealed class CollectionGrain(
    [PersistentState("collection", VectorIndexSiloOptions.StorageName)] IPersistentState<CollectionState> state,
    CollectionDefinitions definitions)
    : Grain, ICollectionGrain
{
    public async Task<ShardedCollectionDefinition> CreateAsync(ShardedCollectionDefinition definition)
    {
        ArgumentNullException.ThrowIfNull(definition);
        definition.Validate();
        string name = this.GetPrimaryKeyString();
        if (state.State.Deleting)
        {
            throw new InvalidOperationException($"The deletion of the collection '{name}' did not complete (a shard did not answer); delete it again before re-creating it.");
        }

        if (state.State.Definition is { } existing)
        {
            return existing == definition
                ? existing
                : throw new InvalidOperationException($"The collection '{name}' exists with a different definition ({existing}).");
        }

        if (state.State.Deleted is { } deleted && deleted != definition)
        {
            throw new InvalidOperationException(
                $"A collection '{name}' was deleted with a different definition ({deleted}); silos cache collection definitions, so the name can be re-created only with that definition. Use another name.");
        }

        state.State.Definition = definition;
        await state.WriteStateAsync();
        await GrainFactory.GetGrain<ICatalogGrain>(0).AddAsync(name);

        // Activate every shard's replicas now, so that the first queries find them ready.
        await Task.WhenAll(Enumerable.Range(0, definition.ShardCount)
            .Select(s => GrainFactory.GetGrain<IShardSequencerGrain>(ShardRouting.SequencerKey(name, s)).SyncAsync()));
        return definition;
    }

    public Task<ShardedCollectionDefinition?> GetDefinitionAsync() => Task.FromResult(state.State.Deleting ? null : state.State.Definition);

    public Task<ShardedCollectionDefinition?> GetShardDefinitionAsync() => Task.FromResult(state.State.Definition);

    public async Task DeleteAsync()
    {
        if (state.State.Definition is not { } definition)
        {
            return;
        }

        string name = this.GetPrimaryKeyString();
        if (!state.State.Deleting)
        {
            state.State.Deleting = true;
            await state.WriteStateAsync();
        }

        await GrainFactory.GetGrain<ICatalogGrain>(0).RemoveAsync(name);

        // Each sequencer finishes the writes it sequenced before, then drops its replicas and refuses later writes.
        await Task.WhenAll(Enumerable.Range(0, definition.ShardCount)
            .Select(s => GrainFactory.GetGrain<IShardSequencerGrain>(ShardRouting.SequencerKey(name, s)).DropAsync(definition)));

        state.State.Definition = null;
        state.State.Deleted = definition;
        state.State.Deleting = false;
        await state.WriteStateAsync();
        definitions.Evict(name);
    }
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

    public async Task RemoveAsync(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (state.State.Names.Remove(name))
        {
            await state.WriteStateAsync();
        }
    }

    public Task<string[]> ListAsync() => Task.FromResult(state.State.Names.ToArray());
}
