using System.Runtime.InteropServices;

namespace VectorIndex.Persistence;

/// <summary>
/// Advice to the kernel about pages (Linux only; elsewhere nothing is done): that this process no longer needs part of
/// a read-only file mapping (the pages stay in the page cache and are mapped again by the next read, so no data
/// changes: only the process's resident set does), and that a large native block should be backed by 2 MiB pages.
/// </summary>
internal static unsafe partial class PageAdvice
{
    // The generic Linux values, the same on x86-64 and arm64.
    private const int MadvRandom = 1;
    private const int MadvDontNeed = 4;
    private const int MadvHugePage = 14;

    /// <summary>The size (and alignment) of a transparent huge page on x86-64 and arm64 with 4 KiB base pages.</summary>
    public const int HugePageBytes = 2 << 20;

    /// <summary>
    /// Asks the kernel to back the whole 2 MiB pages inside [<paramref name="start"/>, + <paramref name="length"/>) of
    /// anonymous memory with transparent huge pages (<c>MADV_HUGEPAGE</c>; honoured when the system's
    /// <c>transparent_hugepage</c> setting is <c>madvise</c> or <c>always</c>). A walk over a large index reads a few
    /// bytes of many random nodes: with 4 KiB pages nearly every read also misses the TLB. Call before the memory is
    /// first touched. Returns whether the kernel took the advice.
    /// </summary>
    public static bool RequestHugePages(void* start, nuint length) => AdviseWholePages((nint)start, (long)length, HugePageBytes, [MadvHugePage]);

    /// <summary>
    /// Unmaps from this process the whole pages inside [<paramref name="start"/>, + <paramref name="length"/>) of a
    /// read-only file mapping (<c>MADV_DONTNEED</c>) and marks them for random access (<c>MADV_RANDOM</c>: a later
    /// fault reads the page it needs, not a readahead window). The partial pages at both ends, shared with
    /// neighbouring data, stay. Returns whether the kernel took the advice; false off Linux or on an error, which
    /// changes nothing but the resident set.
    /// </summary>
    public static bool DropFromProcess(byte* start, long length) =>
        AdviseWholePages((nint)start, length, Environment.SystemPageSize, [MadvRandom, MadvDontNeed]);

    // Gives each advice, in order, for the whole pages of pageBytes inside [start, start + length); true when every one
    // was taken. False off Linux, when no whole page is inside, or without a "libc" to bind to (a static, musl-less
    // image, say): the advice is optional.
    private static bool AdviseWholePages(nint start, long length, long pageBytes, ReadOnlySpan<int> advice)
    {
        if (!OperatingSystem.IsLinux() || length <= 0)
        {
            return false;
        }

        long first = ((long)start + pageBytes - 1) / pageBytes * pageBytes;
        long end = ((long)start + length) / pageBytes * pageBytes;
        if (end <= first)
        {
            return false;
        }

        try
        {
            bool taken = true;
            foreach (int a in advice)
            {
                taken &= Madvise((nint)first, (nuint)(end - first), a) == 0;
            }

            return taken;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    [LibraryImport("libc", EntryPoint = "madvise", SetLastError = true)]
    private static partial int Madvise(nint address, nuint length, int advice);
}
