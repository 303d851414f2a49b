using System.Diagnostics;
using System.Text;

namespace VectorIndex.AnnBench;

/// <summary>One package of the corpus: its name and the text that is embedded ("name: short description. long ...").</summary>
internal sealed record CorpusEntry(string Package, string Text);

/// <summary>
/// Debian package descriptions as a text corpus, from the stanzas of <c>apt-cache dumpavail</c> (RFC 822-style
/// "Field: value" records, continuation lines start with a space, a blank line ends a record).
/// </summary>
/// <remarks>
/// Debian's Packages indexes carry only the short description and a <c>Description-md5</c>; the long text is in the
/// Translation-en indexes (<c>Description-en</c>), which apt downloads only when Acquire::Languages includes en. Both
/// are read: a package's long text is the translation whose md5 matches its record's.
/// </remarks>
internal static class DebianCorpus
{
    /// <summary>
    /// Parses Packages records and, optionally, Translation-en records into one entry per package name, sorted by
    /// name (ordinal), so the same indexes give the same corpus in the same order.
    /// </summary>
    /// <remarks>
    /// Records without a Package or a description are skipped. A package listed several times (bookworm, -updates,
    /// -security) keeps its longest text; ties keep the ordinally smaller one, so the result does not depend on the
    /// order of the records.
    /// </remarks>
    public static IReadOnlyList<CorpusEntry> Parse(TextReader packages, TextReader? translations = null)
    {
        // md5 -> full description (short line + long text), from Translation-en.
        var fullByMd5 = new Dictionary<string, string>(StringComparer.Ordinal);
        if (translations is not null)
        {
            foreach (Dictionary<string, string> record in Records(translations))
            {
                if (record.TryGetValue("Description-md5", out string? md5) && record.TryGetValue("Description-en", out string? full))
                {
                    fullByMd5.TryAdd(md5, full);
                }
            }
        }

        var best = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (Dictionary<string, string> record in Records(packages))
        {
            if (!record.TryGetValue("Package", out string? package) || package.Length == 0)
            {
                continue;
            }

            // Packages records say "Description"; a Translation-style record may stand in for one ("Description-en").
            string? description = record.GetValueOrDefault("Description") ?? record.GetValueOrDefault("Description-en");
            if (record.TryGetValue("Description-md5", out string? md5) && fullByMd5.TryGetValue(md5, out string? full))
            {
                description = full;
            }

            if (string.IsNullOrWhiteSpace(description))
            {
                continue;
            }

            string text = Text(package, description);
            if (!best.TryGetValue(package, out string? seen) || text.Length > seen.Length ||
                (text.Length == seen.Length && string.CompareOrdinal(text, seen) < 0))
            {
                best[package] = text;
            }
        }

        return [.. best.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => new CorpusEntry(p.Key, p.Value))];
    }

    /// <summary>
    /// The corpus of this machine's apt indexes: <c>apt-cache dumpavail</c> and the Translation-en indexes in
    /// /var/lib/apt/lists (decompressed by apt-helper). When apt knows no packages (lists never downloaded), the
    /// installed packages from <c>dpkg-query</c>, whose descriptions are complete.
    /// </summary>
    public static IReadOnlyList<CorpusEntry> LoadFromApt(string lists = "/var/lib/apt/lists")
    {
        string packages = RunCapture("apt-cache", "dumpavail");
        var translations = new StringBuilder();
        if (Directory.Exists(lists))
        {
            foreach (string file in Directory.GetFiles(lists, "*_i18n_Translation-en*").Order(StringComparer.Ordinal))
            {
                // apt may keep indexes compressed (.lz4, .gz, .xz); its helper reads each of them.
                translations.Append(RunCapture("/usr/lib/apt/apt-helper", "cat-file", file)).Append("\n\n");
            }
        }

        IReadOnlyList<CorpusEntry> corpus = Parse(new StringReader(packages), new StringReader(translations.ToString()));
        if (corpus.Count > 0)
        {
            if (translations.Length == 0)
            {
                Console.Error.WriteLine(
                    "  note: no Translation-en indexes, so short descriptions only; for the long ones: " +
                    "apt-get update -o Acquire::Languages=en");
            }

            return corpus;
        }

        // The same record format, so one parser serves both.
        string installed = RunCapture("dpkg-query", "-W", "-f=Package: ${Package}\nDescription: ${Description}\n\n");
        return Parse(new StringReader(installed));
    }

    /// <summary>"name: short. long text", one line: paragraph marks (" .") and line breaks become spaces.</summary>
    internal static string Text(string package, string description)
    {
        string[] lines = description.Split('\n');
        var text = new StringBuilder(package.Length + description.Length + 4);
        text.Append(package).Append(": ").Append(lines[0].Trim());
        bool shortLine = true;
        foreach (string raw in lines.AsSpan(1))
        {
            string line = raw.Trim();
            if (line.Length == 0 || line == ".")
            {
                continue;
            }

            // The short description is a title without a full stop; end it, so the model reads sentences.
            text.Append(shortLine && text[^1] is not ('.' or '!' or '?' or ':') ? ". " : " ").Append(line);
            shortLine = false;
        }

        return text.ToString();
    }

    /// <summary>The records of a stanza file, each as field -> value; continuation lines are kept, joined by '\n'.</summary>
    internal static IEnumerable<Dictionary<string, string>> Records(TextReader reader)
    {
        var record = new Dictionary<string, string>(StringComparer.Ordinal);
        string? field = null;
        while (reader.ReadLine() is { } line)
        {
            if (line.Length == 0)
            {
                if (record.Count > 0)
                {
                    yield return record;
                    record = new Dictionary<string, string>(StringComparer.Ordinal);
                }

                field = null;
            }
            else if (line[0] is ' ' or '\t')
            {
                // A continuation line without a field before it is malformed; it is dropped.
                if (field is not null)
                {
                    record[field] = record[field] + "\n" + line[1..];
                }
            }
            else
            {
                int colon = line.IndexOf(':', StringComparison.Ordinal);
                if (colon <= 0)
                {
                    field = null; // not "Field: value"; ignored, with its continuation lines
                    continue;
                }

                field = line[..colon];
                record[field] = line[(colon + 1)..].Trim();
            }
        }

        if (record.Count > 0)
        {
            yield return record;
        }
    }

    private static string RunCapture(string file, params string[] arguments)
    {
        var start = new ProcessStartInfo(file, arguments) { RedirectStandardOutput = true, UseShellExecute = false };
        using Process process = Process.Start(start) ?? throw new InvalidOperationException($"Cannot start {file}.");
        string output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return process.ExitCode == 0
            ? output
            : throw new InvalidOperationException($"{file} {string.Join(' ', arguments)} exited with code {process.ExitCode}.");
    }
}
