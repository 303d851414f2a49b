using System.Linq.Expressions;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.VectorData;
using Microsoft.Extensions.VectorData.ProviderServices;
using VectorIndex.VectorData.Filters;
using VectorIndex.VectorData.Storage;

namespace VectorIndex.VectorData;

public partial class VectorIndexCollection<TKey, TRecord>
{
    /// <inheritdoc/>
    public override Task<TRecord?> GetAsync(TKey key, RecordRetrievalOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        bool includeVectors = CheckIncludeVectors(options?.IncludeVectors ?? false);
        object storedKey = _mapper.NormalizeKey(key, nameof(key));
        var state = State("Get");
        Row? row;
        using (BeginRead(state, "Get"))
        {
            row = state.GetRow(storedKey);
        }

        return Task.FromResult(row is null ? null : _mapper.ToRecord(row, includeVectors));
    }

    /// <inheritdoc/>
    public override IAsyncEnumerable<TRecord> GetAsync(IEnumerable<TKey> keys, RecordRetrievalOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keys);
        bool includeVectors = CheckIncludeVectors(options?.IncludeVectors ?? false);
        var storedKeys = keys.Select(k => _mapper.NormalizeKey(k ?? throw new ArgumentNullException(nameof(keys)), nameof(keys))).ToList();
        var state = State("Get");
        var rows = new List<Row>(storedKeys.Count);
        using (BeginRead(state, "Get"))
        {
            foreach (object key in storedKeys)
            {
                if (state.GetRow(key) is { } row)
                {
                    rows.Add(row);
                }
            }
        }

        return Enumerate(rows.Select(r => _mapper.ToRecord(r, includeVectors)), cancellationToken);
    }

    /// <inheritdoc/>
    public override IAsyncEnumerable<TRecord> GetAsync(
        Expression<Func<TRecord, bool>> filter, int top, FilteredRecordRetrievalOptions<TRecord>? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(filter);
        ArgumentOutOfRangeException.ThrowIfLessThan(top, 1);
        options ??= new FilteredRecordRetrievalOptions<TRecord>();
        if (options.Skip < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.Skip, "Skip must not be negative.");
        }

        bool includeVectors = CheckIncludeVectors(options.IncludeVectors);
        var compiled = FilterCompiler.Compile(filter, _model, _filters);
        var sorts = options.OrderBy?.Invoke(new FilteredRecordRetrievalOptions<TRecord>.OrderByDefinition()).Values
            .Select(s => (Property: _model.GetDataOrKeyProperty(s.PropertySelector), s.Ascending)).ToList();

        var state = State("Get");
        List<Row> matches;
        using (BeginRead(state, "Get"))
        {
            var allowed = compiled.AllowedIds(state);
            IEnumerable<Row> candidates = allowed is null
                ? state.Rows
                : allowed.Select(id => state.TryGetRow(id, out var r) ? r : null).OfType<Row>();
            matches = allowed is not null && !compiled.NeedsPredicate(state)
                ? candidates.ToList()
                : candidates.Where(compiled.Predicate).ToList();
        }

        IEnumerable<Row> ordered;
        if (sorts is { Count: > 0 })
        {
            IOrderedEnumerable<Row>? sorted = null;
            foreach (var (property, ascending) in sorts)
            {
                Func<Row, object?> keyOf = SortKey(property);
                sorted = sorted is null
                    ? (ascending ? matches.OrderBy(keyOf, Comparer<object?>.Default) : matches.OrderByDescending(keyOf, Comparer<object?>.Default))
                    : (ascending ? sorted.ThenBy(keyOf, Comparer<object?>.Default) : sorted.ThenByDescending(keyOf, Comparer<object?>.Default));
            }

            ordered = sorted!;
        }
        else
        {
            ordered = matches.OrderBy(r => r.Id); // insertion order: stable pages without an OrderBy
        }

        var page = ordered.Skip(options.Skip).Take(top).Select(r => _mapper.ToRecord(r, includeVectors)).ToList();
        return Enumerate(page, cancellationToken);
    }

    private static Func<Row, object?> SortKey(PropertyModel property) =>
        property is KeyPropertyModel
            ? r => r.Key
            : r => DataValues.ConvertTo(r.GetData(property.StorageName), property.Type);

    /// <inheritdoc/>
    public override Task UpsertAsync(TRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        return UpsertCoreAsync([record], cancellationToken);
    }

    /// <inheritdoc/>
    public override Task UpsertAsync(IEnumerable<TRecord> records, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(records);
        var list = records.ToList();
        if (list.Any(r => r is null))
        {
            throw new ArgumentNullException(nameof(records), "The records contain null.");
        }

        return list.Count == 0 ? Task.CompletedTask : UpsertCoreAsync(list, cancellationToken);
    }

    private async Task UpsertCoreAsync(IReadOnlyList<TRecord> records, CancellationToken cancellationToken)
    {
        var state = State("Upsert");
        var rows = await _mapper.ToRowsAsync(records, cancellationToken).ConfigureAwait(false);
        await GuardAsync("Upsert", () => state.UpsertAsync(rows, cancellationToken)).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public override Task DeleteAsync(TKey key, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        object storedKey = _mapper.NormalizeKey(key, nameof(key));
        var state = State("Delete");
        return GuardAsync("Delete", () => state.DeleteAsync([storedKey], cancellationToken));
    }

    /// <inheritdoc/>
    public override Task DeleteAsync(IEnumerable<TKey> keys, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var storedKeys = keys.Select(k => _mapper.NormalizeKey(k ?? throw new ArgumentNullException(nameof(keys)), nameof(keys))).ToList();
        if (storedKeys.Count == 0)
        {
            return Task.CompletedTask;
        }

        var state = State("Delete");
        return GuardAsync("Delete", () => state.DeleteAsync(storedKeys, cancellationToken));
    }

    private bool CheckIncludeVectors(bool includeVectors)
    {
        if (includeVectors && _model.EmbeddingGenerationRequired)
        {
            throw new NotSupportedException(VectorDataStrings.IncludeVectorsNotSupportedWithEmbeddingGeneration);
        }

        return includeVectors;
    }

    private static async IAsyncEnumerable<T> Enumerate<T>(IEnumerable<T> items, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        foreach (var item in items)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return item;
        }

        await Task.CompletedTask.ConfigureAwait(false);
    }
}
