using VectorIndex.AnnBench;

namespace VectorIndex.AnnBench.Tests;

public sealed class SmapsTests
{
    // A file mapping split in two by madvise (offsets 0 and 0x5000), the heap, an anonymous mapping without a path,
    // and a file whose name has spaces; fields trimmed to the ones that matter plus a few that do not.
    private const string Sample = """
        7f0000000000-7f0000005000 r--s 00000000 fe:00 4242                       /data/indexes/a.vidx
        Size:                 20 kB
        KernelPageSize:        4 kB
        Rss:                  12 kB
        Pss:                  12 kB
        Anonymous:             0 kB
        VmFlags: rd sh mr mw me ms sd
        7f0000005000-7f0000010000 r--s 00005000 fe:00 4242                       /data/indexes/a.vidx
        Size:                 44 kB
        Rss:                   8 kB
        Anonymous:             0 kB
        VmFlags: rd sh mr mw me ms rr sd
        55d0c0a00000-55d0c0c00000 rw-p 00000000 00:00 0                          [heap]
        Size:               2048 kB
        Rss:                1500 kB
        Anonymous:          1500 kB
        7f1000000000-7f1000100000 rw-p 00000000 00:00 0 
        Size:               1024 kB
        Rss:                 100 kB
        Anonymous:           100 kB
        7f2000000000-7f2000001000 r--p 00001000 fe:00 77                         /data/my index.vidx
        Rss:                   4 kB
        Anonymous:             0 kB
        """;

    [Fact]
    public void It_reads_each_mapping_its_range_offset_path_and_sizes()
    {
        List<SmapsEntry> entries = Smaps.Parse(Sample);

        entries.Should().Equal(
            new SmapsEntry(0x7f0000000000, 0x7f0000005000, 0, "/data/indexes/a.vidx", 12 * 1024, 0),
            new SmapsEntry(0x7f0000005000, 0x7f0000010000, 0x5000, "/data/indexes/a.vidx", 8 * 1024, 0),
            new SmapsEntry(0x55d0c0a00000, 0x55d0c0c00000, 0, "[heap]", 1500 * 1024, 1500 * 1024),
            new SmapsEntry(0x7f1000000000, 0x7f1000100000, 0, "", 100 * 1024, 100 * 1024),
            new SmapsEntry(0x7f2000000000, 0x7f2000001000, 0x1000, "/data/my index.vidx", 4 * 1024, 0));
    }

    [Fact]
    public void It_sums_a_files_split_mappings_and_all_anonymous_bytes_and_finds_where_offset_zero_lies()
    {
        List<SmapsEntry> entries = Smaps.Parse(Sample);

        Smaps.ResidentOf(entries, "/data/indexes/a.vidx").Should().Be(20 * 1024);
        Smaps.ResidentOf(entries, "/data/my index.vidx").Should().Be(4 * 1024);
        Smaps.ResidentOf(entries, "/data/other.vidx").Should().Be(0);
        Smaps.Anonymous(entries).Should().Be(1600 * 1024);
        Smaps.BaseOf(entries.Skip(1), "/data/indexes/a.vidx").Should().Be(0x7f0000000000, "the second piece starts 0x5000 into the file");
        Smaps.BaseOf(entries, "/data/my index.vidx").Should().Be(0x7f2000000000 - 0x1000);
    }

    [Fact]
    public void The_allocation_free_summary_gives_the_same_figures()
    {
        byte[] text = System.Text.Encoding.UTF8.GetBytes(Sample);

        Smaps.Summarize(text, "/data/indexes/a.vidx"u8).Should().Be((20L * 1024, 1600L * 1024, 0x7f0000000000UL));
        Smaps.Summarize(text, "/data/my index.vidx"u8).Should().Be((4L * 1024, 1600L * 1024, 0x7f2000000000UL - 0x1000));
        Smaps.Summarize(text, "/data/other.vidx"u8).Should().Be((0L, 1600L * 1024, 0UL));
    }

    [Fact]
    public void The_own_process_reports_a_mapped_file_resident_once_read()
    {
        if (!OperatingSystem.IsLinux())
        {
            File.Exists("/proc/self/smaps").Should().BeFalse("smaps is Linux's");
            return;
        }

        // The test assembly itself is mapped by the runtime; the heap is anonymous.
        List<SmapsEntry> entries = Smaps.ReadSelf();
        Smaps.Anonymous(entries).Should().BeGreaterThan(1 << 20);
        entries.Should().Contain(e => e.Path.EndsWith(".dll", StringComparison.Ordinal) && e.RssBytes > 0);
    }

    [Fact]
    public void The_report_of_a_child_becomes_a_row_per_index_with_ratios_to_the_float_one()
    {
        ResidentRun.Measurement floats = ResidentRun.ParseReport(Quantization.None, 200 << 20, """
            nodes 1000
            queries 50
            open 1000000 900000 100000
            walk 1000000 900000 200000
            first 1000000 900000 200000
            sweep 1000000 900000 1000000
            """);
        ResidentRun.Measurement coded = ResidentRun.ParseReport(Quantization.Int4, 210 << 20, """
            nodes 1000
            queries 50
            open 200000 0 100000
            walk 250000 0 150000
            first 900000 700000 150000
            sweep 1100000 900000 400000
            """);

        coded.Walk.Should().Be(new ResidentRun.Stage(250_000, 0, 150_000));
        string[] rows = [.. ResidentRun.Table([floats, coded], 64).Split('\n').Select(r => r.TrimEnd('\r'))];
        rows.Should().HaveCount(4);
        rows[0].Should().Contain("ef 64").And.Contain("50 queries, Rerank 0");
        rows[2].Should().StartWith("| VectorIndex | 200.0 | 1.0 (0.9) |").And.Contain("| 1,100 / 1,200 / 2,000 | 1.00x / 1.00x / 1.00x |");
        // Per vector: (200,000 + 100,000) / 1,000 = 300 against 1,100; 400 against 1,200; 1,500 against 2,000.
        rows[3].Should().StartWith("| VectorIndex-int4 | 210.0 | 0.2 (0.0) |").And.EndWith("| 300 / 400 / 1,500 | 0.27x / 0.33x / 0.75x |");
    }
}
