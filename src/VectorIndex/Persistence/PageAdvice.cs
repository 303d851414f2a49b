using System.Runtime.InteropServices;

namespace VectorIndex.Persistence;

/// <summary>
/// Tells the kernel (Linux only; elsewhere nothing is done) that this process no longer needs part of a read-only file
/// mapping. The pages stay in the page cache and are mapped again by the next read, so no data changes: only the
/// process's resident set does.
/// </summary>
internal static unsafe partial class PageAdvice
{
    // The generic Linux values, the same on x86-64 and arm64.
    private const int MadvRandom = 1;
    private const int MadvDontNeed = 4;

    /// <summary>
    /// Unmaps from this process the whole pages inside [<paramref name="start"/>, + <paramref name="length"/>) of a
    /// read-only file mapping (<c>MADV_DONTNEED</c>) and marks them for random access (<c>MADV_RANDOM</c>: a later
    /// fault reads the page it needs, not a readahead window). The partial pages at both ends, shared with
    /// neighbouring data, stay. Returns whether the kernel took the advice; false off Linux or on an error, which
    /// changes nothing but the resident set.
    /// </summary>
    public static bool DropFromProcess(byte* start, long length)
    {
        if (!OperatingSystem.IsLinux() || length <= 0)
        {
            return false;
        }

        long page = Environment.SystemPageSize;
        long first = ((long)start + page - 1) / page * page;
        long end = ((long)start + length) / page * page;
        if (end <= first)
        {
            return false;
        }

        try
        {
            bool random = Madvise((nint)first, (nuint)(end - first), MadvRandom) == 0;
            return Madvise((nint)first, (nuint)(end - first), MadvDontNeed) == 0 && random;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false; // a Linux without a "libc" to bind to (say a static, musl-less image): the advice is optional
        }
    }

    [LibraryImport("libc", EntryPoint = "madvise", SetLastError = true)]
    private static partial int Madvise(nint address, nuint length, int advice);
}
