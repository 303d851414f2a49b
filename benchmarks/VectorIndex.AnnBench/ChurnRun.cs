using System.Diagnostics;
using System.Globalization;

namespace VectorIndex.AnnBench;

/// <summary>
/// Churn on a built index: remove a share of the keys (seeded, scattered), compact, add them back, and sweep again.
/// The live set is then the one the index was built from, so the first build is the fresh build to compare with,
/// against the same ground truth: recall and QPS per ef, memory and file size before and after, and the time of the
/// removals (with the compactions they trigger), of the final explicit compaction and of the adds.
/// </summary>
internal static class ChurnRun
{
    public static void Measure(Dataset data, HnswIndex index, IReadOnlyList<SearchPoint> before, double share, int[] efs, int k, int repeat, string folder)
    {
        var inv = CultureInfo.InvariantCulture;
        int n = data.BaseCount;
        int removeCount = (int)(n * share);
        int[] rows = [.. Enumerable.Range(0, n)];
        new Random(7).Shuffle(rows);
        int[] removed = rows[..removeCount];

        long memoryBefore = index.NativeMemoryBytes;
        long fileBefore = SavedLength(index, folder);

        var timer = Stopwatch.StartNew();
        foreach (int row in removed)
        {
            index.Remove((ulong)row);
        }

        double removeSeconds = timer.Elapsed.TotalSeconds;
        int pending = index.PendingRemovals;
        timer.Restart();
        index.Compact();
        double compactSeconds = timer.Elapsed.TotalSeconds;
        long memoryRemoved = index.NativeMemoryBytes;
        long fileRemoved = SavedLength(index, folder);

        ulong[] keys = [.. removed.Select(r => (ulong)r)];
        float[] vectors = new float[(long)removeCount * data.Dimensions];
        for (int i = 0; i < removeCount; i++)
        {
            data.Base.AsSpan(removed[i] * data.Dimensions, data.Dimensions).CopyTo(vectors.AsSpan(i * data.Dimensions));
        }

        timer.Restart();
        index.AddRange(keys, vectors, 1);
        double addSeconds = timer.Elapsed.TotalSeconds;
        int pendingAfterAdds = index.PendingRemovals;
        long memoryAfter = index.NativeMemoryBytes;
        long fileAfter = SavedLength(index, folder);

        Console.WriteLine(string.Create(inv, $"Churn: removed {removeCount:N0} of {n:N0} keys ({share:P0}) in {removeSeconds:F1} s, with the automatic compactions; " +
            $"Compact() of the last {pending:N0} pending: {compactSeconds:F2} s; added them back (1 thread) in {addSeconds:F1} s ({pendingAfterAdds} pending after)."));
        Console.WriteLine();
        Console.WriteLine("| state | native memory MiB | file MiB |");
        Console.WriteLine("| --- | ---: | ---: |");
        Console.WriteLine(string.Create(inv, $"| as built ({n:N0}) | {memoryBefore / 1048576.0:F1} | {fileBefore / 1048576.0:F1} |"));
        Console.WriteLine(string.Create(inv, $"| after removal + Compact ({n - removeCount:N0}) | {memoryRemoved / 1048576.0:F1} | {fileRemoved / 1048576.0:F1} |"));
        Console.WriteLine(string.Create(inv, $"| after adding back ({n:N0}) | {memoryAfter / 1048576.0:F1} | {fileAfter / 1048576.0:F1} |"));
        Console.WriteLine();
        Console.WriteLine($"| ef | recall@{k} as built | after churn | QPS as built | after churn | ratio |");
        Console.WriteLine("| ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (int ef in efs)
        {
            SearchPoint built = before.First(p => p.Library == "VectorIndex" && p.Ef == ef);
            SearchPoint churned = Runner.Sweep(data, index, ef, k, repeat);
            Console.WriteLine(string.Create(inv, $"| {ef} | {built.Recall:F4} | {churned.Recall:F4} | {built.Qps:F0} | {churned.Qps:F0} | {churned.Qps / built.Qps:F2}x |"));
        }

        Console.WriteLine();
    }

    private static long SavedLength(HnswIndex index, string folder)
    {
        Directory.CreateDirectory(folder);
        string path = Path.Combine(folder, "churn.vidx");
        index.Save(path);
        long length = new FileInfo(path).Length;
        File.Delete(path);
        return length;
    }
}
