using System.Diagnostics;

namespace VectorIndex.AnnBench;

internal sealed partial record Dataset
{
    public const string DebianMiniLmName = "debian-minilm-384-angular";

    /// <summary>
    /// Texts are cut to this many characters (at a space): about the 128 word pieces all-MiniLM-L6-v2 was trained on.
    /// A quarter of the descriptions are longer; uncut, the longest would cost several times the rest on 2 cores.
    /// </summary>
    public const int MaxCharacters = 512;

    /// <summary>
    /// debian-minilm-384-angular: the descriptions of Debian's packages (<see cref="DebianCorpus"/>) embedded by
    /// all-MiniLM-L6-v2 (<see cref="MiniLmEmbedder"/>), <see cref="VectorIndex.Metric.Cosine"/>. The vectors are cached
    /// in <paramref name="cache"/> as debian-minilm-384.vectors (<see cref="EmbeddingCache"/>) with the package of each
    /// row in debian-minilm-384.packages.txt; later runs read them and do not need the model or apt. The
    /// <paramref name="testCount"/> queries are rows drawn by a seeded shuffle and left out of the base.
    /// </summary>
    public static Dataset DebianMiniLm(string cache, int testCount = 1_000, int seed = 15)
    {
        string vectorsPath = Path.Combine(cache, "debian-minilm-384.vectors");
        float[] vectors;
        if (File.Exists(vectorsPath))
        {
            (vectors, int d) = EmbeddingCache.Read(vectorsPath);
            if (d != MiniLmEmbedder.Dimensions)
            {
                throw new InvalidDataException($"{vectorsPath} holds {d}-d vectors; MiniLM's are {MiniLmEmbedder.Dimensions}-d.");
            }
        }
        else
        {
            vectors = EmbedCorpus(cache, vectorsPath);
        }

        // Ground truth and the peers' exported files are cached under the dataset's name: another split needs
        // another name, or it would be measured against the first split's answers.
        string name = testCount == 1_000 && seed == 15 ? DebianMiniLmName : $"{DebianMiniLmName}-q{testCount}-seed{seed}";
        (float[] train, float[] test) = Split(vectors, MiniLmEmbedder.Dimensions, testCount, seed);
        return new Dataset(name, MiniLmEmbedder.Dimensions, train, test, null, 0) { Metric = VectorIndex.Metric.Cosine };
    }

    private static float[] EmbedCorpus(string cache, string vectorsPath)
    {
        Console.Error.WriteLine("Reading Debian's package descriptions (apt-cache dumpavail, Translation-en)...");
        IReadOnlyList<CorpusEntry> corpus = DebianCorpus.LoadFromApt();
        if (corpus.Count == 0)
        {
            throw new InvalidOperationException("apt and dpkg know no packages; run apt-get update -o Acquire::Languages=en first.");
        }

        CorpusEntry sample = corpus[corpus.Count / 2];
        Console.Error.WriteLine($"  {corpus.Count:N0} packages, {corpus.Average(e => e.Text.Length):F0} characters on average; e.g. {sample.Text[..Math.Min(160, sample.Text.Length)]}");
        Console.Error.WriteLine($"Embedding {corpus.Count:N0} package descriptions with all-MiniLM-L6-v2 (once; cached in {vectorsPath})...");
        using var embedder = new MiniLmEmbedder();
        var progress = new PhaseProgress($"embedding, {embedder.Workers} session(s)", corpus.Count, "texts", showRate: true);
        float[] vectors = embedder.Embed([.. corpus.Select(e => e.Text)], progress: progress, maxCharacters: MaxCharacters);
        TimeSpan elapsed = progress.Done();
        Console.Error.WriteLine($"  {corpus.Count / elapsed.TotalSeconds:F1} texts/s");

        // New vectors make the files derived from older ones wrong: ground truth (*.ivecs) and the peers' exports.
        foreach (string stale in Directory.Exists(cache) ? Directory.GetFiles(cache, DebianMiniLmName + "*.ivecs") : [])
        {
            File.Delete(stale);
        }

        foreach (string stale in Directory.Exists(cache) ? Directory.GetDirectories(cache, DebianMiniLmName + "*") : [])
        {
            Directory.Delete(stale, recursive: true);
        }

        EmbeddingCache.Write(vectorsPath, vectors, MiniLmEmbedder.Dimensions);
        File.WriteAllLines(Path.Combine(cache, "debian-minilm-384.packages.txt"), corpus.Select(e => e.Package));
        return vectors;
    }

    /// <summary>
    /// Rows for the queries by a seeded Fisher-Yates shuffle (System.Random with a seed is the same sequence on every
    /// .NET); the queries in shuffle order, the base in the original order minus them.
    /// </summary>
    internal static (float[] Train, float[] Test) Split(float[] vectors, int dimensions, int testCount, int seed)
    {
        int rows = vectors.Length / dimensions;
        if (testCount < 1 || testCount >= rows)
        {
            throw new ArgumentOutOfRangeException(nameof(testCount), $"{testCount} queries out of {rows} rows leave no base or no queries.");
        }

        int[] order = [.. Enumerable.Range(0, rows)];
        var random = new Random(seed);
        for (int i = rows - 1; i > 0; i--)
        {
            int j = random.Next(i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }

        var isTest = new bool[rows];
        var test = new float[testCount * dimensions];
        for (int q = 0; q < testCount; q++)
        {
            isTest[order[q]] = true;
            vectors.AsSpan(order[q] * dimensions, dimensions).CopyTo(test.AsSpan(q * dimensions));
        }

        var train = new float[(rows - testCount) * dimensions];
        int at = 0;
        for (int row = 0; row < rows; row++)
        {
            if (!isTest[row])
            {
                vectors.AsSpan(row * dimensions, dimensions).CopyTo(train.AsSpan(at));
                at += dimensions;
            }
        }

        Debug.Assert(at == train.Length, "every non-query row is in the base");
        return (train, test);
    }
}
