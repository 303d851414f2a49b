using System.Runtime.CompilerServices;

namespace VectorIndex.Internal;

/// <summary>Which of two distances a <see cref="BinaryHeap{TOrder}"/> keeps on top.</summary>
internal interface IHeapOrder
{
    /// <summary>True when <paramref name="a"/> belongs above <paramref name="b"/>.</summary>
    static abstract bool Above(float a, float b);
}

/// <summary>The nearest on top: the candidate queue C of SEARCH-LAYER.</summary>
internal readonly struct NearestFirst : IHeapOrder
{
    public static bool Above(float a, float b) => a < b;
}

/// <summary>The furthest on top: the result set W of SEARCH-LAYER, whose top is the bound to beat.</summary>
internal readonly struct FurthestFirst : IHeapOrder
{
    public static bool Above(float a, float b) => a > b;
}

/// <summary>
/// A binary heap of <see cref="Candidate"/> over a reusable array: no allocation once the array is large enough,
/// no comparer object (the order is a type parameter and inlines).
/// </summary>
internal sealed class BinaryHeap<TOrder>(int capacity)
    where TOrder : struct, IHeapOrder
{
    private Candidate[] _items = new Candidate[Math.Max(capacity, 4)];

    public int Count { get; private set; }

    public Candidate Top => _items[0];

    /// <summary>The entries in heap order (not sorted).</summary>
    public ReadOnlySpan<Candidate> Items => _items.AsSpan(0, Count);

    public void Clear() => Count = 0;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Push(float distance, int id)
    {
        if (Count == _items.Length)
        {
            Array.Resize(ref _items, _items.Length * 2);
        }

        Candidate[] items = _items;
        int i = Count++;
        while (i > 0)
        {
            int parent = (i - 1) >> 1;
            if (!TOrder.Above(distance, items[parent].Distance))
            {
                break;
            }

            items[i] = items[parent];
            i = parent;
        }

        items[i] = new Candidate(distance, id);
    }

    public Candidate Pop()
    {
        Candidate top = _items[0];
        int n = --Count;
        if (n > 0)
        {
            SiftDown(_items[n], n);
        }

        return top;
    }

    /// <summary>
    /// Replaces the top by (<paramref name="distance"/>, <paramref name="id"/>): a Pop and a Push in one sift down. The
    /// result set W uses it once it holds ef entries and a nearer one comes: the old furthest leaves.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void ReplaceTop(float distance, int id) => SiftDown(new Candidate(distance, id), Count);

    /// <summary>Moves the entries (in heap order, not sorted) into <paramref name="buffer"/>, grown as needed, and empties the heap.</summary>
    public Span<Candidate> MoveTo(ref Candidate[] buffer)
    {
        int count = Count;
        Candidate[] destination = SelectionBuffers.Ensure(ref buffer, count);
        _items.AsSpan(0, count).CopyTo(destination);
        Count = 0;
        return destination.AsSpan(0, count);
    }

    /// <summary>Puts <paramref name="item"/> at the root of the first <paramref name="n"/> entries and sifts it down to its place.</summary>
    private void SiftDown(Candidate item, int n)
    {
        Candidate[] items = _items;
        int i = 0;
        while (true)
        {
            int child = (2 * i) + 1;
            if (child >= n)
            {
                break;
            }

            if (child + 1 < n && TOrder.Above(items[child + 1].Distance, items[child].Distance))
            {
                child++;
            }

            if (!TOrder.Above(items[child].Distance, item.Distance))
            {
                break;
            }

            items[i] = items[child];
            i = child;
        }

        items[i] = item;
    }

    /// <summary>
    /// Keeps the nearest <c>destination.Length</c> entries (this must be a furthest-first heap), writes them nearest first
    /// as <c>(id, distance)</c> pairs, with the id in <see cref="SearchResult.Key"/> for the caller to map, and empties
    /// the heap. Returns how many were written.
    /// </summary>
    public int DrainNearestFirst(Span<SearchResult> destination)
    {
        while (Count > destination.Length)
        {
            Pop();
        }

        int found = Count;
        for (int i = found - 1; i >= 0; i--)
        {
            Candidate c = Pop();
            destination[i] = new SearchResult((ulong)c.Id, c.Distance);
        }

        return found;
    }

    /// <summary>Empties the heap (this must be a furthest-first heap) into <paramref name="buffer"/>, grown as needed, nearest first.</summary>
    public Span<Candidate> DrainAllNearestFirst(ref Candidate[] buffer)
    {
        int found = Count;
        Candidate[] nearestFirst = SelectionBuffers.Ensure(ref buffer, found);
        for (int i = found - 1; i >= 0; i--)
        {
            nearestFirst[i] = Pop();
        }

        return nearestFirst.AsSpan(0, found);
    }
}
