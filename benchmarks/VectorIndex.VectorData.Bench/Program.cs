using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.VectorData;
using VectorIndex;
using VectorIndex.VectorData;
using VectorIndex.VectorData.Bench;

// Usage: dotnet run -c Release --project benchmarks/VectorIndex.VectorData.Bench -- [count] [dimensions] [directory]
// Defaults: 100000 records of 128 clustered dimensions, in memory. With a directory the collection is durable and the
// run ends by reopening it. Prints upsert throughput, search QPS and recall@10 against exact search, unfiltered and
// with a 10% equality filter on an indexed property.
int count = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 100_000;
int dimensions = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 128;
string? directory = args.Length > 2 ? args[2] : null;
const int Queries = 200;
const int K = 10;

var random = new Random(42);
var centres = Enumerable.Range(0, 50).Select(_ => Gaussian(random, dimensions, 1.0)).ToArray();
float[] Point() => Add(centres[random.Next(centres.Length)], Gaussian(random, dimensions, 0.3));
var vectors = Enumerable.Range(0, count).Select(_ => Point()).ToArray();
var queries = Enumerable.Range(0, Queries).Select(_ => Point()).ToArray();

var definition = new VectorStoreCollectionDefinition
{
    Properties =
    [
        new VectorStoreKeyProperty(nameof(BenchRecord.Id), typeof(int)),
        new VectorStoreDataProperty(nameof(BenchRecord.Category), typeof(string)) { IsIndexed = true },
        new VectorStoreDataProperty(nameof(BenchRecord.Price), typeof(int)),
        new VectorStoreVectorProperty(nameof(BenchRecord.Vector), typeof(ReadOnlyMemory<float>), dimensions) { DistanceFunction = DistanceFunction.CosineSimilarity },
    ],
};
var options = new VectorIndexVectorStoreOptions { Directory = directory };
Console.WriteLine($"{count:N0} records x {dimensions} dims, {(directory is null ? "in memory" : "durable in " + directory)}, {Environment.ProcessorCount} cores");

var store = new VectorIndexVectorStore(options);
var collection = store.GetCollection<int, BenchRecord>("bench", definition);
await collection.EnsureCollectionDeletedAsync();
await collection.EnsureCollectionExistsAsync();

var watch = Stopwatch.StartNew();
const int Batch = 1000;
for (int start = 0; start < count; start += Batch)
{
    await collection.UpsertAsync(Enumerable.Range(start, Math.Min(Batch, count - start)).Select(i => new BenchRecord
    {
        Id = i,
        Category = "c" + (i % 10).ToString(CultureInfo.InvariantCulture),
        Price = i % 1000,
        Vector = vectors[i],
    }));
}

Console.WriteLine($"upsert (batches of {Batch}): {watch.Elapsed.TotalSeconds:F1} s, {count / watch.Elapsed.TotalSeconds:N0} records/s");

using var exact = new BruteForceIndex(dimensions, Metric.Cosine);
for (int i = 0; i < count; i++)
{
    exact.Add((ulong)i, vectors[i]);
}

await Measure("search", null, null);
await Measure("search, Category == \"c3\" (10%)", r => r.Category == "c3", key => key % 10 == 3);

if (directory is not null)
{
    store.Dispose();
    watch.Restart();
    store = new VectorIndexVectorStore(options);
    collection = store.GetCollection<int, BenchRecord>("bench", definition);
    var first = await collection.GetAsync(count / 2);
    Console.WriteLine($"reopen (snapshot + log replay): {watch.Elapsed.TotalSeconds:F2} s, record {count / 2} {(first is null ? "MISSING" : "present")}");
    await Measure("search after reopen", null, null);
}

store.Dispose();

async Task Measure(string label, System.Linq.Expressions.Expression<Func<BenchRecord, bool>>? filter, Func<ulong, bool>? exactFilter)
{
    var truth = queries.Select(q => exact.Search(q, K, exactFilter is null ? null : new SearchOptions { Filter = exactFilter })
        .Select(r => (int)r.Key).ToHashSet()).ToArray();
    var searchOptions = new VectorSearchOptions<BenchRecord> { Filter = filter };
    int hits = 0;
    var sw = Stopwatch.StartNew();
    for (int q = 0; q < queries.Length; q++)
    {
        await foreach (var result in collection.SearchAsync(queries[q], K, searchOptions))
        {
            if (truth[q].Contains(result.Record.Id))
            {
                hits++;
            }
        }
    }

    Console.WriteLine($"{label}: {queries.Length / sw.Elapsed.TotalSeconds:N0} queries/s (one thread), recall@{K} {(double)hits / (queries.Length * K):F3}");
}

static float[] Gaussian(Random random, int dimensions, double sigma)
{
    var v = new float[dimensions];
    for (int i = 0; i < dimensions; i++)
    {
        double u1 = 1.0 - random.NextDouble(), u2 = random.NextDouble();
        v[i] = (float)(sigma * Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
    }

    return v;
}

static float[] Add(float[] a, float[] b) => a.Zip(b, (x, y) => x + y).ToArray();
