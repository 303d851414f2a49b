using System.Globalization;
using System.Text;
using System.Text.Json;

namespace VectorIndex.AnnBench;

/// <summary>The run's results as a Markdown table, CSV, JSON and an SVG recall-vs-QPS plot (log-scale QPS).</summary>
internal static class Report
{
    public static readonly double[] RecallTargets = [0.9, 0.95, 0.99, 0.995];

    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static void PrintBuilds(IEnumerable<BuildResult> builds)
    {
        Console.WriteLine("| library | threads | build s | bytes / vector |");
        Console.WriteLine("| --- | ---: | ---: | ---: |");
        foreach (BuildResult b in builds)
        {
            string bytes = b.ManagedBytes + b.NativeBytes > 0 ? b.BytesPerVector.ToString("F0", Inv) : "n/a";
            Console.WriteLine(string.Create(Inv, $"| {b.Library} | {b.Threads} | {b.Seconds:F2} | {bytes} |"));
        }

        Console.WriteLine();
    }

    public static void PrintPoints(IEnumerable<SearchPoint> points, int k)
    {
        Console.WriteLine($"| library | ef | recall@{k} | QPS 1 thread | QPS all threads | mean us | p50 us | p99 us |");
        Console.WriteLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (SearchPoint p in points)
        {
            Console.WriteLine(string.Create(Inv,
                $"| {p.Library} | {p.Ef} | {p.Recall:F4} | {p.Qps:F0} | {Num(p.QpsAllThreads)} | {p.MeanUs:F1} | {Num(p.P50Us)} | {Num(p.P99Us)} |"));
        }

        Console.WriteLine();
    }

    /// <summary>The CPU, cores, OS, runtime and which SIMD widths the JIT uses: what a figure depends on.</summary>
    public static string Machine()
    {
        string cpu = "unknown CPU";
        try
        {
            cpu = File.Exists("/proc/cpuinfo")
                ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? cpu
                : cpu;
        }
        catch (IOException)
        {
        }

        return $"{cpu}, {Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, .NET {Environment.Version}, " +
               $"Vector512 {(System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated ? "on" : "off")}, AVX2 {(System.Runtime.Intrinsics.X86.Avx2.IsSupported ? "on" : "off")}";
    }

    /// <summary>Single-thread QPS of each library interpolated at each recall target, and ours over each peer's.</summary>
    public static void PrintAtEqualRecall(IReadOnlyList<SearchPoint> points)
    {
        // Each library against the reference: hnswlib when it ran (the peer to beat), else the first library.
        string[] libraries = [.. points.Select(p => p.Library).Distinct()];
        int reference = Math.Max(0, Array.IndexOf(libraries, "hnswlib"));
        int[] others = [.. Enumerable.Range(0, libraries.Length).Where(i => i != reference)];
        var header = new StringBuilder("| recall |");
        foreach (string lib in libraries)
        {
            header.Append(' ').Append(lib).Append(" QPS |");
        }

        foreach (int i in others)
        {
            header.Append(' ').Append(reference == 0 ? $"{libraries[0]} / {libraries[i]}" : $"{libraries[i]} / {libraries[reference]}").Append(" |");
        }

        Console.WriteLine(header);
        Console.WriteLine("| ---: |" + string.Concat(Enumerable.Repeat(" ---: |", libraries.Length + others.Length)));
        foreach (double target in RecallTargets)
        {
            double[] qps = [.. libraries.Select(lib => QpsAt(points.Where(p => p.Library == lib), target))];
            var row = new StringBuilder(string.Create(Inv, $"| {target:F3} |"));
            foreach (double q in qps)
            {
                row.Append(' ').Append(Num(q, "F0")).Append(" |");
            }

            foreach (int i in others)
            {
                double ratio = reference == 0 ? qps[0] / qps[i] : qps[i] / qps[reference];
                row.Append(' ').Append(double.IsFinite(ratio) ? Num(ratio, "F2") + "x" : "n/a").Append(" |");
            }

            Console.WriteLine(row);
        }

        Console.WriteLine();
    }

    /// <summary>
    /// QPS at <paramref name="recall"/> on a library's curve: linear in recall between the two measured points around
    /// it, geometric in QPS (the plots' log scale). NaN when the curve does not reach it.
    /// </summary>
    public static double QpsAt(IEnumerable<SearchPoint> curve, double recall)
    {
        SearchPoint[] sorted = [.. curve.OrderBy(p => p.Recall)];
        for (int i = 0; i < sorted.Length; i++)
        {
            if (sorted[i].Recall >= recall)
            {
                if (i == 0)
                {
                    return sorted[0].Recall == recall ? sorted[0].Qps : double.NaN;
                }

                SearchPoint lo = sorted[i - 1], hi = sorted[i];
                double t = hi.Recall == lo.Recall ? 1 : (recall - lo.Recall) / (hi.Recall - lo.Recall);
                return Math.Exp(Math.Log(lo.Qps) + (t * (Math.Log(hi.Qps) - Math.Log(lo.Qps))));
            }
        }

        return double.NaN;
    }

    public static void WriteFiles(string stem, string title, IReadOnlyList<BuildResult> builds, IReadOnlyList<SearchPoint> points)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(stem))!);
        var csv = new StringBuilder("library,ef,recall,qps,qps_all_threads,mean_us,p50_us,p99_us\n");
        foreach (SearchPoint p in points)
        {
            csv.Append(string.Create(Inv, $"{p.Library},{p.Ef},{p.Recall:F5},{p.Qps:F1},{p.QpsAllThreads:F1},{p.MeanUs:F2},{p.P50Us:F2},{p.P99Us:F2}\n"));
        }

        File.WriteAllText(stem + ".csv", csv.ToString());
        var json = new
        {
            title,
            machine = Machine(),
            builds = builds.Select(b => new { b.Library, b.Threads, b.Seconds, b.ManagedBytes, b.NativeBytes, BytesPerVector = b.ManagedBytes + b.NativeBytes > 0 ? b.BytesPerVector : (double?)null }),
            points = points.Select(p => new { p.Library, p.Ef, p.Recall, p.Qps, QpsAllThreads = Finite(p.QpsAllThreads), p.MeanUs, P50Us = Finite(p.P50Us), P99Us = Finite(p.P99Us) }),
        };
        File.WriteAllText(stem + ".json", JsonSerializer.Serialize(json, new JsonSerializerOptions { WriteIndented = true }));
        File.WriteAllText(stem + ".svg", Svg(title, points));
        Console.WriteLine($"Wrote {stem}.csv, .json and .svg");
    }

    /// <summary>Recall on x, single-thread QPS on a log-scale y, one curve per library, as ann-benchmarks draws them.</summary>
    private static string Svg(string title, IReadOnlyList<SearchPoint> points)
    {
        const int W = 720, H = 480, L = 70, R = 160, T = 40, B = 50;
        string[] colours = ["#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e"];
        double minRecall = Math.Floor(points.Min(p => p.Recall) * 20) / 20;
        double lo = Math.Floor(Math.Log10(points.Min(p => p.Qps)));
        double hi = Math.Ceiling(Math.Log10(points.Max(p => p.Qps)));
        double X(double recall) => L + ((recall - minRecall) / (1 - minRecall) * (W - L - R));
        double Y(double qps) => H - B - ((Math.Log10(qps) - lo) / Math.Max(1e-9, hi - lo) * (H - T - B));

        var svg = new StringBuilder();
        svg.Append(Inv, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" font-family=\"sans-serif\" font-size=\"12\">\n");
        svg.Append(Inv, $"<rect width=\"{W}\" height=\"{H}\" fill=\"white\"/>\n<text x=\"{L}\" y=\"22\" font-size=\"14\">{Escape(title)}</text>\n");
        for (double e = lo; e <= hi; e++)
        {
            svg.Append(Inv, $"<line x1=\"{L}\" x2=\"{W - R}\" y1=\"{Y(Math.Pow(10, e)):F1}\" y2=\"{Y(Math.Pow(10, e)):F1}\" stroke=\"#ddd\"/>");
            svg.Append(Inv, $"<text x=\"{L - 8}\" y=\"{Y(Math.Pow(10, e)) + 4:F1}\" text-anchor=\"end\">{Math.Pow(10, e):G}</text>\n");
        }

        for (double r = minRecall; r <= 1.0001; r += (1 - minRecall) / 5)
        {
            svg.Append(Inv, $"<line x1=\"{X(r):F1}\" x2=\"{X(r):F1}\" y1=\"{T}\" y2=\"{H - B}\" stroke=\"#eee\"/>");
            svg.Append(Inv, $"<text x=\"{X(r):F1}\" y=\"{H - B + 18}\" text-anchor=\"middle\">{r:F3}</text>\n");
        }

        svg.Append(Inv, $"<text x=\"{(L + W - R) / 2}\" y=\"{H - 10}\" text-anchor=\"middle\">recall@k</text>");
        svg.Append(Inv, $"<text x=\"16\" y=\"{(T + H - B) / 2}\" transform=\"rotate(-90 16 {(T + H - B) / 2})\" text-anchor=\"middle\">queries per second, 1 thread (log)</text>\n");
        string[] libraries = [.. points.Select(p => p.Library).Distinct()];
        for (int i = 0; i < libraries.Length; i++)
        {
            string colour = colours[i % colours.Length];
            SearchPoint[] curve = [.. points.Where(p => p.Library == libraries[i]).OrderBy(p => p.Recall)];
            string path = string.Join(' ', curve.Select(p => string.Create(Inv, $"{X(p.Recall):F1},{Y(p.Qps):F1}")));
            svg.Append(Inv, $"<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\" points=\"{path}\"/>\n");
            foreach (SearchPoint p in curve)
            {
                svg.Append(Inv, $"<circle cx=\"{X(p.Recall):F1}\" cy=\"{Y(p.Qps):F1}\" r=\"3\" fill=\"{colour}\"><title>{Escape(p.Library)} ef={p.Ef}: recall {p.Recall:F4}, {p.Qps:F0} QPS</title></circle>\n");
            }

            svg.Append(Inv, $"<rect x=\"{W - R + 15}\" y=\"{T + (i * 20)}\" width=\"12\" height=\"12\" fill=\"{colour}\"/><text x=\"{W - R + 32}\" y=\"{T + (i * 20) + 10}\">{Escape(libraries[i])}</text>\n");
        }

        svg.Append("</svg>\n");
        return svg.ToString();
    }

    private static string Escape(string s) => s.Replace("&", "&amp;", StringComparison.Ordinal).Replace("<", "&lt;", StringComparison.Ordinal);

    private static double? Finite(double x) => double.IsFinite(x) ? x : null;

    private static string Num(double x, string format = "F1") => double.IsFinite(x) ? x.ToString(format, Inv) : "n/a";
}
