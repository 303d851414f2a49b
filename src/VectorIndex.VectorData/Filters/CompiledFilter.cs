using VectorIndex.VectorData.Storage;

namespace VectorIndex.VectorData.Filters;

/// <summary>A value lookup in an inverted index that every matching row must pass (one conjunct of the filter).</summary>
/// <param name="StorageName">The indexed data property.</param>
/// <param name="Values">The row's value (or one of its elements) must equal one of these.</param>
internal sealed record IndexTerm(string StorageName, IReadOnlyList<object?> Values);

/// <summary>A filter compiled once per query: a predicate over rows, and the index lookups that narrow the candidates.</summary>
internal sealed class CompiledFilter(Func<Row, bool> predicate, IReadOnlyList<IndexTerm> terms, bool coveredByTerms)
{
    private static readonly IReadOnlySet<ulong> NoIds = new HashSet<ulong>();

    public Func<Row, bool> Predicate { get; } = predicate;

    public IReadOnlyList<IndexTerm> Terms { get; } = terms;

    /// <summary>
    /// Whether the filter is exactly the conjunction of its terms, so that rows in <see cref="AllowedIds"/> need no
    /// further test (true only when every term's property has an inverted index in the state asked).
    /// </summary>
    public bool CoveredByTerms { get; } = coveredByTerms;

    /// <summary>Whether rows in the allowed set of <paramref name="state"/> must still pass <see cref="Predicate"/>.</summary>
    public bool NeedsPredicate(CollectionState state) =>
        !CoveredByTerms || Terms.Any(t => state.Inverted(t.StorageName) is null);

    /// <summary>
    /// The ids the index terms allow (intersection over terms, union over each term's values), or null when there are
    /// no usable terms. Read-only, and valid only while the caller holds the collection's read lock: for the common
    /// single lookup (<c>r.Section == "x"</c>) it is the inverted index's own set, not a copy (copying 50,000 ids per
    /// query made a 50% filter three times slower than the same search with the set built once).
    /// </summary>
    public IReadOnlySet<ulong>? AllowedIds(CollectionState state)
    {
        IndexTerm[] usable = [.. Terms.Where(t => state.Inverted(t.StorageName) is not null)];
        if (usable is [{ Values: [var only] } single])
        {
            return state.Inverted(single.StorageName)!.Lookup(only) as IReadOnlySet<ulong> ?? NoIds;
        }

        HashSet<ulong>? allowed = null;
        foreach (var term in Terms)
        {
            if (state.Inverted(term.StorageName) is not { } index)
            {
                continue;
            }

            var ids = new HashSet<ulong>();
            foreach (object? value in term.Values)
            {
                ids.UnionWith(index.Lookup(value));
            }

            if (allowed is null)
            {
                allowed = ids;
            }
            else
            {
                allowed.IntersectWith(ids);
            }
        }

        return allowed;
    }
}
