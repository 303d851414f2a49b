namespace VectorIndex.Internal;

/// <summary>
/// A small lock-free pool of <see cref="SearchScratch"/>, one per index. A search rents one and returns it; when
/// more threads search at once than the pool holds, the extra scratch is created and later dropped.
/// <para>
/// Every graph reader (search or insert) holds a rented scratch while it reads, so the pool also tells when they have
/// all finished: rentals are counted under one of two parities, and <see cref="WaitForEarlierRentals"/> flips the
/// parity and waits for the old one to drain (a grace period, as in read-copy-update). Compaction uses it before it
/// reuses the slots of unlinked nodes that older searches may still be looking at.
/// </para>
/// </summary>
internal sealed class ScratchPool(Func<SearchScratch> create)
{
    private readonly SearchScratch?[] _slots = new SearchScratch?[Math.Max(4, Environment.ProcessorCount * 2)];
    private readonly int[] _rented = new int[2];
    private readonly Lock _waitLock = new();
    private int _parity;

    public SearchScratch Rent()
    {
        SearchScratch? scratch = null;
        SearchScratch?[] slots = _slots;
        for (int i = 0; i < slots.Length && scratch is null; i++)
        {
            scratch = Interlocked.Exchange(ref slots[i], null);
        }

        scratch ??= create();

        // A full fence: the count is visible before the renter reads the graph. A renter that read the old parity
        // just before a flip is counted there and waited for, which is only conservative.
        int parity = Volatile.Read(ref _parity) & 1;
        Interlocked.Increment(ref _rented[parity]);
        scratch.RentParity = parity;
        return scratch;
    }

    public void Return(SearchScratch scratch)
    {
        Interlocked.Decrement(ref _rented[scratch.RentParity]);
        SearchScratch?[] slots = _slots;
        for (int i = 0; i < slots.Length; i++)
        {
            if (Interlocked.CompareExchange(ref slots[i], scratch, null) is null)
            {
                return;
            }
        }
    }

    /// <summary>Returns once every scratch rented before the call has been returned. The caller must hold none.</summary>
    public void WaitForEarlierRentals()
    {
        lock (_waitLock)
        {
            int old = Interlocked.Increment(ref _parity) - 1 & 1;
            var spin = default(SpinWait);
            while (Volatile.Read(ref _rented[old]) != 0)
            {
                spin.SpinOnce();
            }
        }
    }
}
