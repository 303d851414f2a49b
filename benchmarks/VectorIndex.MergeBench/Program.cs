using System.Diagnostics;
using VectorIndex;

// Usage: dotnet run -c Release -- [count] [dimensions] [pairs]
//    or: dotnet run -c Release -- multi [vectors per key]   (MultiVectorBench.cs)
if (args.Length > 0 && args[0] == "multi")
{
    VectorIndex.MergeBench.MultiVectorBench.Run(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 5);
    return;
}

// Builds a source index of `count` clustered vectors, then merges it into a new index `pairs` times each way,
// alternating (AddFrom first, then by hand, then AddFrom...), so the machine's load drifts over both alike.
int count = args.Length > 0 ? int.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture) : 50_000;
int dims = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 128;
int pairs = args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 3;

float[] data = Clustered(count, dims, seed: 1);
ulong[] keys = [.. Enumerable.Range(0, count).Select(i => (ulong)i + 1)];
var options = new HnswOptions { Dimensions = dims };
using var source = new HnswIndex(options);
var watch = Stopwatch.StartNew();
source.AddRange(keys, data);
Console.WriteLine($"source: {count} x {dims} built in {watch.Elapsed.TotalSeconds:F1} s on {Environment.ProcessorCount} cores");

// Two cases: an empty target (AddFrom copies the graph) and a target that already holds one vector (AddFrom inserts
// every vector, as the merge by hand does). Each pair runs AddFrom, then by hand, on a fresh target.
foreach (bool empty in new[] { true, false })
{
    var merged = new List<double>();
    var byHand = new List<double>();
    for (int pair = 0; pair < pairs; pair++)
    {
        using (HnswIndex target = Target(empty))
        {
            watch.Restart();
            target.AddFrom(source);
            merged.Add(watch.Elapsed.TotalSeconds);
        }

        using (HnswIndex target = Target(empty))
        {
            watch.Restart();
            ulong[] live = source.GetKeys();
            var vectors = new float[live.Length * dims];
            for (int i = 0; i < live.Length; i++)
            {
                source.TryGetVector(live[i], vectors.AsSpan(i * dims, dims));
            }

            target.AddRange(live, vectors);
            byHand.Add(watch.Elapsed.TotalSeconds);
        }

        Console.WriteLine($"{(empty ? "empty target" : "non-empty target")}, pair {pair + 1}: AddFrom {merged[^1]:F2} s, by hand {byHand[^1]:F2} s, ratio (by hand / AddFrom) {byHand[^1] / merged[^1]:F2}");
    }

    Console.WriteLine($"{(empty ? "empty target" : "non-empty target")}, median: AddFrom {Median(merged):F2} s, by hand {Median(byHand):F2} s, ratio {Median(byHand) / Median(merged):F2}");
}

HnswIndex Target(bool empty)
{
    var target = new HnswIndex(options);
    if (!empty)
    {
        target.Add(0, data.AsSpan(0, dims)); // key 0 is not among the source's keys (1..count)
    }

    return target;
}

static double Median(List<double> values)
{
    var sorted = values.Order().ToArray();
    return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
}

static float[] Clustered(int n, int d, int seed, int clusters = 100)
{
    var random = new Random(seed);
    var centres = new float[clusters * d];
    for (int i = 0; i < centres.Length; i++)
    {
        centres[i] = (float)((random.NextDouble() * 2) - 1);
    }

    var data = new float[n * d];
    for (int row = 0; row < n; row++)
    {
        int c = random.Next(clusters);
        for (int j = 0; j < d; j++)
        {
            double u1 = 1.0 - random.NextDouble(), u2 = random.NextDouble();
            double gaussian = Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
            data[(row * d) + j] = centres[(c * d) + j] + (0.35f * (float)gaussian);
        }
    }

    return data;
}
