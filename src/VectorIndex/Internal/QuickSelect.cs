namespace VectorIndex.Internal;

/// <summary>A strict order on <typeparamref name="T"/> for <see cref="QuickSelect"/>: a struct, so it inlines.</summary>
internal interface IStrictOrder<T>
{
    /// <summary>True when <paramref name="a"/> comes before <paramref name="b"/>.</summary>
    static abstract bool Before(T a, T b);
}

/// <summary>Hoare's selection, shared by the answer's sort (<see cref="NearestSelection"/>) and the code's fit (quantiles).</summary>
internal static class QuickSelect
{
    /// <summary>
    /// Reorders <paramref name="items"/> so that its first <paramref name="n"/> entries are its first
    /// <paramref name="n"/> in <typeparamref name="TOrder"/>, in no particular order (quickselect, Hoare partition,
    /// median-of-three pivot).
    /// </summary>
    public static void Partition<T, TOrder>(Span<T> items, int n)
        where TOrder : struct, IStrictOrder<T>
    {
        int lo = 0, hi = items.Length - 1;

        // The boundary between n - 1 and n is inside [lo, hi]; each pass keeps the part that holds it.
        while (lo < n && n <= hi)
        {
            T pivot = MedianOfThree<T, TOrder>(items[lo], items[lo + ((hi - lo) >> 1)], items[hi]);
            int i = lo, j = hi;
            while (i <= j)
            {
                while (TOrder.Before(items[i], pivot))
                {
                    i++;
                }

                while (TOrder.Before(pivot, items[j]))
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

            // Now [lo, j] <= pivot <= [i, hi], and anything between j and i equals the pivot.
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

    private static T MedianOfThree<T, TOrder>(T a, T b, T c)
        where TOrder : struct, IStrictOrder<T>
    {
        if (TOrder.Before(b, a))
        {
            (a, b) = (b, a);
        }

        if (TOrder.Before(c, b))
        {
            b = TOrder.Before(c, a) ? a : c;
        }

        return b;
    }
}
