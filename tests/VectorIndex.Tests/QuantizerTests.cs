using VectorIndex.Codes;
using VectorIndex.Distance;

namespace VectorIndex.Tests;

/// <summary>The scalar code: what it keeps exactly, what it clips, and its serialised form.</summary>
public sealed unsafe class QuantizerTests
{
    [Fact]
    public void Int8_codes_of_pixel_data_are_exact()
    {
        // Integers 0..255 in every dimension (Fashion-MNIST's pixels): one unit step, every value a code.
        const int d = 20, n = 500;
        var random = new Random(3);
        float[] data = [.. Enumerable.Range(0, n * d).Select(i => (float)(i % d == 0 ? random.Next(256) : random.Next(40, 120)))];
        data[0] = 0;
        data[d] = 255;
        var quantizer = ScalarQuantizer.Train(Quantization.Int8, Metric.L2Squared, d, data, n);

        quantizer.Scale.Should().Be(1f);
        byte[] code = new byte[quantizer.CodeBytes];
        for (int row = 0; row < n; row++)
        {
            fixed (float* v = &data[row * d])
            fixed (byte* c = code)
            {
                quantizer.Encode(v, c);
            }

            for (int i = 0; i < d; i++)
            {
                quantizer.Decode(code, i).Should().Be(data[(row * d) + i], $"row {row}, dimension {i}");
            }
        }

        quantizer.ClippedCoordinates.Should().Be(0);
    }

    [Theory]
    [InlineData(Quantization.Int8, Metric.L2Squared)]
    [InlineData(Quantization.Int8, Metric.InnerProduct)]
    [InlineData(Quantization.Int4, Metric.L2Squared)]
    [InlineData(Quantization.Int4, Metric.InnerProduct)]
    public void A_coordinate_in_range_decodes_within_half_a_step_and_one_outside_is_clipped_and_counted(Quantization kind, Metric metric)
    {
        const int d = 16, n = 2_000;
        float[] data = TestData.Clustered(n, d, seed: 4);
        var quantizer = ScalarQuantizer.Train(kind, metric, d, data, n);
        long clippedByTheFit = quantizer.ClippedCoordinates;
        byte[] code = new byte[quantizer.CodeBytes];
        float[] v = data[..d];
        fixed (float* p = v)
        fixed (byte* c = code)
        {
            quantizer.Encode(p, c);
        }

        for (int i = 0; i < d; i++)
        {
            float low = quantizer.Decode(Enumerable.Repeat((byte)(quantizer.Signed ? (kind == Quantization.Int8 ? 0x81 : 0x99) : 0), quantizer.CodeBytes).ToArray(), i);
            float high = quantizer.Decode(Enumerable.Repeat((byte)(quantizer.Signed ? (kind == Quantization.Int8 ? 0x7F : 0x77) : 0xFF), quantizer.CodeBytes).ToArray(), i);
            if (v[i] >= low && v[i] <= high)
            {
                Math.Abs(quantizer.Decode(code, i) - v[i]).Should().BeLessThanOrEqualTo((quantizer.Scale / 2) * 1.0001f, $"dimension {i}");
            }
        }

        // Far outside every range: all coordinates clipped, and counted.
        float[] far = [.. Enumerable.Repeat(1e6f, d)];
        fixed (float* p = far)
        fixed (byte* c = code)
        {
            quantizer.Encode(p, c).Should().Be(d);
        }

        quantizer.ClippedCoordinates.Should().Be(clippedByTheFit + d);
        quantizer.CodedCoordinates.Should().Be(((long)n + 2) * d);
    }

    [Theory]
    [InlineData(Metric.L2Squared)]
    [InlineData(Metric.InnerProduct)]
    public void An_Int4_code_distance_measures_the_query_on_a_finer_step_against_the_decoded_vector(Metric metric)
    {
        // Asymmetric: the stored vector is decoded to its 4-bit value, the query is kept to a quarter step (L2) or an
        // eighth (inner product), so the code distance differs from the distance between the query and the decoded
        // vector only by the query's rounding (at most half its step per coordinate). What ranks the nodes of one query
        // is how the error varies from node to node: less than between two 4-bit codes, where the query's rounding
        // error is as large as the node's.
        const int d = 40, n = 2_000, queries = 20, rows = 50;
        float[] data = TestData.Clustered(n, d, seed: 6);
        var quantizer = ScalarQuantizer.Train(Quantization.Int4, metric, d, data, n);
        bool l2 = metric == Metric.L2Squared;
        float rounding = quantizer.Scale / (2 * quantizer.QueryResolution);
        byte[] code = new byte[quantizer.CodeBytes], queryCode = new byte[quantizer.CodeBytes], planes = new byte[quantizer.QueryBytes];
        double asymmetricSpread = 0, symmetricSpread = 0;
        int measured = 0;
        for (int q = 0; q < queries; q++)
        {
            float[] query = data[(((q * 97) + 1) * d)..((((q * 97) + 1) * d) + d)];
            fixed (float* pq = query)
            fixed (byte* qc = queryCode)
            fixed (byte* pl = planes)
            {
                quantizer.Encode(pq, qc);
                if (quantizer.EncodeQuery(pq, pl) > 0)
                {
                    continue;
                }
            }

            var asymmetricErrors = new List<double>();
            var symmetricErrors = new List<double>();
            for (int r = 0; r < rows; r++)
            {
                float[] row = data[(((r * 31) + 2) * d)..((((r * 31) + 2) * d) + d)];
                fixed (float* pr = row)
                fixed (byte* c = code)
                {
                    quantizer.Encode(pr, c);
                }

                int sum = l2
                    ? NibblePlaneKernel.Sum<SquaredDifferenceU4>(ref code[0], ref planes[0], (nuint)quantizer.CodeBytes)
                    : NibblePlaneKernel.Sum<ProductS4>(ref code[0], ref planes[0], (nuint)quantizer.CodeBytes);
                float codeDistance = quantizer.Bias + (quantizer.Factor * sum);
                double toDecoded = l2 ? 0 : 1, bound = 0, exact = l2 ? 0 : 1, symmetric = l2 ? 0 : 1;
                for (int i = 0; i < d; i++)
                {
                    double x = quantizer.Decode(code, i), qs = quantizer.Decode(queryCode, i);
                    toDecoded += l2 ? (query[i] - x) * (query[i] - x) : -query[i] * x;
                    bound += l2 ? (2 * Math.Abs(query[i] - x) * rounding) + (rounding * rounding) : Math.Abs(x) * rounding;
                    exact += l2 ? (query[i] - row[i]) * (query[i] - row[i]) : -query[i] * row[i];
                    symmetric += l2 ? (qs - x) * (qs - x) : -qs * x;
                }

                Math.Abs(codeDistance - toDecoded).Should().BeLessThanOrEqualTo((bound * 1.0001) + 1e-4, $"query {q}, row {r}");
                asymmetricErrors.Add(codeDistance - exact);
                symmetricErrors.Add(symmetric - exact);
            }

            asymmetricSpread += Variance(asymmetricErrors);
            symmetricSpread += Variance(symmetricErrors);
            measured++;
        }

        measured.Should().BeGreaterThan(queries / 2, "most clustered rows fall inside the planes' range");
        asymmetricSpread.Should().BeLessThan(0.75 * symmetricSpread);

        // Far outside the range: every coordinate clamped, and reported.
        float[] far = [.. Enumerable.Repeat(-1e6f, d)];
        fixed (float* p = far)
        fixed (byte* pl = planes)
        {
            quantizer.EncodeQuery(p, pl).Should().Be(d);
        }

        planes[..(d / 2)].Should().AllBeEquivalentTo(unchecked((byte)quantizer.QueryPlaneMinimum));
        planes[(d / 2)..quantizer.CodeBytes].Should().AllBeEquivalentTo((byte)0, "padding stays zero");

        static double Variance(List<double> values) => values.Sum(v => Math.Pow(v - values.Average(), 2)) / values.Count;
    }

    [Fact]
    public void Selection_finds_the_value_of_every_rank()
    {
        var random = new Random(6);
        foreach (int n in new[] { 1, 2, 3, 10, 101, 1_000 })
        {
            float[] values = [.. Enumerable.Range(0, n).Select(_ => (float)random.Next(-50, 50))];
            float[] sorted = [.. values.Order()];
            for (int rank = 0; rank < n; rank++)
            {
                ScalarQuantizer.Select((float[])values.Clone(), rank).Should().Be(sorted[rank], $"rank {rank} of {n}");
            }
        }
    }

    [Fact]
    public void Codes_are_padded_to_whole_cache_lines()
    {
        ScalarQuantizer.CodeBytesOf(Quantization.Int8, 784).Should().Be(832);
        ScalarQuantizer.CodeBytesOf(Quantization.Int4, 784).Should().Be(448);
        ScalarQuantizer.CodeBytesOf(Quantization.Int8, 128).Should().Be(128);
        ScalarQuantizer.CodeBytesOf(Quantization.Int4, 1).Should().Be(64);
        ScalarQuantizer.CodeBytesOf(Quantization.None, 128).Should().Be(0);
    }

    [Fact]
    public void The_serialised_form_reads_back_identical_and_bad_fields_are_refused()
    {
        const int d = 10;
        float[] data = TestData.Clustered(300, d, seed: 5);
        var quantizer = ScalarQuantizer.Train(Quantization.Int4, Metric.Cosine, d, data, 300);
        byte[] bytes = new byte[quantizer.SerializedBytes];
        quantizer.Write(bytes);

        ScalarQuantizer copy = ScalarQuantizer.Read(bytes, Quantization.Int4, Metric.Cosine, d);
        copy.Scale.Should().Be(quantizer.Scale);
        copy.Offsets.Should().Equal(quantizer.Offsets);
        copy.ClippedCoordinates.Should().Be(quantizer.ClippedCoordinates);
        copy.CodedCoordinates.Should().Be(quantizer.CodedCoordinates);

        FluentActions.Invoking(() => ScalarQuantizer.Read(bytes, Quantization.Int8, Metric.Cosine, d)).Should().Throw<InvalidDataException>();
        FluentActions.Invoking(() => ScalarQuantizer.Read(bytes, Quantization.Int4, Metric.L2Squared, d)).Should().Throw<InvalidDataException>();
        byte[] nan = (byte[])bytes.Clone();
        BitConverter.GetBytes(float.NaN).CopyTo(nan, 16);
        FluentActions.Invoking(() => ScalarQuantizer.Read(nan, Quantization.Int4, Metric.Cosine, d)).Should().Throw<InvalidDataException>();
        FluentActions.Invoking(() => ScalarQuantizer.Read(bytes.AsSpan(0, 40), Quantization.Int4, Metric.Cosine, d)).Should().Throw<InvalidDataException>();
    }
}
