using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace VectorIndex.AnnBench;

/// <summary>
/// Runs the peers' harnesses (benchmarks/peers) on the same data and parameters and reads their JSON-lines output:
/// hnswlib through its C++ harness built against Debian's libhnswlib-dev with -O3 -march=native, FAISS
/// IndexHNSWFlat through Debian's python3-faiss.
/// </summary>
internal static class Peers
{
    public static (List<BuildResult> Builds, List<SearchPoint> Points) Run(
        string peer, Dataset data, string cache, int m, int efc, int[] threads, int[] efs, int k, int repeat)
    {
        string root = RepositoryRoot();
        (string basePath, string queryPath, string truthPath) = ExportTexmex(data, cache);
        string efList = string.Join(',', efs);
        var builds = new List<BuildResult>();
        var points = new List<SearchPoint>();
        for (int i = 0; i < threads.Length; i++)
        {
            // The sweep runs on the first build only, as ours does.
            string sweep = i == 0 ? efList : "";
            string common = $"--base {basePath} --query {queryPath} --gt {truthPath} --k {k} --M {m} --efc {efc} --threads {threads[i]} --repeat {repeat}" +
                            (sweep.Length > 0 ? $" --ef {sweep}" : " --ef none");
            (string file, string arguments) = peer switch
            {
                "hnswlib" => (EnsureHnswlibHarness(root), common),
                "faiss" => ("/usr/bin/python3", $"{Path.Combine(root, "benchmarks", "peers", "faiss", "faiss_bench.py")} {common}"),
                _ => throw new ArgumentException($"Unknown peer '{peer}': hnswlib or faiss."),
            };
            foreach (JsonElement line in RunJsonLines(file, arguments))
            {
                string phase = line.GetProperty("phase").GetString()!;
                string library = line.GetProperty("library").GetString()!;
                if (phase == "build")
                {
                    builds.Add(new BuildResult(library, line.GetProperty("threads").GetInt32(), line.GetProperty("seconds").GetDouble(), 0, 0, data.BaseCount));
                }
                else if (phase == "memory" && builds.Count > 0 && line.TryGetProperty("index_bytes", out JsonElement bytes))
                {
                    builds[^1] = builds[^1] with { NativeBytes = bytes.GetInt64() };
                }
                else if (phase == "search")
                {
                    double qps = line.GetProperty("qps").GetDouble();
                    points.Add(new SearchPoint(
                        library,
                        line.GetProperty("ef").GetInt32(),
                        line.GetProperty("recall").GetDouble(),
                        qps,
                        double.NaN,
                        line.TryGetProperty("mean_us", out JsonElement mean) ? mean.GetDouble() : 1e6 / qps,
                        double.NaN,
                        double.NaN));
                }
            }
        }

        return (builds, points);
    }

    /// <summary>
    /// hnswlib's own filtered search (searchKnn with a BaseFilterFunctor, hnswlib 0.8.0: Debian's 0.6.2 has none) at
    /// each pass rate, over the first <paramref name="queryCount"/> queries, against the given exact filtered answers
    /// (k per query, -1 where fewer pass). One build on <paramref name="threads"/> threads.
    /// </summary>
    public static Dictionary<int, (double Recall, double Qps)> RunFiltered(
        Dataset data, string cache, int m, int efc, int threads, int ef, int k, int repeat, int queryCount, IReadOnlyList<(int PerMille, int[] Truth)> truths)
    {
        string root = RepositoryRoot();
        (string basePath, _, _) = ExportTexmex(data, cache);
        string folder = Path.GetDirectoryName(basePath)!;
        string queryPath = Path.Combine(folder, $"filter-query-{queryCount}.fvecs");
        WriteFvecs(queryPath, data.Queries[..(queryCount * data.Dimensions)], data.Dimensions);
        var filters = new List<string>();
        foreach ((int perMille, int[] truth) in truths)
        {
            string truthPath = Path.Combine(folder, $"filter-{perMille}-k{k}-q{queryCount}.ivecs");
            Dataset.WriteIvecs(truthPath, truth, k);
            filters.Add($"{perMille}:{truthPath}");
        }

        string binary = Path.Combine(root, "benchmarks", "peers", "hnswlib", "bin", "hnswlib_filter_bench");
        if (!File.Exists(binary))
        {
            RunJsonLines("/bin/bash", Path.Combine(root, "benchmarks", "peers", "install-deps.sh")).ToList();
            RunJsonLines("/bin/bash", $"{Path.Combine(root, "benchmarks", "peers", "hnswlib", "build.sh")} --filter").ToList();
        }

        var results = new Dictionary<int, (double Recall, double Qps)>();
        string arguments = $"--base {basePath} --query {queryPath} --k {k} --M {m} --efc {efc} --threads {threads} --repeat {repeat} --ef none " +
                           $"--filter {string.Join(',', filters)} --filter-ef {ef}";
        foreach (JsonElement line in RunJsonLines(binary, arguments))
        {
            if (line.GetProperty("phase").GetString() == "filter")
            {
                if (line.GetProperty("rejected_returned").GetInt64() != 0)
                {
                    throw new InvalidOperationException("hnswlib returned labels its filter rejects.");
                }

                results[line.GetProperty("per_mille").GetInt32()] = (line.GetProperty("recall").GetDouble(), line.GetProperty("qps").GetDouble());
            }
        }

        return results;
    }

    /// <summary>Writes base, queries and ground truth as TEXMEX files (once), the format every harness reads.</summary>
    private static (string Base, string Query, string Truth) ExportTexmex(Dataset data, string cache)
    {
        string folder = Path.GetFullPath(Path.Combine(cache, data.Name));
        Directory.CreateDirectory(folder);
        string basePath = Path.Combine(folder, "base.fvecs");
        string queryPath = Path.Combine(folder, "query.fvecs");
        string truthPath = Path.Combine(folder, "gt.ivecs");
        if (!File.Exists(basePath))
        {
            WriteFvecs(basePath + ".tmp", data.Base, data.Dimensions);
            File.Move(basePath + ".tmp", basePath, overwrite: true);
        }

        if (!File.Exists(queryPath))
        {
            WriteFvecs(queryPath, data.Queries, data.Dimensions);
        }

        Dataset.WriteIvecs(truthPath, data.Truth!, data.TruthK);
        return (basePath, queryPath, truthPath);
    }

    private static void WriteFvecs(string path, float[] rows, int d)
    {
        using var writer = new BinaryWriter(new BufferedStream(File.Create(path), 1 << 20));
        for (long i = 0; i < rows.LongLength / d; i++)
        {
            writer.Write(d);
            foreach (float x in rows.AsSpan((int)(i * d), d))
            {
                writer.Write(x);
            }
        }
    }

    private static string EnsureHnswlibHarness(string root)
    {
        string binary = Path.Combine(root, "benchmarks", "peers", "hnswlib", "bin", "hnswlib_bench");
        if (!File.Exists(binary))
        {
            RunJsonLines("/bin/bash", Path.Combine(root, "benchmarks", "peers", "install-deps.sh")).ToList();
            RunJsonLines("/bin/bash", Path.Combine(root, "benchmarks", "peers", "hnswlib", "build.sh")).ToList();
        }

        return binary;
    }

    private static IEnumerable<JsonElement> RunJsonLines(string file, string arguments)
    {
        Console.Error.WriteLine($"  running {Path.GetFileName(file)} {arguments}");
        var start = new ProcessStartInfo(file, arguments) { RedirectStandardOutput = true, UseShellExecute = false };
        using Process process = Process.Start(start) ?? throw new InvalidOperationException($"Cannot start {file}.");
        var lines = new List<JsonElement>();
        while (process.StandardOutput.ReadLine() is { } line)
        {
            if (line.StartsWith('{'))
            {
                lines.Add(JsonDocument.Parse(line).RootElement.Clone());
            }
        }

        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {arguments} exited with code {process.ExitCode.ToString(CultureInfo.InvariantCulture)}.");
        }

        return lines;
    }

    public static string RepositoryRoot()
    {
        string? dir = AppContext.BaseDirectory;
        while (dir is not null && !File.Exists(Path.Combine(dir, "VectorIndex.sln")))
        {
            dir = Path.GetDirectoryName(dir);
        }

        return dir ?? Directory.GetCurrentDirectory();
    }
}
