using VectorIndex.AnnBench;

namespace VectorIndex.AnnBench.Tests;

/// <summary>The corpus parser on apt-cache dumpavail and Translation-en text in the archive's format.</summary>
public sealed class DebianCorpusTests
{
    private static readonly string Packages = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Data", "dumpavail-sample.txt"));
    private static readonly string Translations = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Data", "translation-sample.txt"));

    [Fact]
    public void One_entry_per_package_sorted_by_name_with_the_long_text_from_the_matching_translation()
    {
        IReadOnlyList<CorpusEntry> corpus = DebianCorpus.Parse(new StringReader(Packages), new StringReader(Translations));

        // No Package: skipped; no description: skipped; curl and older-twice twice: once each; the orphan translation
        // adds nothing.
        corpus.Should().Equal(
            new CorpusEntry("apt-notes", "apt-notes: ends the file without a blank line"),
            new CorpusEntry(
                "curl",
                "curl: command line tool for transferring data with URL syntax. curl is a command line tool for transferring " +
                "data with URL syntax. curl supports SSL certificates, HTTP POST and HTTP PUT."),
            new CorpusEntry("inline-long", "inline-long: a record that carries its long text inline. First paragraph, line one, line two. Second paragraph."),
            new CorpusEntry("older-twice", "older-twice: listed twice with different texts, the longer one is kept. not a field line"),
            new CorpusEntry("zsh", "zsh: shell with lots of features"));
    }

    [Fact]
    public void Without_translations_a_package_keeps_its_short_description()
    {
        IReadOnlyList<CorpusEntry> corpus = DebianCorpus.Parse(new StringReader(Packages));

        corpus.Select(e => e.Package).Should().Equal("apt-notes", "curl", "inline-long", "older-twice", "zsh");
        corpus[1].Text.Should().Be("curl: command line tool for transferring data with URL syntax");
    }

    [Fact]
    public void The_result_does_not_depend_on_the_order_of_the_records()
    {
        string[] records = Packages.Split("\n\n");
        string reversed = string.Join("\n\n", records.Reverse());

        DebianCorpus.Parse(new StringReader(reversed), new StringReader(Translations))
            .Should().Equal(DebianCorpus.Parse(new StringReader(Packages), new StringReader(Translations)));
    }

    [Fact]
    public void Records_keep_continuation_lines_and_drop_lines_that_are_no_field()
    {
        List<Dictionary<string, string>> records = [.. DebianCorpus.Records(new StringReader(Packages))];

        records.Should().HaveCount(9);
        records[0]["Tag"].Should().Be("interface::commandline, role::program,\nscope::utility, use::scanning");
        records[7].Should().ContainKey("Priority").And.NotContainKey("this line has no colon and is ignored");
        records[8]["Package"].Should().Be("apt-notes");
    }

    [Fact]
    public void Empty_or_blank_input_is_an_empty_corpus()
    {
        DebianCorpus.Parse(new StringReader("")).Should().BeEmpty();
        DebianCorpus.Parse(new StringReader("\n\n\n")).Should().BeEmpty();
    }
}
