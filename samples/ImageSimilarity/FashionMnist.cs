using System.Buffers.Binary;
using System.IO.Compression;

/// <summary>
/// Fashion-MNIST as Debian's dataset-fashion-mnist installs it: gzipped IDX files of 28 x 28 grey images (0 = black
/// background) and their class labels. The same reader as the benchmark runner's, kept here so the sample stands alone.
/// </summary>
internal sealed record FashionMnist(byte[] Pixels, byte[] Labels, int Count, int Side)
{
    public const string DefaultFolder = "/usr/share/datasets/fashion-mnist";

    /// <summary>The ten classes, in label order.</summary>
    public static readonly string[] ClassNames =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    public int Dimensions => Side * Side;

    public ReadOnlySpan<byte> Image(int i) => Pixels.AsSpan(i * Dimensions, Dimensions);

    /// <summary>True when the four files of the package are in <paramref name="folder"/>.</summary>
    public static bool IsInstalled(string folder) =>
        new[] { "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz" }
            .All(name => File.Exists(Path.Combine(folder, name)));

    /// <summary>The 60,000 training images (<paramref name="prefix"/> "train") or the 10,000 test images ("t10k").</summary>
    public static FashionMnist Load(string folder, string prefix)
    {
        (byte[] pixels, int count, int side) = ReadImages(Path.Combine(folder, $"{prefix}-images-idx3-ubyte.gz"));
        byte[] labels = ReadLabels(Path.Combine(folder, $"{prefix}-labels-idx1-ubyte.gz"));
        if (labels.Length != count)
        {
            throw new InvalidDataException($"{prefix}: {count} images but {labels.Length} labels.");
        }

        return new FashionMnist(pixels, labels, count, side);
    }

    /// <summary>Every image as floats in [0, 1], row-major, ready for <c>HnswIndex.AddRange</c>.</summary>
    public float[] ToVectors()
    {
        // Dividing by 255 only scales every squared distance by the same factor: the neighbours are those of the raw
        // pixels, and the distances printed under the tiles stay short (0 to 784).
        var vectors = new float[Pixels.Length];
        for (int i = 0; i < Pixels.Length; i++)
        {
            vectors[i] = Pixels[i] / 255f;
        }

        return vectors;
    }

    // IDX: a big-endian header (magic 0x00000803 for 3-d unsigned bytes, then the count, rows and columns), then the pixels.
    private static (byte[] Pixels, int Count, int Side) ReadImages(string path)
    {
        using var gz = new GZipStream(File.OpenRead(path), CompressionMode.Decompress);
        Span<byte> header = stackalloc byte[16];
        gz.ReadExactly(header);
        if (BinaryPrimitives.ReadInt32BigEndian(header) != 0x00000803)
        {
            throw new InvalidDataException($"{path} is not an IDX image file.");
        }

        int count = BinaryPrimitives.ReadInt32BigEndian(header[4..]);
        int rows = BinaryPrimitives.ReadInt32BigEndian(header[8..]);
        int columns = BinaryPrimitives.ReadInt32BigEndian(header[12..]);
        if (rows != columns)
        {
            throw new InvalidDataException($"{path}: {rows} x {columns} images; square ones expected.");
        }

        byte[] pixels = new byte[(long)count * rows * columns];
        gz.ReadExactly(pixels);
        return (pixels, count, rows);
    }

    // IDX labels: magic 0x00000801 (1-d unsigned bytes), the count, then one byte per image.
    private static byte[] ReadLabels(string path)
    {
        using var gz = new GZipStream(File.OpenRead(path), CompressionMode.Decompress);
        Span<byte> header = stackalloc byte[8];
        gz.ReadExactly(header);
        if (BinaryPrimitives.ReadInt32BigEndian(header) != 0x00000801)
        {
            throw new InvalidDataException($"{path} is not an IDX label file.");
        }

        byte[] labels = new byte[BinaryPrimitives.ReadInt32BigEndian(header[4..])];
        gz.ReadExactly(labels);
        return labels;
    }
}
