using System.Globalization;
using VectorIndex;
using VectorIndex.AnnBench;

// ann-benchmarks-style runner: build VectorIndex over a dataset, sweep ef, print recall / QPS / latency.
//   dotnet run -c Release --project benchmarks/VectorIndex.AnnBench -- fashion-mnist
//   dotnet run -c Release --project benchmarks/VectorIndex.AnnBench -- clustered --n 100000 --d 128
//   dotnet run -c Release --project benchmarks/VectorIndex.AnnBench -- texmex --base sift_base.fvecs --query sift_query.fvecs --gt sift_groundtruth.ivecs
// Options: --peers hnswlib,faiss (same data and parameters, one table) --save (also measure Save / Load / OpenReadOnly)
//          --filter 500,100,10,1 (filtered search at these pass rates, per mille; --filter-ef 64; with --peers hnswlib,
//          also hnswlib 0.8.0's filtered searchKnn, built from the headers hnswlib-node ships on npm)
//          --index-file path (load the index from it when it exists, else save the first build there)
//          --churn 0.5 (last: remove that share of the keys, compact, add them back, sweep again; timed)
//          --out benchmarks/results/name (CSV, JSON, SVG) --M 16 --efc 200 --threads 1,2 --ef 10,20,40,80,120,200,400 --k 10 --repeat 3 --metric L2Squared --cache benchmarks/data
var args_ = new Args(args);
string source = args_.Positional ?? "fashion-mnist";
Metric metric = Enum.Parse<Metric>(args_.Get("metric", "L2Squared"), ignoreCase: true);
int m = args_.Int("M", 16);
int efc = args_.Int("efc", 200);
int k = args_.Int("k", 10);
int repeat = args_.Int("repeat", 3);
int[] threads = args_.Ints("threads", "1,2");
int[] efs = args_.Ints("ef", "10,20,40,80,120,200,400");
string cache = args_.Get("cache", Path.Combine("benchmarks", "data"));

Dataset data = source switch
{
    "fashion-mnist" => Dataset.FashionMnist(args_.Get("folder", "/usr/share/datasets/fashion-mnist")),
    "texmex" => Dataset.Texmex(args_.Require("base"), args_.Require("query"), args_.Optional("gt")),
    "uniform" or "clustered" => Dataset.Synthetic(source == "clustered", args_.Int("n", 100_000), args_.Int("queries", 1_000), args_.Int("d", 128), args_.Int("seed", 1)),
    _ => throw new ArgumentException($"Unknown dataset '{source}': fashion-mnist, texmex, uniform or clustered."),
};
data = GroundTruth.Ensure(data, cache, metric);
if (data.TruthK < k)
{
    throw new ArgumentException($"The ground truth has {data.TruthK} neighbours per query; k = {k} needs more.");
}

Console.WriteLine($"# {data.Name}: {data.BaseCount:N0} x {data.Dimensions}-d base, {data.QueryCount:N0} queries, {metric}, k = {k}");
Console.WriteLine($"# M = {m}, EfConstruction = {efc}; {Report.Machine()}");
Console.WriteLine();

var options = new HnswOptions { Dimensions = data.Dimensions, Metric = metric, M = m, EfConstruction = efc };
var builds = new List<BuildResult>();
var points = new List<SearchPoint>();
HnswIndex? kept = null;
string? indexFile = args_.Optional("index-file");
if (indexFile is not null && File.Exists(indexFile))
{
    // A saved build: sweeps and experiments on the same graph without paying for the build again.
    kept = HnswIndex.Load(indexFile);
    Console.Error.WriteLine($"  loaded {indexFile}: {kept.Count:N0} vectors");
    threads = [];
}

foreach (int t in threads)
{
    (HnswIndex index, BuildResult build) = Runner.Build(data, options, t);
    builds.Add(build);
    Console.Error.WriteLine($"  VectorIndex build with {t} thread(s): {build.Seconds:F2} s");
    if (kept is null)
    {
        kept = index; // the sweep runs on the first build (single-threaded by default: deterministic)
        if (indexFile is not null)
        {
            kept.Save(indexFile);
        }
    }
    else
    {
        index.Dispose();
    }
}

foreach (int ef in efs)
{
    points.Add(Runner.Sweep(data, kept!, ef, k, repeat));
}

string[] peers = args_.Get("peers", "").Split(',', StringSplitOptions.RemoveEmptyEntries);
if (peers.Length > 0 && metric != Metric.L2Squared)
{
    throw new ArgumentException("The peer harnesses run L2 only.");
}

foreach (string peer in peers)
{
    (List<BuildResult> peerBuilds, List<SearchPoint> peerPoints) = Peers.Run(peer, data, cache, m, efc, threads, efs, k, repeat);
    builds.AddRange(peerBuilds);
    points.AddRange(peerPoints);
}

Report.PrintBuilds(builds);
Report.PrintPoints(points, k);
if (peers.Length > 0)
{
    Report.PrintAtEqualRecall(points);
}

string stem = args_.Get("out", Path.Combine("benchmarks", "results", $"{data.Name}-M{m}-efc{efc}"));
Report.WriteFiles(stem, $"{data.Name}, M={m}, efConstruction={efc}, k={k}", builds, points);

if (args.Contains("--save"))
{
    PersistenceRun.Measure(data, kept!, Path.Combine(cache, "indexes"), k);
}

if (args_.Optional("filter") is not null)
{
    FilterRun.Measure(
        data, kept!, args_.Ints("filter", ""), args_.Int("filter-ef", 64), k, repeat,
        peers.Contains("hnswlib") ? (cache, m, efc, args_.Ints("threads", "1,2").Max()) : null);
}

if (args_.Optional("churn") is { } churn)
{
    // Last: it changes the index.
    ChurnRun.Measure(data, kept!, points, double.Parse(churn, CultureInfo.InvariantCulture), efs, k, repeat, Path.Combine(cache, "indexes"));
}

kept!.Dispose();

/// <summary>Minimal "--name value" parsing.</summary>
internal sealed class Args(string[] args)
{
    public string? Positional => args.Length > 0 && !args[0].StartsWith("--", StringComparison.Ordinal) ? args[0] : null;

    public string? Optional(string name)
    {
        int i = Array.IndexOf(args, "--" + name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    public string Get(string name, string fallback) => Optional(name) ?? fallback;

    public string Require(string name) => Optional(name) ?? throw new ArgumentException($"--{name} is required.");

    public int Int(string name, int fallback) => int.Parse(Get(name, fallback.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);

    public int[] Ints(string name, string fallback) =>
        [.. Get(name, fallback).Split(',', StringSplitOptions.RemoveEmptyEntries).Select(s => int.Parse(s, CultureInfo.InvariantCulture))];
}
