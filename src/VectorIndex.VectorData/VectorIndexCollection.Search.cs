using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.VectorData;
using Microsoft.Extensions.VectorData.ProviderServices;
using VectorIndex.VectorData.Filters;
using VectorIndex.VectorData.Model;
using VectorIndex.VectorData.Storage;

namespace VectorIndex.VectorData;

public partial class VectorIndexCollection<TKey, TRecord>
{
    /// <summary>
    /// Nearest records first. Scores: <see cref="DistanceFunction.CosineSimilarity"/> and
    /// <see cref="DistanceFunction.DotProductSimilarity"/> (larger is closer), <see cref="DistanceFunction.CosineDistance"/>,
    /// <see cref="DistanceFunction.NegativeDotProductSimilarity"/>, <see cref="DistanceFunction.EuclideanDistance"/> and
    /// <see cref="DistanceFunction.EuclideanSquaredDistance"/> (smaller is closer). <see cref="VectorSearchOptions{TRecord}.ScoreThreshold"/>
    /// is inclusive: a lower bound for similarities, an upper bound for distances.
    /// </summary>
    /// <inheritdoc/>
    public override IAsyncEnumerable<VectorSearchResult<TRecord>> SearchAsync<TInput>(
        TInput searchValue, int top, VectorSearchOptions<TRecord>? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(searchValue);
        ArgumentOutOfRangeException.ThrowIfLessThan(top, 1);
        options ??= new VectorSearchOptions<TRecord>();
        if (options.Skip < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.Skip, "Skip must not be negative.");
        }

        bool includeVectors = CheckIncludeVectors(options.IncludeVectors);
        var vectorProperty = _model.GetVectorPropertyOrSingle(options);
        if (searchValue is not (ReadOnlyMemory<float> or float[] or Embedding<float>) && vectorProperty.EmbeddingGenerator is null)
        {
            throw new NotSupportedException(
                VectorDataStrings.InvalidSearchInputAndNoEmbeddingGeneratorWasConfigured(typeof(TInput), VectorIndexModelBuilder.SupportedVectorTypes));
        }

        var filter = options.Filter is null ? null : FilterCompiler.Compile(options.Filter, _model, _filters);
        var state = State("Search");
        return SearchCoreAsync(state, searchValue, top, options, includeVectors, vectorProperty, filter, cancellationToken);
    }

    private async IAsyncEnumerable<VectorSearchResult<TRecord>> SearchCoreAsync<TInput>(
        CollectionState state, TInput searchValue, int top, VectorSearchOptions<TRecord> options, bool includeVectors,
        VectorPropertyModel vectorProperty, CompiledFilter? filter, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        float[] query = await QueryVectorAsync(searchValue, vectorProperty, cancellationToken).ConfigureAwait(false);
        var hits = Search(state, query, top, options, vectorProperty, filter);
        foreach (var (row, score) in hits)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return new VectorSearchResult<TRecord>(_mapper.ToRecord(row, includeVectors), score);
        }
    }

    private List<(Row Row, double Score)> Search(
        CollectionState state, float[] query, int top, VectorSearchOptions<TRecord> options, VectorPropertyModel vectorProperty, CompiledFilter? filter)
    {
        var results = new List<(Row, double)>();
        int k = (int)Math.Min(int.MaxValue, (long)top + options.Skip);
        using (BeginRead(state, "Search"))
        {
            var slot = state.Slot(vectorProperty.StorageName);
            VectorSlot.Validate(slot.Spec, query, vectorProperty.ModelName);
            if (state.Count == 0)
            {
                return results;
            }

            var allowed = filter?.AllowedIds(state);
            if (allowed is { Count: 0 })
            {
                return results;
            }

            // Rows from the inverted indexes need no further test when the filter is nothing but those lookups.
            var predicate = allowed is not null && !filter!.NeedsPredicate(state) ? null : filter?.Predicate;
            var searchOptions = new SearchOptions
            {
                // Called by the index for candidates while we hold the read side: rows cannot change under it.
                Filter = predicate is null ? null : id => state.TryGetRow(id, out var row) && predicate(row),
                AllowedKeys = allowed,
            };

            int skipped = 0;
            foreach (var hit in slot.Search(query, Math.Min(k, state.Count), searchOptions))
            {
                if (!state.TryGetRow(hit.Key, out var row))
                {
                    continue;
                }

                double score = slot.ToScore(hit.Distance);
                if (options.ScoreThreshold is { } threshold && !slot.Passes(score, threshold))
                {
                    continue;
                }

                if (skipped < options.Skip)
                {
                    skipped++;
                    continue;
                }

                results.Add((row, score));
                if (results.Count == top)
                {
                    break;
                }
            }
        }

        return results;
    }

    private static async Task<float[]> QueryVectorAsync<TInput>(TInput searchValue, VectorPropertyModel vectorProperty, CancellationToken cancellationToken)
    {
        switch (searchValue)
        {
            case ReadOnlyMemory<float> memory:
                return memory.ToArray();
            case float[] array:
                return array;
            case Embedding<float> embedding:
                return embedding.Vector.ToArray();
        }

        if (vectorProperty.EmbeddingGenerator is not null && vectorProperty.EmbeddingGenerationDispatcher is not null)
        {
            var embedding = await vectorProperty.GenerateEmbeddingAsync(searchValue, cancellationToken).ConfigureAwait(false);
            return embedding is Embedding<float> floats
                ? floats.Vector.ToArray()
                : throw new InvalidOperationException(
                    $"The embedding generator of property '{vectorProperty.ModelName}' returned '{embedding.GetType().Name}'; VectorIndex searches with Embedding<float>.");
        }

        throw new NotSupportedException(
            VectorDataStrings.InvalidSearchInputAndNoEmbeddingGeneratorWasConfigured(typeof(TInput), VectorIndexModelBuilder.SupportedVectorTypes));
    }
}
