using VectorIndex.Persistence;

namespace VectorIndex.Tests;

/// <summary>
/// Quantised traversal (Int8, Int4) keeps the index's promises: recall against exact search, exact distances after
/// the re-rank, filters, removal and compaction, training and refitting, and bit-identical files.
/// </summary>
public sealed class QuantizedIndexTests : IDisposable
{
    private const int D = 48;
    private const int N = 6_000;
    private readonly string _folder = Directory.CreateTempSubdirectory("vectorindex-quantized-").FullName;
    private readonly float[] _data = TestData.Clustered(N, D, seed: 91);
    private readonly float[] _queries = TestData.Clustered(200, D, seed: 92);
    private readonly ulong[] _keys = TestData.Keys(N);

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Theory]
    [InlineData(Quantization.Int8, Metric.L2Squared)]
    [InlineData(Quantization.Int8, Metric.InnerProduct)]
    [InlineData(Quantization.Int8, Metric.Cosine)]
    [InlineData(Quantization.Int4, Metric.L2Squared)]
    [InlineData(Quantization.Int4, Metric.InnerProduct)]
    [InlineData(Quantization.Int4, Metric.Cosine)]
    public void Recall_matches_the_float_walk_and_distances_are_exact(Quantization quantization, Metric metric)
    {
        using HnswIndex floats = Build(Quantization.None, metric);
        using HnswIndex coded = Build(quantization, metric);
        using BruteForceIndex exact = TestData.Exact(_keys, _data, D, metric);
        coded.IsQuantizationTrained.Should().BeTrue();
        floats.IsQuantizationTrained.Should().BeFalse();

        var options = new SearchOptions { Ef = 100 };
        double floatRecall = TestData.Recall(floats, exact, _queries, D, 10, options);
        double codedRecall = TestData.Recall(coded, exact, _queries, D, 10, options);
        // The same graph (one thread, one seed: the build measures floats in every mode); only the walk differs.
        codedRecall.Should().BeGreaterThanOrEqualTo(floatRecall - 0.02, $"{quantization} {metric} against the float walk's {floatRecall}");
        codedRecall.Should().BeGreaterThanOrEqualTo(0.9);

        // Re-ranked: each distance is the key's exact float distance (the brute-force index's, to rounding).
        for (int q = 0; q < 20; q++)
        {
            ReadOnlySpan<float> query = TestData.Row(_queries, D, q);
            IReadOnlyList<SearchResult> results = coded.Search(query, 10, options);
            results.Select(r => r.Distance).Should().BeInAscendingOrder();
            results.Select(r => r.Key).Should().OnlyHaveUniqueItems();
            Dictionary<ulong, float> truth = exact.Search(query, N).ToDictionary(r => r.Key, r => r.Distance);
            foreach (SearchResult r in results)
            {
                r.Distance.Should().BeApproximately(truth[r.Key], 1e-4f + (1e-5f * Math.Abs(truth[r.Key])));
            }
        }

        coded.GetStatistics().CodeBytes.Should().Be((long)N * 64, "48 dimensions take one cache line at 8 bits and at 4");
        GraphInvariants.Check(coded);
    }

    [Fact]
    public void Without_re_rank_the_walk_order_is_returned_with_code_distances()
    {
        using HnswIndex coded = Build(Quantization.Int4, Metric.L2Squared);
        using BruteForceIndex exact = TestData.Exact(_keys, _data, D, Metric.L2Squared);
        var none = new SearchOptions { Ef = 100, Rerank = 0 };
        double recall = TestData.Recall(coded, exact, _queries, D, 10, none);
        recall.Should().BeGreaterThan(0.5).And.BeLessThan(TestData.Recall(coded, exact, _queries, D, 10, new SearchOptions { Ef = 100 }));

        // Code distances are approximations: some differ from the exact ones.
        int differing = 0;
        for (int q = 0; q < 20; q++)
        {
            ReadOnlySpan<float> query = TestData.Row(_queries, D, q);
            Dictionary<ulong, float> truth = exact.Search(query, N).ToDictionary(r => r.Key, r => r.Distance);
            differing += coded.Search(query, 10, none).Count(r => Math.Abs(r.Distance - truth[r.Key]) > 1e-3f * (1 + truth[r.Key]));
        }

        differing.Should().BeGreaterThan(0);
    }

    [Fact]
    public void Below_the_training_size_the_index_walks_the_floats_and_answers_as_a_float_index_does()
    {
        using var floats = new HnswIndex(new HnswOptions { Dimensions = D });
        using var coded = new HnswIndex(new HnswOptions { Dimensions = D, Quantization = Quantization.Int8, QuantizationTrainingSize = 1_001 });
        for (int i = 0; i < 1_000; i++)
        {
            floats.Add(_keys[i], TestData.Row(_data, D, i));
            coded.Add(_keys[i], TestData.Row(_data, D, i));
        }

        coded.IsQuantizationTrained.Should().BeFalse();
        for (int q = 0; q < 50; q++)
        {
            coded.Search(TestData.Row(_queries, D, q), 10).Should().Equal(floats.Search(TestData.Row(_queries, D, q), 10));
        }

        coded.Add(_keys[1_000], TestData.Row(_data, D, 1_000));
        coded.IsQuantizationTrained.Should().BeTrue();
        coded.GetStatistics().CodeBytes.Should().Be(1_001L * 64);
    }

    [Fact]
    public void Filters_removal_and_compaction_keep_their_promises_under_codes()
    {
        using HnswIndex coded = Build(Quantization.Int4, Metric.L2Squared);
        var removed = new HashSet<ulong>(_keys.Where((_, i) => i % 3 == 0));
        foreach (ulong key in removed)
        {
            coded.Remove(key).Should().BeTrue();
        }

        coded.Compact();
        float[] left = [.. _keys.Select((k, i) => (k, i)).Where(x => !removed.Contains(x.k)).SelectMany(x => TestData.Row(_data, D, x.i).ToArray())];
        ulong[] leftKeys = [.. _keys.Where(k => !removed.Contains(k))];
        using BruteForceIndex exact = TestData.Exact(leftKeys, left, D, Metric.L2Squared);

        TestData.Recall(coded, exact, _queries, D, 10, new SearchOptions { Ef = 100 }).Should().BeGreaterThanOrEqualTo(0.9);
        var even = new SearchOptions { Ef = 100, Filter = key => key % 2 == 0 };
        TestData.Recall(coded, exact, _queries, D, 10, even).Should().BeGreaterThanOrEqualTo(0.9);
        var few = new SearchOptions { AllowedKeys = leftKeys.Take(30).ToHashSet() };
        for (int q = 0; q < 50; q++)
        {
            IReadOnlyList<SearchResult> results = coded.Search(TestData.Row(_queries, D, q), 10, even);
            results.Should().HaveCount(10);
            results.Should().OnlyContain(r => r.Key % 2 == 0 && !removed.Contains(r.Key));
            coded.Search(TestData.Row(_queries, D, q), 10, few).Select(r => r.Key)
                .Should().Equal(exact.Search(TestData.Row(_queries, D, q), 10, few).Select(r => r.Key));
        }

        coded.GetStatistics().CodeBytes.Should().Be((long)coded.GetStatistics().NodeCount * 64);
        GraphInvariants.Check(coded);
    }

    [Fact]
    public void Drifted_data_is_clipped_and_counted_and_a_compaction_refits()
    {
        using HnswIndex coded = Build(Quantization.Int8, Metric.L2Squared);
        coded.GetStatistics().ClippedShare.Should().Be(0, "the fit covers the sample's whole range under Int8");

        // Shifted far out of every fitted range.
        ulong[] moreKeys = TestData.Keys(2_000, first: 100_000);
        float[] shifted = [.. TestData.Clustered(2_000, D, seed: 93).Select(x => x + 50)];
        coded.AddRange(moreKeys, shifted);
        double drifted = coded.GetStatistics().ClippedShare;
        drifted.Should().BeGreaterThan(0.1);

        coded.Remove(_keys[0]);
        coded.Compact();
        coded.GetStatistics().ClippedShare.Should().Be(0, "the refit covers the new range");

        using BruteForceIndex exact = TestData.Exact(
            [.. _keys.Skip(1), .. moreKeys], [.. _data.Skip(D), .. shifted], D, Metric.L2Squared);
        float[] shiftedQueries = [.. TestData.Clustered(100, D, seed: 94).Select(x => x + 50)];
        TestData.Recall(coded, exact, shiftedQueries, D, 10, new SearchOptions { Ef = 100 }).Should().BeGreaterThanOrEqualTo(0.9);
    }

    [Theory]
    [InlineData(Quantization.Int8, Metric.Cosine)]
    [InlineData(Quantization.Int4, Metric.InnerProduct)]
    public void File_stream_and_mapped_round_trips_keep_the_codes_and_answer_identically(Quantization quantization, Metric metric)
    {
        using HnswIndex original = Build(quantization, metric);
        string path = Path.Combine(_folder, "coded.vidx");
        original.Save(path);
        using HnswIndex loaded = HnswIndex.Load(path);
        using HnswIndex mapped = HnswIndex.OpenReadOnly(path);
        foreach (HnswIndex copy in new[] { loaded, mapped })
        {
            copy.Options.Should().Be(original.Options);
            copy.IsQuantizationTrained.Should().BeTrue();
            copy.GetStatistics().ClippedShare.Should().Be(original.GetStatistics().ClippedShare);
            for (int q = 0; q < _queries.Length / D; q++)
            {
                foreach (SearchOptions options in new[] { new SearchOptions(), new SearchOptions { Rerank = 0 } })
                {
                    copy.Search(TestData.Row(_queries, D, q), 10, options).Should().Equal(original.Search(TestData.Row(_queries, D, q), 10, options));
                }
            }
        }

        // Saved again, the loaded index writes the same bytes.
        string again = Path.Combine(_folder, "again.vidx");
        loaded.Save(again);
        File.ReadAllBytes(again).Should().Equal(File.ReadAllBytes(path));
    }

    [Fact]
    public unsafe void A_verified_read_only_open_keeps_the_floats_of_a_quantised_index_out_of_the_resident_set()
    {
        // The checksum pass reads every page of the mapping. Under codes the walk reads only the re-ranked floats, so
        // the open gives the float section's pages back; a float index keeps them (its walk reads them all).
        using HnswIndex floats = Build(Quantization.None, Metric.L2Squared);
        using HnswIndex coded = Build(Quantization.Int4, Metric.L2Squared);
        string floatPath = Path.Combine(_folder, "floats.vidx");
        string codedPath = Path.Combine(_folder, "coded.vidx");
        floats.Save(floatPath);
        coded.Save(codedPath);
        byte[] codedBytes = File.ReadAllBytes(codedPath);
        FileHeader header = FileHeader.Parse(codedBytes.AsSpan(0, FileHeader.Length), codedBytes.Length);
        long vectorBytes = header[Section.Vectors].Length;
        vectorBytes.Should().BeGreaterThan(1 << 20, "the float section is many pages");

        using HnswIndex mappedFloats = HnswIndex.OpenReadOnly(floatPath);
        using HnswIndex mappedCoded = HnswIndex.OpenReadOnly(codedPath);
        if (OperatingSystem.IsLinux())
        {
            long page = Environment.SystemPageSize;
            long floatFile = new FileInfo(floatPath).Length;
            MappedResidentBytes(floatPath).Should().BeGreaterThanOrEqualTo(floatFile / page * page, "the verified float index stays resident");
            long resident = MappedResidentBytes(codedPath);
            resident.Should().BeLessThanOrEqualTo(codedBytes.Length - vectorBytes + (2 * page), "only the partial pages at the float section's ends may stay");
            resident.Should().BeGreaterThan(header[Section.Codes].Length - page, "the codes the walk reads stay resident");
        }
        else
        {
            fixed (byte* p = codedBytes)
            {
                PageAdvice.DropFromProcess(p, codedBytes.Length).Should().BeFalse("the advice is Linux's only");
            }
        }

        // Either way the mapped index answers as the one it was saved from: given-back pages are read again.
        for (int q = 0; q < 50; q++)
        {
            mappedCoded.Search(TestData.Row(_queries, D, q), 10).Should().Equal(coded.Search(TestData.Row(_queries, D, q), 10));
        }
    }

    [Fact]
    public void An_untrained_quantised_index_round_trips_its_options()
    {
        using var index = new HnswIndex(new HnswOptions { Dimensions = D, Quantization = Quantization.Int4, QuantizationTrainingSize = 500 });
        index.AddRange(_keys[..100], _data.AsMemory(0, 100 * D));
        var stream = new MemoryStream();
        index.Save(stream);
        stream.Position = 0;
        using HnswIndex loaded = HnswIndex.Load(stream);
        loaded.Options.Should().Be(index.Options);
        loaded.IsQuantizationTrained.Should().BeFalse();
        loaded.AddRange(_keys[100..500], _data.AsMemory(100 * D, 400 * D));
        loaded.IsQuantizationTrained.Should().BeTrue();
    }

    [Fact]
    public void A_damaged_codes_section_is_invalid_data()
    {
        using HnswIndex original = Build(Quantization.Int4, Metric.L2Squared, n: 1_500, trainingSize: 1_000);
        var stream = new MemoryStream();
        original.Save(stream);
        byte[] bytes = stream.ToArray();
        FileHeader header = FileHeader.Parse(bytes, bytes.Length);
        SectionInfo codes = header[Section.Codes];
        string path = Path.Combine(_folder, "damaged.vidx");
        var random = new Random(95);
        IEnumerable<long> positions = Enumerable.Range(0, 128).Select(i => codes.Offset + i)
            .Concat(Enumerable.Range(0, 60).Select(_ => codes.Offset + random.NextInt64(codes.Length)));
        foreach (long at in positions)
        {
            byte[] damaged = (byte[])bytes.Clone();
            damaged[at] ^= 0x24;
            FluentActions.Invoking(() => HnswIndex.Load(new MemoryStream(damaged))).Should().Throw<InvalidDataException>($"byte {at - codes.Offset} of the codes");
            File.WriteAllBytes(path, damaged);
            FluentActions.Invoking(() => HnswIndex.OpenReadOnly(path)).Should().Throw<InvalidDataException>($"byte {at - codes.Offset} of the codes");
        }

        foreach (long length in new[] { codes.Offset + 10, codes.Offset + 64, codes.Offset + 200, bytes.Length - 1 })
        {
            FluentActions.Invoking(() => HnswIndex.Load(new MemoryStream(bytes[..(int)length]))).Should().Throw<InvalidDataException>($"cut at {length}");
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Several_vectors_per_key_and_merges_keep_their_promises_under_codes(bool mergeIntoEmpty)
    {
        // Three vectors per key: each search returns 10 distinct keys, at the exact distance of each key's nearest vector.
        var options = new HnswOptions { Dimensions = D, Quantization = Quantization.Int4, QuantizationTrainingSize = 1_000, MultipleVectorsPerKey = true };
        using var source = new HnswIndex(options);
        ulong[] keys = [.. _keys.Select(k => k / 3)];
        source.AddRange(keys, _data, maxDegreeOfParallelism: 1);
        using var target = new HnswIndex(options);
        if (!mergeIntoEmpty)
        {
            target.Add(ulong.MaxValue, TestData.Row(_queries, D, 199));
        }

        target.AddFrom(source);
        target.IsQuantizationTrained.Should().BeTrue();
        foreach (HnswIndex index in new[] { source, target })
        {
            index.IsQuantizationTrained.Should().BeTrue();
            for (int q = 0; q < 30; q++)
            {
                float[] query = TestData.Row(_queries, D, q).ToArray();
                IReadOnlyList<SearchResult> results = index.Search(query, 10, new SearchOptions { Ef = 100 });
                results.Should().HaveCount(10);
                results.Select(r => r.Key).Should().OnlyHaveUniqueItems();
                foreach (SearchResult r in results.Where(r => r.Key != ulong.MaxValue))
                {
                    float nearest = Enumerable.Range(0, N).Where(i => keys[i] == r.Key)
                        .Min(i => TensorDistance(query, TestData.Row(_data, D, i)));
                    r.Distance.Should().BeApproximately(nearest, 1e-3f * (1 + nearest));
                }
            }
        }
    }

    [Fact]
    public void Bad_quantisation_arguments_throw_the_documented_exceptions()
    {
        FluentActions.Invoking(() => new HnswIndex(new HnswOptions { Dimensions = 40_000, Quantization = Quantization.Int8 }))
            .Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be("Dimensions");
        FluentActions.Invoking(() => new HnswIndex(new HnswOptions { Dimensions = 4, Quantization = (Quantization)7 }))
            .Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be("Quantization");
        FluentActions.Invoking(() => new HnswIndex(new HnswOptions { Dimensions = 4, QuantizationTrainingSize = 0 }))
            .Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be("QuantizationTrainingSize");

        using var floats = new HnswIndex(new HnswOptions { Dimensions = 4 });
        floats.Add(1, [1, 2, 3, 4]);
        FluentActions.Invoking(floats.TrainQuantization).Should().Throw<InvalidOperationException>();
        FluentActions.Invoking(() => floats.Search([1, 2, 3, 4], 1, new SearchOptions { Rerank = -1 }))
            .Should().Throw<ArgumentOutOfRangeException>();

        using var empty = new HnswIndex(new HnswOptions { Dimensions = 4, Quantization = Quantization.Int4 });
        FluentActions.Invoking(empty.TrainQuantization).Should().Throw<InvalidOperationException>();
        empty.Add(1, [1, 2, 3, 4]);
        empty.TrainQuantization();
        empty.IsQuantizationTrained.Should().BeTrue();
        empty.Search([1, 2, 3, 4], 1).Single().Key.Should().Be(1UL);
    }

    [Fact]
    public async Task Searches_run_through_training_refits_and_compactions()
    {
        using var index = new HnswIndex(new HnswOptions { Dimensions = D, Quantization = Quantization.Int4, QuantizationTrainingSize = 2_000 });
        using var stop = new CancellationTokenSource();
        var removed = new System.Collections.Concurrent.ConcurrentDictionary<ulong, bool>();
        Task writer = Task.Run(() =>
        {
            for (int i = 0; i < N; i++)
            {
                index.Add(_keys[i], TestData.Row(_data, D, i));
                if (i % 7 == 0 && i > 0)
                {
                    index.Remove(_keys[i - 1]);
                    removed[_keys[i - 1]] = true; // after Remove returned: no search that starts now may return it
                }

                if (i % 1_500 == 0 && i > 0)
                {
                    index.TrainQuantization();
                }
            }

            stop.Cancel();
        });
        Task reader = Task.Run(() =>
        {
            var results = new SearchResult[10];
            int q = 0;
            while (!stop.IsCancellationRequested)
            {
                var snapshot = removed.Keys.ToHashSet();
                int found = index.Search(TestData.Row(_queries, D, q++ % 200), results);
                results.AsSpan(0, found).ToArray().Where(r => snapshot.Contains(r.Key)).Should().BeEmpty();
                results.AsSpan(0, found).ToArray().Select(r => r.Key).Should().OnlyHaveUniqueItems();
            }
        });
        await Task.WhenAll(writer, reader);
        index.IsQuantizationTrained.Should().BeTrue();
        GraphInvariants.Check(index);
    }

    private static float TensorDistance(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        float sum = 0;
        for (int i = 0; i < a.Length; i++)
        {
            sum += (a[i] - b[i]) * (a[i] - b[i]);
        }

        return sum;
    }

    /// <summary>The Rss of this process's mappings of <paramref name="path"/>, summed from /proc/self/smaps (Linux).</summary>
    private static long MappedResidentBytes(string path)
    {
        long total = 0;
        bool inFile = false;
        foreach (string line in File.ReadLines("/proc/self/smaps"))
        {
            string[] fields = line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length >= 5 && fields[0].Contains('-', StringComparison.Ordinal) && !fields[0].EndsWith(':'))
            {
                inFile = fields.Length == 6 && fields[5].Trim() == path;
            }
            else if (inFile && fields.Length >= 2 && fields[0] == "Rss:")
            {
                total += long.Parse(fields[1], System.Globalization.CultureInfo.InvariantCulture) * 1024;
            }
        }

        return total;
    }

    private HnswIndex Build(Quantization quantization, Metric metric, int n = N, int trainingSize = 2_000)
    {
        var index = new HnswIndex(new HnswOptions
        {
            Dimensions = D,
            Metric = metric,
            Quantization = quantization,
            QuantizationTrainingSize = trainingSize,
            EfConstruction = 100,
        });
        index.AddRange(_keys.AsMemory(0, n), _data.AsMemory(0, n * D), maxDegreeOfParallelism: 1);
        return index;
    }
}
