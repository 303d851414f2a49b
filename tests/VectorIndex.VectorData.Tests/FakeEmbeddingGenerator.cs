using Microsoft.Extensions.AI;

namespace VectorIndex.VectorData.Tests;

/// <summary>
/// A deterministic embedding generator: the text's characters spread over the dimensions. Shared with the Orleans
/// tests (linked into their project), which check the sharded store against the same embeddings.
/// </summary>
public sealed class FakeEmbeddingGenerator(int dimensions) : IEmbeddingGenerator<string, Embedding<float>>
{
    public int Calls { get; private set; }

    public static float[] Embed(string text, int dimensions)
    {
        var v = new float[dimensions];
        for (int i = 0; i < text.Length; i++)
        {
            v[i % dimensions] += text[i] % 17 + 1;
        }

        return v;
    }

    public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(
        IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        Calls++;
        return Task.FromResult(new GeneratedEmbeddings<Embedding<float>>(values.Select(v => new Embedding<float>(Embed(v, dimensions)))));
    }

    public object? GetService(Type serviceType, object? serviceKey = null) => serviceType.IsInstanceOfType(this) ? this : null;

    public void Dispose()
    {
    }
}
