using VectorIndex.Internal;

namespace VectorIndex.Tests;

/// <summary>The search's visited set against a HashSet: across resets (only the touched words are cleared), growth and limits.</summary>
public class VisitedSetTests
{
    [Fact]
    public void Marks_each_id_once_per_search_and_forgets_everything_at_reset()
    {
        var visited = new VisitedSet();
        var random = new Random(5);
        int[] sizes = [1, 63, 64, 65, 1000, 130, 5000, 5000, 70_000, 12];
        foreach (int size in sizes)
        {
            // Several searches per size: a dense one (most words), a sparse one, and ids past the limit.
            foreach (int visits in new[] { size * 3, 5, size / 2 + 1 })
            {
                visited.Reset(size);
                visited.Limit.Should().Be(size);
                var reference = new HashSet<int>();
                for (int i = 0; i < visits; i++)
                {
                    int id = random.Next(-3, size + 70);
                    bool expected = id >= 0 && id < size && reference.Add(id);
                    visited.TryVisit(id).Should().Be(expected, $"id {id} of {size} after {i} visits");
                }

                // Every id below the limit reports whether this search saw it, and is then seen.
                for (int id = 0; id < size; id++)
                {
                    visited.TryVisit(id).Should().Be(!reference.Contains(id));
                }
            }
        }
    }

    [Fact]
    public void A_larger_reset_after_a_full_search_starts_empty()
    {
        var visited = new VisitedSet();
        visited.Reset(100);
        for (int id = 0; id < 100; id++)
        {
            visited.TryVisit(id).Should().BeTrue();
        }

        visited.Reset(100_000); // grows: nothing of the last search carries over
        visited.TryVisit(99).Should().BeTrue();
        visited.TryVisit(99_999).Should().BeTrue();
        visited.TryVisit(100_000).Should().BeFalse("past the limit");
        visited.Reset(10);
        visited.TryVisit(99).Should().BeFalse("past the new, smaller limit");
        visited.TryVisit(9).Should().BeTrue();
        visited.Reset(100_000);
        visited.TryVisit(99_999).Should().BeTrue("a reset to a smaller limit and back clears the words set before");
    }
}
