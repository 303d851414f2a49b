using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.VectorData;
using SemanticSearch;
using VectorIndex.VectorData;

// Semantic search over Debian's package descriptions, embedded by all-MiniLM-L6-v2, through Microsoft.Extensions.VectorData.
//   dotnet run -c Release --project samples/SemanticSearch -- [--data DIR] [--limit N] [--section NAME] [--top N] [query ...]
// The first run embeds the corpus into a durable collection; later runs open it and search at once. Without a query,
// it asks for queries at a prompt.
string? dataOption = null, section = null;
int top = 5;
int? limit = null;
var queries = new List<string>();
for (int i = 0; i < args.Length; i++)
{
    string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
    switch (args[i])
    {
        case "--data": dataOption = Value(); break;
        case "--section": section = Value(); break;
        case "--top": top = int.Parse(Value(), CultureInfo.InvariantCulture); break;
        case "--limit": limit = int.Parse(Value(), CultureInfo.InvariantCulture); break;
        case "-h" or "--help":
            Console.WriteLine("usage: SemanticSearch [--data DIR] [--limit N] [--section NAME] [--top N] [query ...]");
            return 0;
        default: queries.Add(args[i]); break;
    }
}

string data = Path.GetFullPath(dataOption ?? DefaultDataDirectory());
using var generator = new MiniLmEmbeddingGenerator();

// The store embeds the Embedding property on upsert and the query string on search with this generator, and keeps
// each collection in a folder under Directory (write-ahead log and snapshots), so the next run starts from disk.
using var store = new VectorIndexVectorStore(new VectorIndexVectorStoreOptions { Directory = data, EmbeddingGenerator = generator });
var packages = store.GetCollection<string, PackageRecord>("debian-packages");
await packages.EnsureCollectionExistsAsync();

var (corpus, source) = DebianPackages.Load();
if (limit is { } n)
{
    corpus = [.. corpus.Take(n)];
}

// Only what the collection does not hold yet is embedded: the second run embeds nothing, and an interrupted first run
// resumes where it stopped (each batch is durable once UpsertAsync returns).
var stored = new HashSet<string>(StringComparer.Ordinal);
await foreach (var record in packages.GetAsync(corpus.Select(p => p.Name)))
{
    stored.Add(record.Name);
}

var missing = corpus.Where(p => !stored.Contains(p.Name)).ToList();
Console.WriteLine($"{corpus.Count:N0} packages from {source}; {stored.Count:N0} already in {data}");
if (missing.Count > 0)
{
    const int Batch = 256;
    var progress = new ConsoleProgress(missing.Count, "embedded");
    var watch = Stopwatch.StartNew();
    for (int start = 0; start < missing.Count; start += Batch)
    {
        var batch = missing.GetRange(start, Math.Min(Batch, missing.Count - start));
        foreach (var package in batch)
        {
            package.Embedding = package.Description;
        }

        await packages.UpsertAsync(batch);
        progress.Report(start + batch.Count);
    }

    progress.Complete();
    Console.WriteLine($"embedded {missing.Count:N0} descriptions in {watch.Elapsed.TotalSeconds:F0} s ({missing.Count / watch.Elapsed.TotalSeconds:N0}/s)");
}

if (queries.Count > 0)
{
    foreach (string query in queries)
    {
        await Search(query);
    }
}
else
{
    Console.WriteLine("Type a query (an empty line quits).");
    while (true)
    {
        Console.Write("> ");
        string? query = Console.ReadLine();
        if (string.IsNullOrWhiteSpace(query))
        {
            break;
        }

        await Search(query);
    }
}

return 0;

async Task Search(string query)
{
    // Section is IsIndexed, so this equality filter is answered from the collection's inverted index.
    var options = new VectorSearchOptions<PackageRecord> { Filter = section is null ? null : r => r.Section == section };
    var watch = Stopwatch.StartNew();
    var results = new List<VectorSearchResult<PackageRecord>>();
    await foreach (var result in packages.SearchAsync(query, top, options))
    {
        results.Add(result);
    }

    Console.WriteLine($"\"{query}\"{(section is null ? string.Empty : $" in section {section}")} ({watch.Elapsed.TotalMilliseconds:F0} ms, embedding included)");
    foreach (var result in results)
    {
        var r = result.Record;
        string synopsis = r.Description.Split('\n', 2)[0];
        Console.WriteLine($"  {result.Score,6:F3}  {r.Name,-28} {r.Section,-14} {synopsis}");
    }

    if (results.Count == 0)
    {
        Console.WriteLine("  (no match)");
    }
}

static string DefaultDataDirectory()
{
    // ~/.local/share on Linux, %LOCALAPPDATA% on Windows; the working directory when there is none (a bare container).
    string local = Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData);
    return string.IsNullOrEmpty(local)
        ? "semantic-search-data"
        : Path.Combine(local, "VectorIndex", "semantic-search");
}
