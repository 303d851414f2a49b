using System.Diagnostics;
using System.Globalization;
using System.Linq.Expressions;
using Microsoft.Extensions.VectorData;
using VectorIndex;
using VectorIndex.VectorData;
using VectorIndex.VectorData.Bench;

// Usage: dotnet run -c Release --project benchmarks/VectorIndex.VectorData.Bench -- [count] [dimensions] [directory]
// Defaults: 100,000 records of 384 clustered dimensions (the size of all-MiniLM-L6-v2 embeddings). Measures, on one
// thread for searches:
//   - HnswIndex directly (AddRange, Search, Search with the filters' key sets built once) with the connector's graph
//     settings: the baseline;
//   - the connector in memory: batched upserts, search QPS and recall@10, and equality filters on indexed properties
//     passing 50%, 5% and 0.1% of the records;
//   - the connector durable (in the directory, or a temporary folder that is deleted): batched upserts, reopen, search.
int count = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 100_000;
int dimensions = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 384;
string directory = args.Length > 2 ? args[2] : Path.Combine(Path.GetTempPath(), "vectorindex-bench-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
bool temporary = args.Length <= 2;
const int Queries = 300;
const int Warmup = 30;
const int K = 10;
const int Batch = 1000;

var random = new Random(42);
var centres = Enumerable.Range(0, 50).Select(_ => Gaussian(random, dimensions, 1.0)).ToArray();
float[] Point() => Add(centres[random.Next(centres.Length)], Gaussian(random, dimensions, 0.3));
var vectors = Enumerable.Range(0, count).Select(_ => Point()).ToArray();
var queries = Enumerable.Range(0, Queries).Select(_ => Point()).ToArray();
Console.WriteLine($"{count:N0} records x {dimensions} dims, {Environment.ProcessorCount} cores, {Queries} queries, k = {K}");

// The cases: label, connector filter, the same test on keys for exact search.
var cases = new (string Label, Expression<Func<BenchRecord, bool>>? Filter, Func<ulong, bool>? Exact)[]
{
    ("no filter", null, null),
    ("Half == \"h1\" (50%)", r => r.Half == "h1", key => key % 2 == 1),
    ("Category == \"c7\" (5%)", r => r.Category == "c7", key => key % 20 == 7),
    ("Bucket == 123 (0.1%)", r => r.Bucket == 123, key => key % 1000 == 123),
};

// Exact answers first, then the exact index is freed: the runs below each hold their own copy of the vectors.
var watch = Stopwatch.StartNew();
HashSet<int>[][] truth;
using (var exact = new BruteForceIndex(dimensions, Metric.Cosine))
{
    for (int i = 0; i < count; i++)
    {
        exact.Add((ulong)i, vectors[i]);
    }

    truth = [.. cases.Select(c => queries.Select(q => exact.Search(q, K, c.Exact is null ? null : new SearchOptions { Filter = c.Exact })
        .Select(r => (int)r.Key).ToHashSet()).ToArray())];
}

Console.WriteLine($"exact answers: {watch.Elapsed.TotalSeconds:F1} s");

// Baseline: the core index alone, with the settings the connector uses by default (M 16, efConstruction 200, ef 64).
using (var hnsw = new HnswIndex(new HnswOptions { Dimensions = dimensions, Metric = Metric.Cosine }))
{
    ulong[] keys = [.. Enumerable.Range(0, count).Select(i => (ulong)i)];
    float[] flat = [.. vectors.SelectMany(v => v)];
    watch.Restart();
    hnsw.AddRange(keys, flat);
    Console.WriteLine($"HnswIndex.AddRange: {watch.Elapsed.TotalSeconds:F1} s, {count / watch.Elapsed.TotalSeconds:N0} vectors/s");
    for (int q = 0; q < Warmup; q++)
    {
        hnsw.Search(queries[q], K);
    }

    int hits = 0;
    watch.Restart();
    for (int q = 0; q < Queries; q++)
    {
        foreach (var r in hnsw.Search(queries[q], K))
        {
            hits += truth[0][q].Contains((int)r.Key) ? 1 : 0;
        }
    }

    Report("HnswIndex.Search, no filter", watch.Elapsed, hits);

    // The same filters given to the index as a key set built once, as the connector's inverted index would give it
    // if it did not have to build the set for each query: what is left of the filtered cost is the index's own.
    foreach (var (c, i) in cases.Select((c, i) => (c, i)).Skip(1))
    {
        var allowed = new SearchOptions { AllowedKeys = keys.Where(c.Exact!).ToHashSet() };
        hits = 0;
        watch.Restart();
        for (int q = 0; q < Queries; q++)
        {
            foreach (var r in hnsw.Search(queries[q], K, allowed))
            {
                hits += truth[i][q].Contains((int)r.Key) ? 1 : 0;
            }
        }

        Report("HnswIndex.Search, AllowedKeys prebuilt, " + c.Label, watch.Elapsed, hits);
    }
}

// The connector in memory.
using (var store = new VectorIndexVectorStore())
{
    var collection = await Load(store, "in memory");
    foreach (var (c, i) in cases.Select((c, i) => (c, i)))
    {
        await Measure(collection, "connector, " + c.Label, c.Filter, truth[i]);
    }
}

// The connector durable: every batch is logged and fsync'd before UpsertAsync returns.
var options = new VectorIndexVectorStoreOptions { Directory = directory };
try
{
    using (var store = new VectorIndexVectorStore(options))
    {
        await Load(store, "durable in " + directory);
    }

    watch.Restart();
    using (var store = new VectorIndexVectorStore(options))
    {
        var collection = store.GetCollection<int, BenchRecord>("bench", Definition());
        var first = await collection.GetAsync(count / 2);
        Console.WriteLine($"reopen (snapshot written on close): {watch.Elapsed.TotalSeconds:F2} s, record {count / 2} {(first is null ? "MISSING" : "present")}");
        await Measure(collection, "connector after reopen, no filter", null, truth[0]);
    }
}
finally
{
    if (temporary && Directory.Exists(directory))
    {
        Directory.Delete(directory, recursive: true);
    }
}

async Task<VectorStoreCollection<int, BenchRecord>> Load(VectorIndexVectorStore store, string where)
{
    var collection = store.GetCollection<int, BenchRecord>("bench", Definition());
    await collection.EnsureCollectionDeletedAsync();
    await collection.EnsureCollectionExistsAsync();
    var sw = Stopwatch.StartNew();
    for (int start = 0; start < count; start += Batch)
    {
        await collection.UpsertAsync(Enumerable.Range(start, Math.Min(Batch, count - start)).Select(i => new BenchRecord
        {
            Id = i,
            Half = "h" + (i % 2).ToString(CultureInfo.InvariantCulture),
            Category = "c" + (i % 20).ToString(CultureInfo.InvariantCulture),
            Bucket = i % 1000,
            Price = i % 997,
            Vector = vectors[i],
        }));
    }

    Console.WriteLine($"upsert {where} (batches of {Batch}): {sw.Elapsed.TotalSeconds:F1} s, {count / sw.Elapsed.TotalSeconds:N0} records/s");
    return collection;
}

async Task Measure(VectorStoreCollection<int, BenchRecord> collection, string label, Expression<Func<BenchRecord, bool>>? filter, HashSet<int>[] expected)
{
    var searchOptions = new VectorSearchOptions<BenchRecord> { Filter = filter };
    for (int q = 0; q < Warmup; q++)
    {
        await foreach (var _ in collection.SearchAsync(queries[q], K, searchOptions))
        {
        }
    }

    int hits = 0;
    var sw = Stopwatch.StartNew();
    for (int q = 0; q < Queries; q++)
    {
        await foreach (var result in collection.SearchAsync(queries[q], K, searchOptions))
        {
            hits += expected[q].Contains(result.Record.Id) ? 1 : 0;
        }
    }

    Report(label, sw.Elapsed, hits);
}

void Report(string label, TimeSpan elapsed, int hits) =>
    Console.WriteLine($"{label}: {Queries / elapsed.TotalSeconds:N0} queries/s ({elapsed.TotalMilliseconds * 1000 / Queries:N0} us each, one thread), recall@{K} {(double)hits / (Queries * K):F3}");

VectorStoreCollectionDefinition Definition() => new()
{
    Properties =
    [
        new VectorStoreKeyProperty(nameof(BenchRecord.Id), typeof(int)),
        new VectorStoreDataProperty(nameof(BenchRecord.Half), typeof(string)) { IsIndexed = true },
        new VectorStoreDataProperty(nameof(BenchRecord.Category), typeof(string)) { IsIndexed = true },
        new VectorStoreDataProperty(nameof(BenchRecord.Bucket), typeof(int)) { IsIndexed = true },
        new VectorStoreDataProperty(nameof(BenchRecord.Price), typeof(int)),
        new VectorStoreVectorProperty(nameof(BenchRecord.Vector), typeof(ReadOnlyMemory<float>), dimensions) { DistanceFunction = DistanceFunction.CosineSimilarity },
    ],
};

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
