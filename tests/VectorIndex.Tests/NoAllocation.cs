namespace VectorIndex.Tests;

/// <summary>Asserts that a warm piece of code allocates nothing on the calling thread.</summary>
internal static class NoAllocation
{
    /// <summary>
    /// Runs <paramref name="pass"/> up to three times, checks that each run returns <paramref name="expected"/> (a count
    /// of results, so the runs did the work), and asserts that one run allocated nothing. The per-thread
    /// counter is not exact: the runtime now and then charges a few KB to a thread that did not allocate them
    /// (dotnet/runtime#63487; seen here once in a CI run under DOTNET_EnableAVX2=0: 8,096 bytes over 200 searches
    /// that allocate nothing). An allocation per call shows in every run.
    /// </summary>
    public static void Assert(Func<int> pass, int expected, string what)
    {
        var bytes = new List<long>();
        for (int run = 0; run < 3 && (bytes.Count == 0 || bytes[^1] != 0); run++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            int result = pass();
            bytes.Add(GC.GetAllocatedBytesForCurrentThread() - before);
            result.Should().Be(expected);
        }

        bytes.Should().Contain(0, "one run of {0} must allocate nothing (bytes per run: {1})", what, string.Join(", ", bytes));
    }
}
