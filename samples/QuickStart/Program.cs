// QuickStart: build an HNSW index over 100,000 clustered 128-d vectors, search it, and check it against exact search.
// Everything is generated in process; nothing to download. Run: dotnet run -c Release --project samples/QuickStart
using System.Diagnostics;
using VectorIndex;

const int Count = 100_000;
const int Dimensions = 128;
const int QueryCount = 1_000;
const int K = 10;

Console.WriteLine($"Generating {Count:N0} clustered {Dimensions}-d vectors and {QueryCount:N0} queries...");
float[] vectors = Clustered(Count, Dimensions, seed: 1);
float[] queries = Clustered(QueryCount, Dimensions, seed: 2);
ulong[] keys = new ulong[Count];
for (int i = 0; i < Count; i++)
{
    keys[i] = (ulong)i;
}

// 1. Create the index: the dimension count is the only required option.
using var index = new HnswIndex(new HnswOptions
{
    Dimensions = Dimensions,
    Metric = Metric.L2Squared, // or Metric.Cosine / Metric.InnerProduct for embeddings
    M = 16,                    // links per node (layer 0 keeps 2 * M)
    EfConstruction = 200,      // build breadth: higher builds a better graph, slower
    EfSearch = 64,             // default search breadth: higher finds more true neighbours, slower
});

// 2. Add vectors: AddRange inserts on all cores and reports progress; Add(key, vector) adds one at a time.
//    ConsoleProgress (beside this file) shows it in place on a terminal and as a line every few seconds in a log.
var build = Stopwatch.StartNew();
var progress = new ConsoleProgress(done => $"Building: {done,9:N0} / {Count:N0} ({100.0 * done / Count,5:F1}%, {build.Elapsed.TotalSeconds:F0} s)");
index.AddRange(keys, vectors, progress: progress);
build.Stop();
progress.Complete($"Built {index.Count:N0} vectors in {build.Elapsed.TotalSeconds:F1} s on {Environment.ProcessorCount} threads" +
                  $" ({index.NativeMemoryBytes / (1024.0 * 1024):F0} MiB of vectors and links).");

// 3. Search: the k nearest keys, nearest first.
IReadOnlyList<SearchResult> first = index.Search(queries.AsSpan(0, Dimensions), K);
Console.WriteLine($"Nearest to query 0: {string.Join(", ", first.Take(3).Select(r => $"key {r.Key} (distance {r.Distance:F1})"))}, ...");

// 4. Exact answers for the same queries, from the brute-force index, to measure recall.
using var exact = new BruteForceIndex(Dimensions, Metric.L2Squared);
for (int i = 0; i < Count; i++)
{
    exact.Add(keys[i], vectors.AsSpan(i * Dimensions, Dimensions));
}

var truth = new HashSet<ulong>[QueryCount];
Parallel.For(0, QueryCount, q => truth[q] = [.. exact.Search(queries.AsSpan(q * Dimensions, Dimensions), K).Select(r => r.Key)]);

// 5. Time the searches on one thread with the allocation-free Span overload, at a few search breadths.
Console.WriteLine();
Console.WriteLine("   ef   recall@10   queries/s (1 thread)");
var results = new SearchResult[K];
foreach (int ef in new[] { 16, 32, 64, 128, 256 })
{
    var options = new SearchOptions { Ef = ef };
    int hits = 0;
    for (int q = 0; q < QueryCount; q++)
    {
        int found = index.Search(queries.AsSpan(q * Dimensions, Dimensions), results, options);
        for (int j = 0; j < found; j++)
        {
            hits += truth[q].Contains(results[j].Key) ? 1 : 0;
        }
    }

    // Timed separately, after a warm-up pass, so recall bookkeeping is not in the figure.
    var timer = Stopwatch.StartNew();
    for (int q = 0; q < QueryCount; q++)
    {
        index.Search(queries.AsSpan(q * Dimensions, Dimensions), results, options);
    }

    timer.Stop();
    Console.WriteLine($"{ef,5}   {(double)hits / (QueryCount * K),9:F4}   {QueryCount / timer.Elapsed.TotalSeconds,12:N0}");
}

// 6. Updates and removals: Add on an existing key replaces its vector; Remove hides the key from every later search.
index.Remove(first[0].Key);
Console.WriteLine();
Console.WriteLine($"Removed key {first[0].Key}; the nearest to query 0 is now key {index.Search(queries.AsSpan(0, Dimensions), 1)[0].Key}.");

// Gaussian clusters around random centres: closer to real embeddings than uniform noise.
static float[] Clustered(int n, int d, int seed)
{
    const int Clusters = 100;
    var random = new Random(seed);
    var centres = new float[Clusters * d];
    var centreRandom = new Random(12345); // the same centres for vectors and queries
    for (int i = 0; i < centres.Length; i++)
    {
        centres[i] = (float)((centreRandom.NextDouble() * 2) - 1);
    }

    var data = new float[n * d];
    for (int row = 0; row < n; row++)
    {
        int c = random.Next(Clusters);
        for (int j = 0; j < d; j++)
        {
            double u1 = 1.0 - random.NextDouble();
            double u2 = random.NextDouble();
            double gaussian = Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
            data[(row * d) + j] = centres[(c * d) + j] + (float)(0.3 * gaussian);
        }
    }

    return data;
}
