using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using VectorIndex.Persistence;

namespace VectorIndex.AnnBench;

/// <summary>
/// The resident set of each saved index opened with <see cref="HnswIndex.OpenReadOnly(string)"/> (checksums verified,
/// the default), measured in a child process of the runner (<see cref="ChildCommand"/>) so that the build's heap and
/// the other indexes do not count: the Rss of the file's mapping (and of its float section), and the anonymous bytes
/// the open and the searches added, after the open, after all queries with <c>Rerank = 0</c> (the walk alone), then
/// after the first 100 queries with the default re-rank and after all of them.
/// </summary>
internal static class ResidentRun
{
    /// <summary>
    /// The hidden sub-command the child runs: <c>--resident-child INDEX QUERIES MODE EF K [evict]</c>; with
    /// <c>evict</c> (by hand only) the float section is also dropped from the page cache after the open.
    /// </summary>
    public const string ChildCommand = "--resident-child";

    private const int FirstQueries = 100;

    /// <summary>One stage of a child's report: the mapping's resident bytes, of them the float section's, and the anonymous bytes added.</summary>
    internal readonly record struct Stage(long Mapped, long Floats, long Anonymous);

    /// <summary>What a child measured for one file.</summary>
    internal sealed record Measurement(Quantization Mode, long FileBytes, int Nodes, int Queries, Stage Open, Stage Walk, Stage First, Stage Sweep);

    /// <summary>Runs a child per file, in order, and prints the table (Linux only: smaps and pagemap).</summary>
    public static void Measure(Dataset data, IReadOnlyList<(Quantization Mode, string Path)> files, int ef, int k)
    {
        if (!OperatingSystem.IsLinux())
        {
            Console.WriteLine();
            Console.WriteLine("(resident set of OpenReadOnly: measured on Linux only, from /proc/self/smaps)");
            return;
        }

        string queries = Path.Combine(Path.GetTempPath(), $"vectorindex-queries-{Environment.ProcessId}.bin");
        try
        {
            using (var file = new FileStream(queries, FileMode.Create, FileAccess.Write))
            {
                file.Write(BitConverter.GetBytes(data.QueryCount));
                file.Write(BitConverter.GetBytes(data.Dimensions));
                file.Write(MemoryMarshal.AsBytes(data.Queries.AsSpan()));
            }

            var measured = new List<Measurement>();
            foreach ((Quantization mode, string path) in files)
            {
                Console.Error.WriteLine($"  resident set: {mode}, a child process opens {path}");
                measured.Add(RunChild(mode, path, queries, ef, k));
            }

            Console.WriteLine();
            Console.WriteLine(Table(measured, ef));
        }
        finally
        {
            File.Delete(queries);
        }
    }

    /// <summary>The markdown table: per index, MiB resident at each stage, then bytes per vector and the ratio to the float index's.</summary>
    internal static string Table(IReadOnlyList<Measurement> measured, int ef)
    {
        static string MiB(long bytes) => (bytes / 1048576.0).ToString("F1", CultureInfo.InvariantCulture);
        static string Mapped(Stage s) => $"{MiB(s.Mapped)} ({MiB(s.Floats)})";
        static double PerVector(Stage s, int nodes) => (double)(s.Mapped + s.Anonymous) / nodes;
        Measurement? floats = measured.FirstOrDefault(m => m.Mode == Quantization.None);
        string Ratio(Measurement m, Func<Measurement, Stage> stage) =>
            floats is null ? "-" : (PerVector(stage(m), m.Nodes) / PerVector(stage(floats), floats.Nodes)).ToString("F2", CultureInfo.InvariantCulture) + "x";

        int queries = measured.Count > 0 ? measured[0].Queries : 0;
        var text = new System.Text.StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"| OpenReadOnly (verified), ef {ef} | file MiB | mapped MiB (floats) after open | then {queries:N0} queries, Rerank 0 | then {FirstQueries} queries, default re-rank | then all {queries:N0} | anonymous MiB added (open / end) | resident bytes / vector (open / Rerank 0 / end) | x the float index's (open / Rerank 0 / end) |");
        text.AppendLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (Measurement m in measured)
        {
            text.AppendLine(CultureInfo.InvariantCulture,
                $"| {Runner.LibraryName(m.Mode, null)} | {MiB(m.FileBytes)} | {Mapped(m.Open)} | {Mapped(m.Walk)} | {Mapped(m.First)} | {Mapped(m.Sweep)} | {MiB(m.Open.Anonymous)} / {MiB(m.Sweep.Anonymous)} | {PerVector(m.Open, m.Nodes):N0} / {PerVector(m.Walk, m.Nodes):N0} / {PerVector(m.Sweep, m.Nodes):N0} | {Ratio(m, x => x.Open)} / {Ratio(m, x => x.Walk)} / {Ratio(m, x => x.Sweep)} |");
        }

        return text.ToString().TrimEnd();
    }

    /// <summary>Parses the child's report: "STAGE mapped floats anonymous" lines and "nodes N", "queries N".</summary>
    internal static Measurement ParseReport(Quantization mode, long fileBytes, string report)
    {
        var stages = new Dictionary<string, Stage>();
        int nodes = 0, queries = 0;
        foreach (string line in report.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            string[] f = line.Split(' ');
            switch (f[0])
            {
                case "nodes":
                    nodes = int.Parse(f[1], CultureInfo.InvariantCulture);
                    break;
                case "queries":
                    queries = int.Parse(f[1], CultureInfo.InvariantCulture);
                    break;
                case "open" or "walk" or "first" or "sweep":
                    stages[f[0]] = new Stage(
                        long.Parse(f[1], CultureInfo.InvariantCulture), long.Parse(f[2], CultureInfo.InvariantCulture), long.Parse(f[3], CultureInfo.InvariantCulture));
                    break;
                default:
                    break;
            }
        }

        return new Measurement(mode, fileBytes, nodes, queries, stages["open"], stages["walk"], stages["first"], stages["sweep"]);
    }

    private static Measurement RunChild(Quantization mode, string path, string queries, int ef, int k)
    {
        string host = Environment.ProcessPath ?? throw new InvalidOperationException("No process path to start the child from.");
        var start = new ProcessStartInfo(host) { RedirectStandardOutput = true, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(host) == "dotnet")
        {
            start.ArgumentList.Add(typeof(ResidentRun).Assembly.Location);
        }

        foreach (string a in new[] { ChildCommand, path, queries, mode.ToString(), ef.ToString(CultureInfo.InvariantCulture), k.ToString(CultureInfo.InvariantCulture) })
        {
            start.ArgumentList.Add(a);
        }

        using Process child = Process.Start(start) ?? throw new InvalidOperationException("The child did not start.");
        string report = child.StandardOutput.ReadToEnd();
        child.WaitForExit();
        if (child.ExitCode != 0)
        {
            throw new InvalidOperationException($"The resident-set child for {path} exited with {child.ExitCode}: {report}");
        }

        return ParseReport(mode, new FileInfo(path).Length, report);
    }

    /// <summary>
    /// The child: warms the open and search paths on a small index of the same shape (so their code and first
    /// allocations are not counted), then opens <c>args[1]</c> and reports after the open, after a pass of the queries
    /// with <c>Rerank = 0</c>, and after the first 100 and all of the queries with the default re-rank.
    /// </summary>
    public static void Child(string[] args)
    {
        string path = Path.GetFullPath(args[1]);
        Quantization mode = Enum.Parse<Quantization>(args[3]);
        int ef = int.Parse(args[4], CultureInfo.InvariantCulture);
        int k = int.Parse(args[5], CultureInfo.InvariantCulture);
        byte[] bytes = File.ReadAllBytes(args[2]);
        int count = BitConverter.ToInt32(bytes, 0);
        int dims = BitConverter.ToInt32(bytes, 4);
        float[] queries = MemoryMarshal.Cast<byte, float>(bytes.AsSpan(8)).ToArray();
        bytes = [];

        FileHeader header;
        using (var file = new FileStream(path, FileMode.Open, FileAccess.Read))
        {
            var head = new byte[FileHeader.Length];
            file.ReadExactly(head);
            header = FileHeader.Parse(head, file.Length);
        }

        var options = new SearchOptions { Ef = ef };
        var results = new SearchResult[k];
        var walkOnly = new SearchOptions { Ef = ef, Rerank = 0 };
        Warm(header.Options with { Quantization = mode }, queries, count, dims, [options, walkOnly], results);
        // The measurement's own code and buffer, warm and resident before the baseline: reading smaps allocates nothing.
        var smaps = new byte[16 << 20];
        byte[] pathBytes = System.Text.Encoding.UTF8.GetBytes(path);
        _ = Smaps.Summarize(smaps.AsSpan(0, Smaps.ReadSelfInto(smaps)), pathBytes);
        _ = Smaps.PresentBytes((ulong)Environment.SystemPageSize, Environment.SystemPageSize);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        long anonymousBefore = Smaps.Summarize(smaps.AsSpan(0, Smaps.ReadSelfInto(smaps)), pathBytes).Anonymous;

        using HnswIndex index = HnswIndex.OpenReadOnly(path);
        Console.WriteLine($"nodes {header.NodeCount}");
        Console.WriteLine($"queries {count}");
        Report("open");
        if (args.Length > 6 && args[6] == "evict")
        {
            // An experiment, run by hand: drop the float section from the page cache too (the open already unmapped
            // it), so that re-rank faults read single pages instead of mapping the cached folios around them.
            using var file = new FileStream(path, FileMode.Open, FileAccess.Read);
            SectionInfo vectors = header[Section.Vectors];
            int fd = (int)file.SafeFileHandle.DangerousGetHandle();
            Console.Error.WriteLine($"  posix_fadvise(DONTNEED) of the floats: {PosixFadvise(fd, vectors.Offset, vectors.Length, 4)}");
        }


        // The walk alone first (Rerank 0: code distances, no float read; the float index walks its floats), then
        // the default re-rank, which reads the floats of the best candidates.
        for (int q = 0; q < count; q++)
        {
            index.Search(queries.AsSpan(q * dims, dims), results, walkOnly);
        }

        Report("walk");
        for (int q = 0; q < count; q++)
        {
            index.Search(queries.AsSpan(q * dims, dims), results, options);
            if (q + 1 == Math.Min(FirstQueries, count))
            {
                Report("first");
            }
        }

        Report("sweep");

        void Report(string stage)
        {
            (long resident, long anonymous, ulong fileBase) = Smaps.Summarize(smaps.AsSpan(0, Smaps.ReadSelfInto(smaps)), pathBytes);
            SectionInfo vectors = header[Section.Vectors];
            long floats = Smaps.PresentBytes(fileBase + (ulong)vectors.Offset, vectors.Length);
            Console.WriteLine($"{stage} {resident} {floats} {anonymous - anonymousBefore}");
        }
    }

    [DllImport("libc", EntryPoint = "posix_fadvise")]
    private static extern int PosixFadvise(int fd, long offset, long length, int advice);

    /// <summary>Runs open and searches (each of <paramref name="search"/>) on a small index of the same options for half a second, then waits for the tiered JIT.</summary>
    private static void Warm(HnswOptions options, float[] queries, int count, int dims, SearchOptions[] search, SearchResult[] results)
    {
        int n = Math.Min(2_000, count);
        string path = Path.Combine(Path.GetTempPath(), $"vectorindex-warm-{Environment.ProcessId}.vidx");
        using (var small = new HnswIndex(options with { QuantizationTrainingSize = Math.Max(1, n / 2) }))
        {
            small.AddRange(Enumerable.Range(0, n).Select(i => (ulong)i).ToArray(), queries.AsMemory(0, n * dims), maxDegreeOfParallelism: 1);
            small.Save(path);
        }

        try
        {
            using HnswIndex mapped = HnswIndex.OpenReadOnly(path);
            var timer = Stopwatch.StartNew();
            for (int q = 0; timer.ElapsedMilliseconds < 500; q = (q + 1) % count)
            {
                mapped.Search(queries.AsSpan(q * dims, dims), results, search[q % search.Length]);
            }
        }
        finally
        {
            File.Delete(path);
        }

        Thread.Sleep(300);
    }
}
