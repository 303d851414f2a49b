using System.Diagnostics;

namespace VectorIndex.AnnBench;

/// <summary>Save, Load and OpenReadOnly of a built index: file size, times, first-query latency, identical answers.</summary>
internal static class PersistenceRun
{
    public static void Measure(Dataset data, HnswIndex index, string folder, int k)
    {
        Directory.CreateDirectory(folder);
        string path = Path.Combine(folder, $"{data.Name}.vidx");
        var timer = Stopwatch.StartNew();
        index.Save(path);
        double saveSeconds = timer.Elapsed.TotalSeconds;
        long fileBytes = new FileInfo(path).Length;
        long rawBytes = (long)data.BaseCount * data.Dimensions * sizeof(float);

        timer.Restart();
        using HnswIndex loaded = HnswIndex.Load(path);
        double loadSeconds = timer.Elapsed.TotalSeconds;

        // The file was just written, so it is in the page cache: these are warm-cache figures.
        timer.Restart();
        using HnswIndex mappedFast = HnswIndex.OpenReadOnly(path, verifyChecksums: false);
        double openFastMs = timer.Elapsed.TotalMilliseconds;
        timer.Restart();
        IReadOnlyList<SearchResult> first = mappedFast.Search(data.Query(0), k);
        double firstQueryUs = timer.Elapsed.TotalMicroseconds;

        timer.Restart();
        using HnswIndex mappedVerified = HnswIndex.OpenReadOnly(path);
        double openVerifiedMs = timer.Elapsed.TotalMilliseconds;

        int identical = 0;
        int compared = Math.Min(1_000, data.QueryCount);
        for (int q = 0; q < compared; q++)
        {
            IReadOnlyList<SearchResult> expected = index.Search(data.Query(q), k);
            bool same = expected.SequenceEqual(loaded.Search(data.Query(q), k)) && expected.SequenceEqual(mappedFast.Search(data.Query(q), k));
            identical += same ? 1 : 0;
        }

        Console.WriteLine();
        Console.WriteLine("| persistence | value |");
        Console.WriteLine("| --- | ---: |");
        Console.WriteLine($"| file size | {fileBytes / 1048576.0:F1} MiB ({(double)fileBytes / rawBytes:F3} x the raw vectors) |");
        Console.WriteLine($"| Save | {saveSeconds:F2} s |");
        Console.WriteLine($"| Load | {loadSeconds:F2} s |");
        Console.WriteLine($"| OpenReadOnly, checksums skipped | {openFastMs:F1} ms |");
        Console.WriteLine($"| first query after it | {firstQueryUs:F0} us ({first.Count} results) |");
        Console.WriteLine($"| OpenReadOnly, checksums verified | {openVerifiedMs:F1} ms |");
        Console.WriteLine($"| identical answers (index, loaded, mapped) | {identical} / {compared} queries |");
        File.Delete(path);
    }
}
