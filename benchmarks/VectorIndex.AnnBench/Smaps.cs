using System.Globalization;

namespace VectorIndex.AnnBench;

/// <summary>One mapping of /proc/PID/smaps: its address range, file offset and path, resident and anonymous bytes.</summary>
internal sealed record SmapsEntry(ulong Start, ulong End, long FileOffset, string Path, long RssBytes, long AnonymousBytes);

/// <summary>
/// This process's memory as Linux reports it: the mappings of /proc/self/smaps (which file's pages are resident, how
/// many anonymous bytes), and /proc/self/pagemap's present bit for one range of addresses.
/// </summary>
internal static class Smaps
{
    /// <summary>Parses the text of an smaps file: a header line per mapping, then its "Name: value kB" fields.</summary>
    public static List<SmapsEntry> Parse(string text) => Parse(text.Split('\n'));

    /// <summary>As <see cref="Parse(string)"/>, line by line (no string of the whole file: a measurement allocates little).</summary>
    public static List<SmapsEntry> Parse(IEnumerable<string> lines)
    {
        var entries = new List<SmapsEntry>();
        SmapsEntry? current = null;
        foreach (string line in lines)
        {
            if (TryHeader(line) is { } header)
            {
                if (current is not null)
                {
                    entries.Add(current);
                }

                current = header;
            }
            else if (current is not null && line.StartsWith("Rss:", StringComparison.Ordinal))
            {
                current = current with { RssBytes = Kilobytes(line) };
            }
            else if (current is not null && line.StartsWith("Anonymous:", StringComparison.Ordinal))
            {
                current = current with { AnonymousBytes = Kilobytes(line) };
            }
        }

        if (current is not null)
        {
            entries.Add(current);
        }

        return entries;
    }

    /// <summary>This process's mappings now.</summary>
    public static List<SmapsEntry> ReadSelf() => Parse(File.ReadLines("/proc/self/smaps"));

    /// <summary>The resident bytes of every mapping of the file <paramref name="path"/> (a mapping split by madvise is several).</summary>
    public static long ResidentOf(IEnumerable<SmapsEntry> entries, string path) => entries.Where(e => e.Path == path).Sum(e => e.RssBytes);

    /// <summary>The anonymous bytes of all mappings: the managed and native heaps, stacks.</summary>
    public static long Anonymous(IEnumerable<SmapsEntry> entries) => entries.Sum(e => e.AnonymousBytes);

    /// <summary>The address the file <paramref name="path"/>'s offset 0 is mapped at, from any of its mappings.</summary>
    public static ulong BaseOf(IEnumerable<SmapsEntry> entries, string path)
    {
        SmapsEntry e = entries.First(e => e.Path == path);
        return e.Start - (ulong)e.FileOffset;
    }

    /// <summary>
    /// Reads /proc/self/smaps into <paramref name="buffer"/> (allocating nothing, so that measuring does not grow the
    /// heap it measures) and returns its length.
    /// </summary>
    public static int ReadSelfInto(byte[] buffer)
    {
        using var file = new FileStream("/proc/self/smaps", FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1);
        int length = 0;
        for (int read; (read = file.Read(buffer, length, buffer.Length - length)) > 0;)
        {
            length += read;
            if (length == buffer.Length)
            {
                throw new InvalidOperationException($"/proc/self/smaps is longer than the {buffer.Length}-byte buffer.");
            }
        }

        return length;
    }

    /// <summary>
    /// From smaps text (UTF-8), without allocating: the resident bytes of the mappings of the file <paramref name="path"/>,
    /// the anonymous bytes of all mappings, and the address of the file's offset 0 (0 when it is not mapped). The same
    /// figures as <see cref="ResidentOf"/>, <see cref="Anonymous"/> and <see cref="BaseOf"/> over <see cref="Parse(string)"/>.
    /// </summary>
    public static (long FileResident, long Anonymous, ulong FileBase) Summarize(ReadOnlySpan<byte> text, ReadOnlySpan<byte> path)
    {
        long resident = 0, anonymous = 0;
        ulong fileBase = 0;
        bool inFile = false;
        while (!text.IsEmpty)
        {
            int end = text.IndexOf((byte)'\n');
            ReadOnlySpan<byte> line = end < 0 ? text : text[..end];
            text = end < 0 ? default : text[(end + 1)..];
            if (line.StartsWith("Rss:"u8))
            {
                resident += inFile ? Kilobytes(line) : 0;
            }
            else if (line.StartsWith("Anonymous:"u8))
            {
                anonymous += Kilobytes(line);
            }
            else if (!line.IsEmpty && (char.IsAsciiDigit((char)line[0]) || char.IsAsciiHexDigitLower((char)line[0])))
            {
                // A header: range, perms, offset, device, inode, then the path (if any).
                ReadOnlySpan<byte> rest = line;
                ReadOnlySpan<byte> range = Token(ref rest);
                _ = Token(ref rest);
                ReadOnlySpan<byte> offset = Token(ref rest);
                _ = Token(ref rest);
                _ = Token(ref rest);
                inFile = rest.Trim((byte)' ').SequenceEqual(path);
                if (inFile && fileBase == 0)
                {
                    int dash = range.IndexOf((byte)'-');
                    fileBase = ulong.Parse(range[..dash], NumberStyles.HexNumber, CultureInfo.InvariantCulture)
                        - ulong.Parse(offset, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                }
            }
        }

        return (resident, anonymous, fileBase);
    }

    /// <summary>Bytes of the pages in [<paramref name="start"/>, + <paramref name="length"/>) mapped in this process now (/proc/self/pagemap, bit 63).</summary>
    public static long PresentBytes(ulong start, long length)
    {
        int page = Environment.SystemPageSize;
        ulong first = start / (ulong)page;
        ulong last = (start + (ulong)length + (ulong)page - 1) / (ulong)page;
        Span<ulong> entries = stackalloc ulong[512];
        using var pagemap = new FileStream("/proc/self/pagemap", FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1);
        pagemap.Position = checked((long)first * sizeof(ulong));
        long present = 0;
        for (ulong at = first; at < last; at += (ulong)entries.Length)
        {
            Span<ulong> part = entries[..(int)Math.Min((ulong)entries.Length, last - at)];
            pagemap.ReadExactly(System.Runtime.InteropServices.MemoryMarshal.AsBytes(part));
            foreach (ulong e in part)
            {
                present += (e >> 63) == 1 ? page : 0;
            }
        }

        return present;
    }

    private static SmapsEntry? TryHeader(string line)
    {
        // "7f0c2a000000-7f0c2a400000 r--s 00000000 fd:00 1234   /path/to/file": range, perms, offset, device, inode, path.
        string[] fields = line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries);
        int dash = fields.Length >= 5 ? fields[0].IndexOf('-', StringComparison.Ordinal) : -1;
        if (dash <= 0
            || !ulong.TryParse(fields[0].AsSpan(0, dash), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out ulong start)
            || !ulong.TryParse(fields[0].AsSpan(dash + 1), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out ulong end)
            || !long.TryParse(fields[2], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out long offset))
        {
            return null;
        }

        return new SmapsEntry(start, end, offset, fields.Length == 6 ? fields[5].Trim() : "", 0, 0);
    }

    private static ReadOnlySpan<byte> Token(ref ReadOnlySpan<byte> rest)
    {
        rest = rest.TrimStart((byte)' ');
        int space = rest.IndexOf((byte)' ');
        ReadOnlySpan<byte> token = space < 0 ? rest : rest[..space];
        rest = space < 0 ? default : rest[space..];
        return token;
    }

    private static long Kilobytes(ReadOnlySpan<byte> line)
    {
        ReadOnlySpan<byte> value = line[(line.IndexOf((byte)':') + 1)..].TrimStart((byte)' ');
        int space = value.IndexOf((byte)' ');
        return long.Parse(space < 0 ? value : value[..space], CultureInfo.InvariantCulture) * 1024;
    }

    private static long Kilobytes(string line)
    {
        string[] fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return long.Parse(fields[1], CultureInfo.InvariantCulture) * 1024;
    }
}
