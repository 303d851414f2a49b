using System.Diagnostics;
using System.Text;

namespace SemanticSearch;

/// <summary>Debian's package descriptions: the corpus of the sample.</summary>
internal static class DebianPackages
{
    /// <summary>
    /// Every package apt knows about (<c>apt-cache dumpavail</c>, after <c>apt-get update</c>); when that prints
    /// nothing, the installed packages (<c>dpkg-query</c>). One record per name, sorted by name.
    /// </summary>
    public static (List<PackageRecord> Packages, string Source) Load()
    {
        string? available = Run("apt-cache", "dumpavail");
        if (!string.IsNullOrWhiteSpace(available))
        {
            return (Deduplicate(ParseControl(available)), "apt-cache dumpavail");
        }

        // ${binary:Summary} is the synopsis line alone, so each package is exactly one line; ${Description} would
        // continue over several.
        string? installed = Run("dpkg-query", "-W", "-f=${Package}\t${Section}\t${binary:Summary}\n");
        if (!string.IsNullOrWhiteSpace(installed))
        {
            return (Deduplicate(ParseTabSeparated(installed)), "dpkg-query (installed packages)");
        }

        throw new InvalidOperationException("Neither apt-cache nor dpkg-query listed any package: is this a Debian or Ubuntu system?");
    }

    /// <summary>
    /// Parses deb822 control paragraphs (blank-line separated). A field continues on lines that start with a space or
    /// a tab; in a description a continuation line of a lone "." is an empty line.
    /// </summary>
    internal static IEnumerable<PackageRecord> ParseControl(string text)
    {
        string? name = null, section = null;
        StringBuilder? description = null;
        bool inDescription = false;

        foreach (string raw in text.Split('\n'))
        {
            string line = raw.TrimEnd('\r');
            if (line.Length == 0)
            {
                if (Complete(name, section, description) is { } record)
                {
                    yield return record;
                }

                (name, section, description, inDescription) = (null, null, null, false);
                continue;
            }

            if (line[0] is ' ' or '\t')
            {
                if (inDescription)
                {
                    string continuation = line.Trim();
                    description!.Append('\n').Append(continuation == "." ? string.Empty : continuation);
                }

                continue;
            }

            int colon = line.IndexOf(':', StringComparison.Ordinal);
            string field = colon < 0 ? line : line[..colon];
            string value = colon < 0 ? string.Empty : line[(colon + 1)..].Trim();
            inDescription = false;
            switch (field)
            {
                case "Package":
                    name = value;
                    break;
                case "Section":
                    section = value;
                    break;
                case "Description":
                    description = new StringBuilder(value);
                    inDescription = true;
                    break;
            }
        }

        if (Complete(name, section, description) is { } last)
        {
            yield return last;
        }
    }

    internal static IEnumerable<PackageRecord> ParseTabSeparated(string text)
    {
        foreach (string line in text.Split('\n'))
        {
            string[] parts = line.TrimEnd('\r').Split('\t');
            if (parts.Length == 3 && Complete(parts[0], parts[1], new StringBuilder(parts[2])) is { } record)
            {
                yield return record;
            }
        }
    }

    private static PackageRecord? Complete(string? name, string? section, StringBuilder? description)
    {
        string text = description?.ToString().Trim() ?? string.Empty;
        if (string.IsNullOrEmpty(name) || text.Length == 0)
        {
            return null;
        }

        return new PackageRecord { Name = name, Section = string.IsNullOrEmpty(section) ? "unknown" : section, Description = text };
    }

    /// <summary>A package can be listed by several suites (bookworm, -updates, -security); the first listing wins.</summary>
    private static List<PackageRecord> Deduplicate(IEnumerable<PackageRecord> records) =>
        [.. records.DistinctBy(r => r.Name, StringComparer.Ordinal).OrderBy(r => r.Name, StringComparer.Ordinal)];

    private static string? Run(string program, params string[] arguments)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        try
        {
            using var process = Process.Start(start);
            if (process is null)
            {
                return null;
            }

            // Read stderr concurrently: a full stderr pipe would block the child while we wait on stdout.
            Task<string> errors = process.StandardError.ReadToEndAsync();
            string output = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            _ = errors.Result;
            return process.ExitCode == 0 ? output : null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null; // not installed
        }
    }
}
