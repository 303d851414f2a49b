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

    /// <summary>
    /// Quickselect (Hoare partition, median-of-three pivot): reorders <paramref name="items"/> so that its first
    /// <paramref name="n"/> entries are its nearest, in no particular order.
    /// </summary>
    public static void Select(Span<Candidate> items, int n)
    {
        int lo = 0, hi = items.Length - 1;

        // The boundary between n - 1 and n is inside [lo, hi]; each pass keeps the part that holds it.
        while (lo < n && n <= hi)
        {
            Candidate pivot = MedianOfThree(items[lo], items[lo + ((hi - lo) >> 1)], items[hi]);
            int i = lo, j = hi;
            while (i <= j)
            {
                while (Before(items[i], pivot))
                {
                    i++;
                }

                while (Before(pivot, items[j]))
                {
                    j--;
                }

                if (i <= j)
                {
                    (items[i], items[j]) = (items[j], items[i]);
                    i++;
                    j--;
                }
            }

            // Now [lo, j] <= pivot <= [i, hi], and anything between j and i is the pivot itself.
            if (n <= j)
            {
                hi = j;
            }
            else if (n >= i)
            {
                lo = i;
            }
            else
            {
                return;
            }
        }
    }

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

    private static Candidate MedianOfThree(Candidate a, Candidate b, Candidate c)
    {
        if (Before(b, a))
        {
            (a, b) = (b, a);
        }

        if (Before(c, b))
        {
            b = Before(c, a) ? a : c;
        }

        return b;
    }

    private static bool Before(Candidate x, Candidate y) => x.Distance < y.Distance || (x.Distance == y.Distance && x.Id < y.Id);
}
