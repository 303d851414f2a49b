namespace VectorIndex.Internal;

/// <summary>
/// Sorting only what an answer reads: the nearest few of an unsorted set of candidates (the result set W of a search,
/// copied out of its heap), nearest first, ties by id (<see cref="ByDistance"/>), so answers are deterministic. A
/// search of breadth ef = 640 that answers k = 10 used to pop all 640 entries off W (640 sift-downs); selecting the
/// 10 or 40 it reads is one linear pass and a small sort.
/// </summary>
internal static class NearestSelection
{
    /// <summary>
    /// Reorders <paramref name="items"/> so that its first <paramref name="want"/> entries (all, when fewer) are its
    /// nearest, sorted nearest first; the rest follow in no particular order, each no nearer than those.
    /// </summary>
    public static void SortNearest(Span<Candidate> items, int want)
    {
        if (want < items.Length)
        {
            Select(items, want);
        }
        else
        {
            want = items.Length;
        }

        Sort(items[..want]);
    }

    /// <summary>Reorders <paramref name="items"/> so that its first <paramref name="n"/> entries are its nearest, in no particular order.</summary>
    public static void Select(Span<Candidate> items, int n) => QuickSelect.Partition<Candidate, NearerFirst>(items, n);

    /// <summary>Insertion sort for the few entries an answer reads (the common case), heap sort beyond.</summary>
    private static void Sort(Span<Candidate> items)
    {
        if (items.Length <= 32)
        {
            for (int i = 1; i < items.Length; i++)
            {
                Candidate c = items[i];
                int j = i - 1;
                for (; j >= 0 && Before(c, items[j]); j--)
                {
                    items[j + 1] = items[j];
                }

                items[j + 1] = c;
            }

            return;
        }

        for (int i = (items.Length / 2) - 1; i >= 0; i--)
        {
            SiftDown(items, i, items.Length);
        }

        for (int end = items.Length - 1; end > 0; end--)
        {
            (items[0], items[end]) = (items[end], items[0]);
            SiftDown(items, 0, end);
        }
    }

    /// <summary>The max-heap sift of heap sort over the first <paramref name="n"/> entries.</summary>
    private static void SiftDown(Span<Candidate> items, int i, int n)
    {
        Candidate item = items[i];
        while (true)
        {
            int child = (2 * i) + 1;
            if (child >= n)
            {
                break;
            }

            if (child + 1 < n && Before(items[child], items[child + 1]))
            {
                child++;
            }

            if (!Before(item, items[child]))
            {
                break;
            }

            items[i] = items[child];
            i = child;
        }

        items[i] = item;
    }

    private static bool Before(Candidate x, Candidate y) => NearerFirst.Before(x, y);

    /// <summary>Nearer first, ties by id (as <see cref="ByDistance"/>).</summary>
    private readonly struct NearerFirst : IStrictOrder<Candidate>
    {
        public static bool Before(Candidate a, Candidate b) => a.Distance < b.Distance || (a.Distance == b.Distance && a.Id < b.Id);
    }
}
