using System.Buffers.Binary;
using System.IO.Compression;

namespace VectorIndex.AnnBench;

/// <summary>A benchmark dataset: base vectors, queries, and (when known) the true neighbours of each query.</summary>
internal sealed partial record Dataset(string Name, int Dimensions, float[] Base, float[] Queries, int[]? Truth, int TruthK)
{
    public int BaseCount => Base.Length / Dimensions;

    public int QueryCount => Queries.Length / Dimensions;

    public ReadOnlySpan<float> Query(int i) => Queries.AsSpan(i * Dimensions, Dimensions);

    /// <summary>True when every base and query vector has length 1 within <paramref name="tolerance"/>.</summary>
    public bool AllUnitLength(double tolerance = 1e-4)
    {
        foreach (float[] set in new[] { Base, Queries })
        {
            for (int i = 0; i < set.Length; i += Dimensions)
            {
                if (Math.Abs(System.Numerics.Tensors.TensorPrimitives.Norm(set.AsSpan(i, Dimensions)) - 1) > tolerance)
                {
                    return false;
                }
            }
        }

        return true;
    }

    /// <summary>fashion-mnist-784-euclidean from Debian's dataset-fashion-mnist: 60,000 train as base, 10,000 test as queries.</summary>
    public static Dataset FashionMnist(string folder = "/usr/share/datasets/fashion-mnist")
    {
        string train = Path.Combine(folder, "train-images-idx3-ubyte.gz");
        string test = Path.Combine(folder, "t10k-images-idx3-ubyte.gz");
        if (!File.Exists(train) || !File.Exists(test))
        {
            throw new FileNotFoundException(
                $"Fashion-MNIST not found in {folder}. Install it with: sudo apt-get install dataset-fashion-mnist");
        }

        (float[] b, int d) = ReadIdxImages(train);
        (float[] q, _) = ReadIdxImages(test);
        return new Dataset("fashion-mnist-784-euclidean", d, b, q, null, 0);
    }

    /// <summary>TEXMEX files: base and query as .fvecs or .bvecs, optional ground truth as .ivecs.</summary>
    public static Dataset Texmex(string basePath, string queryPath, string? truthPath)
    {
        (float[] b, int d) = ReadVecs(basePath);
        (float[] q, int dq) = ReadVecs(queryPath);
        if (dq != d)
        {
            throw new InvalidDataException($"{queryPath} has {dq} dimensions; {basePath} has {d}.");
        }

        int[]? truth = null;
        int truthK = 0;
        if (truthPath is not null)
        {
            (truth, truthK) = ReadIvecs(truthPath);
        }

        return new Dataset(Path.GetFileNameWithoutExtension(basePath), d, b, q, truth, truthK);
    }

    /// <summary>Seeded synthetic data: uniform in [-1, 1]^d, or Gaussian clusters around 100 random centres.</summary>
    public static Dataset Synthetic(bool clustered, int n, int queries, int d, int seed)
    {
        var centres = new Random(seed);
        float[] centre = new float[100 * d];
        for (int i = 0; i < centre.Length; i++)
        {
            centre[i] = (float)((centres.NextDouble() * 2) - 1);
        }

        float[] Generate(int count, int s)
        {
            var random = new Random(s);
            var data = new float[(long)count * d];
            for (int row = 0; row < count; row++)
            {
                int c = random.Next(100);
                for (int j = 0; j < d; j++)
                {
                    double u1 = 1.0 - random.NextDouble();
                    double g = Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * random.NextDouble());
                    data[((long)row * d) + j] = clustered ? centre[(c * d) + j] + (float)(0.3 * g) : (float)((random.NextDouble() * 2) - 1);
                }
            }

            return data;
        }

        string name = $"{(clustered ? "clustered" : "uniform")}-{n}x{d}-seed{seed}";
        return new Dataset(name, d, Generate(n, seed + 1), Generate(queries, seed + 2), null, 0);
    }

    private static (float[] Data, int Dimensions) ReadIdxImages(string path)
    {
        using var file = File.OpenRead(path);
        using var gz = new GZipStream(file, CompressionMode.Decompress);
        using var reader = new BinaryReader(gz);
        Span<byte> header = stackalloc byte[16];
        gz.ReadExactly(header);
        if (BinaryPrimitives.ReadInt32BigEndian(header) != 0x00000803)
        {
            throw new InvalidDataException($"{path} is not an IDX3 image file.");
        }

        int count = BinaryPrimitives.ReadInt32BigEndian(header[4..]);
        int d = BinaryPrimitives.ReadInt32BigEndian(header[8..]) * BinaryPrimitives.ReadInt32BigEndian(header[12..]);
        byte[] pixels = new byte[(long)count * d];
        gz.ReadExactly(pixels);
        var data = new float[pixels.Length];
        for (int i = 0; i < pixels.Length; i++)
        {
            data[i] = pixels[i]; // ann-benchmarks uses the raw 0..255 values
        }

        return (data, d);
    }

    private static (float[] Data, int Dimensions) ReadVecs(string path)
    {
        bool bytes = path.EndsWith(".bvecs", StringComparison.OrdinalIgnoreCase);
        byte[] all = File.ReadAllBytes(path);
        if (all.Length < 4)
        {
            throw new InvalidDataException($"{path} is empty.");
        }

        int d = BinaryPrimitives.ReadInt32LittleEndian(all);
        int row = 4 + (d * (bytes ? 1 : 4));
        if (d < 1 || all.Length % row != 0)
        {
            throw new InvalidDataException($"{path}: {all.Length} bytes is not a whole number of {d}-d rows.");
        }

        int n = all.Length / row;
        var data = new float[(long)n * d];
        for (int i = 0; i < n; i++)
        {
            ReadOnlySpan<byte> r = all.AsSpan((i * row) + 4, row - 4);
            for (int j = 0; j < d; j++)
            {
                data[((long)i * d) + j] = bytes ? r[j] : BinaryPrimitives.ReadSingleLittleEndian(r[(j * 4)..]);
            }
        }

        return (data, d);
    }

    public static (int[] Ids, int K) ReadIvecs(string path)
    {
        byte[] all = File.ReadAllBytes(path);
        int k = BinaryPrimitives.ReadInt32LittleEndian(all);
        int row = 4 + (k * 4);
        if (k < 1 || all.Length % row != 0)
        {
            throw new InvalidDataException($"{path}: {all.Length} bytes is not a whole number of {k}-wide rows.");
        }

        int n = all.Length / row;
        var ids = new int[n * k];
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < k; j++)
            {
                ids[(i * k) + j] = BinaryPrimitives.ReadInt32LittleEndian(all.AsSpan((i * row) + 4 + (j * 4)));
            }
        }

        return (ids, k);
    }

    public static void WriteIvecs(string path, int[] ids, int k)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        using var writer = new BinaryWriter(File.Create(path));
        for (int i = 0; i < ids.Length / k; i++)
        {
            writer.Write(k);
            for (int j = 0; j < k; j++)
            {
                writer.Write(ids[(i * k) + j]);
            }
        }
    }
}
