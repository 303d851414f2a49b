namespace VectorIndex.Internal;

/// <summary>
/// A small lock-free pool of <see cref="SearchScratch"/>, one per index, so a search or insert allocates nothing once
/// warm. When more threads search at once than the pool holds, the extra scratch is created and later dropped. It is
/// only a pool: who may still read graph memory is the <see cref="LightEpoch"/>'s business.
/// </summary>
internal sealed class ScratchPool(Func<SearchScratch> create)
{
    private readonly SearchScratch?[] _slots = new SearchScratch?[Math.Max(4, Environment.ProcessorCount * 2)];

    public SearchScratch Rent()
    {
        SearchScratch?[] slots = _slots;
        for (int i = 0; i < slots.Length; i++)
        {
            if (Interlocked.Exchange(ref slots[i], null) is { } scratch)
            {
                return scratch;
            }
        }

        return create();
    }

    public void Return(SearchScratch scratch)
    {
        SearchScratch?[] slots = _slots;
        for (int i = 0; i < slots.Length; i++)
        {
            if (Interlocked.CompareExchange(ref slots[i], scratch, null) is null)
            {
                return;
            }
        }
    }
}
