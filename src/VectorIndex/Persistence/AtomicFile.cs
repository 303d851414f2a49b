namespace VectorIndex.Persistence;

/// <summary>The atomic file save both index types use: a hidden temporary file in the target's folder, flushed to disk, renamed over the target.</summary>
internal static class AtomicFile
{
    /// <summary>
    /// Runs <paramref name="write"/> on a new temporary file beside <paramref name="path"/>, flushes it to disk and
    /// renames it over <paramref name="path"/>. On any failure the temporary file is deleted and the old file is untouched.
    /// </summary>
    public static void Write(string path, Action<Stream> write)
    {
        string full = Path.GetFullPath(path);
        string temporary = Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var file = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
            {
                write(file);
                file.Flush(flushToDisk: true);
            }

            File.Move(temporary, full, overwrite: true);
        }
        catch
        {
            try
            {
                File.Delete(temporary);
            }
            catch (IOException)
            {
                // The original exception matters more; the temporary file has a unique, hidden name.
            }

            throw;
        }
    }
}

/// <summary>What both file readers need of their input stream.</summary>
internal static class InputStream
{
    /// <summary>
    /// <paramref name="stream"/> itself when it can seek; otherwise its rest copied into memory: the length must be
    /// known before anything is allocated, and buffering costs what the input holds, no more.
    /// </summary>
    public static Stream Seekable(Stream stream)
    {
        if (stream.CanSeek)
        {
            return stream;
        }

        var copy = new MemoryStream();
        stream.CopyTo(copy);
        copy.Position = 0;
        return copy;
    }
}
