using System.Runtime.InteropServices;

namespace VectorIndex.VectorData.Durability;

/// <summary>
/// Makes a directory's entries durable (a created or renamed file survives power loss, not only a process kill).
/// POSIX needs an fsync of the directory itself; .NET has no API for it, so this calls libc. On Windows, NTFS
/// journals the rename and there is nothing to do.
/// </summary>
internal static partial class DirectorySync
{
    private const int ReadOnly = 0;

    private static volatile bool s_unavailable;

    /// <summary>Whether directory flushes run (false once libc could not be loaded).</summary>
    public static bool IsAvailable => !OperatingSystem.IsWindows() && !s_unavailable;

    public static void Flush(string directory)
    {
        if (OperatingSystem.IsWindows() || s_unavailable)
        {
            return;
        }

        int fd;
        try
        {
            fd = Open(directory, ReadOnly);
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            // No loadable libc under that name: the renames stay as durable as the file system makes them.
            s_unavailable = true;
            return;
        }

        if (fd < 0)
        {
            return; // best effort: the file data itself was already flushed
        }

        try
        {
            if (FSync(fd) != 0)
            {
                throw new IOException($"fsync of directory '{directory}' failed (errno {Marshal.GetLastPInvokeError()}).");
            }
        }
        finally
        {
            _ = Close(fd);
        }
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int FSync(int fd);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);
}
