using VectorIndex.Internal;

namespace VectorIndex.Tests;

/// <summary>The selection that sorts only what an answer reads, and the heap's replace-top, against a full sort.</summary>
public sealed class NearestSelectionTests
{
    [Fact]
    public void SortNearest_puts_the_nearest_first_in_order_for_every_length_and_count()
    {
        var random = new Random(17);
        for (int length = 0; length <= 160; length++)
        {
            // Few distinct distances, so ties (broken by id) are common.
            Candidate[] items = [.. Enumerable.Range(0, length).Select(i => new Candidate(random.Next(0, Math.Max(1, length / 3)), 1_000 - i))];
            Candidate[] expected = [.. items.OrderBy(c => c.Distance).ThenBy(c => c.Id)];
            foreach (int want in new[] { 0, 1, 2, 10, 33, 40, length / 2, length - 1, length, length + 5 }.Where(w => w >= 0).Distinct())
            {
                Candidate[] copy = Shuffled(items, random);
                NearestSelection.SortNearest(copy, want);
                int sorted = Math.Min(want, length);
                copy.AsSpan(0, sorted).ToArray().Should().Equal(expected.AsSpan(0, sorted).ToArray(), "length {0}, want {1}", length, want);
                copy.OrderBy(c => c.Distance).ThenBy(c => c.Id).Should().Equal(expected, "nothing lost or repeated (length {0}, want {1})", length, want);

                Candidate[] selected = Shuffled(items, random);
                NearestSelection.Select(selected, sorted);
                selected.Take(sorted).OrderBy(c => c.Distance).ThenBy(c => c.Id).Should().Equal(expected.Take(sorted), "length {0}, want {1}", length, want);
            }
        }
    }

    private static Candidate[] Shuffled(Candidate[] items, Random random)
    {
        Candidate[] copy = [.. items];
        random.Shuffle(copy);
        return copy;
    }

    [Fact]
    public void ReplaceTop_keeps_the_nearest_ef_as_push_and_pop_did()
    {
        var random = new Random(5);
        const int ef = 37;
        var replaced = new BinaryHeap<FurthestFirst>(4);
        var pushedAndPopped = new BinaryHeap<FurthestFirst>(4);
        for (int i = 0; i < 5_000; i++)
        {
            float d = random.Next(0, 2_000);
            if (replaced.Count < ef)
            {
                replaced.Push(d, i);
            }
            else if (d < replaced.Top.Distance)
            {
                replaced.ReplaceTop(d, i);
            }

            pushedAndPopped.Push(d, i);
            if (pushedAndPopped.Count > ef)
            {
                pushedAndPopped.Pop();
            }

            replaced.Top.Distance.Should().Be(pushedAndPopped.Top.Distance);
        }

        Candidate[] a = [], b = [];
        replaced.MoveTo(ref a).ToArray().Select(c => c.Distance).Order().Should().Equal(
            pushedAndPopped.DrainAllNearestFirst(ref b).ToArray().Select(c => c.Distance));
    }
}
