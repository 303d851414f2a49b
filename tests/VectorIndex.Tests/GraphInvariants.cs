using VectorIndex.Graph;

namespace VectorIndex.Tests;

/// <summary>The structural properties every HNSW graph must keep, checked over every node and layer.</summary>
internal static class GraphInvariants
{
    public static void Check(HnswIndex index)
    {
        HnswGraph g = index.Graph;
        int n = g.NodeCount;
        if (n == 0)
        {
            g.EntryPoint.Should().Be(-1);
            return;
        }

        int maxLevel = Enumerable.Range(0, n).Where(id => !g.IsFree(id)).Select(g.LevelOf).DefaultIfEmpty(-1).Max();
        if (maxLevel < 0)
        {
            g.EntryPoint.Should().Be(-1, "every slot is free");
            return;
        }

        g.MaxLevel.Should().Be(maxLevel, "the entry point sits on the top layer");
        g.LevelOf(g.EntryPoint).Should().Be(maxLevel);
        g.IsFree(g.EntryPoint).Should().BeFalse("the entry point is a node in the graph");

        var links = new int[g.M0];
        for (int id = 0; id < n; id++)
        {
            for (int level = 0; level <= g.LevelOf(id); level++)
            {
                int count = g.ReadLinks(id, level, links);
                count.Should().BeInRange(0, level == 0 ? g.M0 : g.M, $"node {id} on layer {level}");
                var seen = new HashSet<int>();
                foreach (int e in links.AsSpan(0, count))
                {
                    e.Should().NotBe(id, $"node {id} links to itself on layer {level}");
                    e.Should().BeInRange(0, n - 1);
                    g.IsFree(e).Should().BeFalse($"node {id} links on layer {level} to the free slot {e}");
                    g.LevelOf(e).Should().BeGreaterThanOrEqualTo(level, $"node {id} links on layer {level} to node {e} below it");
                    seen.Add(e).Should().BeTrue($"node {id} links twice to {e} on layer {level}");
                }

                if (g.IsFree(id))
                {
                    count.Should().Be(0, $"the free slot {id} keeps no links");
                }
                else if (n - g.FreeCount > 1 && level == 0)
                {
                    count.Should().BeGreaterThan(0, $"node {id} has no links on layer 0");
                }
            }
        }

        // Every node is reachable from the entry point on layer 0.
        var reached = new bool[n];
        var queue = new Queue<int>();
        reached[g.EntryPoint] = true;
        queue.Enqueue(g.EntryPoint);
        int reachedCount = 1;
        while (queue.Count > 0)
        {
            int id = queue.Dequeue();
            int count = g.ReadLinks(id, 0, links);
            foreach (int e in links.AsSpan(0, count))
            {
                if (!reached[e])
                {
                    reached[e] = true;
                    reachedCount++;
                    queue.Enqueue(e);
                }
            }
        }

        reachedCount.Should().Be(n - g.FreeCount, "every node but the free slots is reachable from the entry point on layer 0");
    }
}
