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
    private int _flips; // grace periods begun; the low bit is the parity new rentals count under

    public SearchScratch Rent()
    {
        SearchScratch? scratch = null;
        SearchScratch?[] slots = _slots;
        for (int i = 0; i < slots.Length && scratch is null; i++)
        {
            scratch = Interlocked.Exchange(ref slots[i], null);
        }

        scratch ??= create();

        // Count first (a full fence), then check the parity did not flip meanwhile: a waiter that flipped it may have
        // found the old count drained before this increment landed, and would not wait for this renter. Counted under
        // the current parity, the renter is waited for by any later flip.
        while (true)
        {
            int flips = Volatile.Read(ref _flips);
            int parity = flips & 1;
            Interlocked.Increment(ref _rented[parity]);
            if (Volatile.Read(ref _flips) == flips)
            {
                scratch.RentParity = parity;
                return scratch;
            }

            Interlocked.Decrement(ref _rented[parity]);
        }
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
            int old = Interlocked.Increment(ref _flips) - 1 & 1;
            var spin = default(SpinWait);
            while (Volatile.Read(ref _rented[old]) != 0)
            {
                spin.SpinOnce();
            }
        }
    }
}
