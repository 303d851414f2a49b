using PureHDF;

namespace VectorIndex.AnnBench;

/// <summary>ann-benchmarks' HDF5 files (https://github.com/erikbern/ann-benchmarks, "Data sets").</summary>
internal sealed partial record Dataset
{
    /// <summary>The metric the dataset's neighbours were computed with, when the dataset names one (HDF5 files do).</summary>
    public Metric? Metric { get; init; }

    /// <summary>Distances to the true neighbours, row-major like <see cref="Truth"/>, when the dataset has them.</summary>
    public float[]? TruthDistances { get; init; }

    /// <summary>
    /// Reads an ann-benchmarks HDF5 file: 2-d datasets <c>train</c> (base vectors), <c>test</c> (queries),
    /// <c>neighbors</c> (indexes into train, one row per query) and, optionally, <c>distances</c> (neighbors' shape),
    /// and the root attribute <c>distance</c>: euclidean (L2Squared), angular (Cosine), dot or ip (InnerProduct).
    /// Vectors may be float32 or float64, neighbours int32 or int64.
    /// </summary>
    /// <exception cref="FileNotFoundException">There is no file at <paramref name="path"/>.</exception>
    /// <exception cref="InvalidDataException">
    /// A dataset or the attribute is missing, a dataset is not 2-d or not numeric, train and test differ in dimension,
    /// neighbors does not have one row per query, distances does not have neighbors' shape, a neighbour is not a row of
    /// train, or the distance is not one of the above.
    /// </exception>
    public static Dataset Hdf5(string path)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"No HDF5 file at {path}.", path);
        }

        using var file = H5File.OpenRead(path);
        Metric metric = MetricOf(path, file);
        (long trainRows, long d) = Shape(path, file, "train");
        (long testRows, long dq) = Shape(path, file, "test");
        (long truthRows, long truthK) = Shape(path, file, "neighbors");
        if (dq != d)
        {
            throw new InvalidDataException($"{path}: test has {dq} dimensions; train has {d}.");
        }

        if (truthRows != testRows)
        {
            throw new InvalidDataException($"{path}: neighbors has {truthRows} rows; test has {testRows} (one per query).");
        }

        // The runner keeps each set in one array and searches under int keys.
        if (trainRows * d > Array.MaxLength || testRows * d > Array.MaxLength || truthRows * truthK > Array.MaxLength)
        {
            throw new InvalidDataException($"{path}: train is {trainRows} x {d}; more than one array holds.");
        }

        float[] train = ReadFloats(path, file, "train");
        float[] test = ReadFloats(path, file, "test");
        int[] neighbors = ReadInts(path, file, "neighbors");
        for (int i = 0; i < neighbors.Length; i++)
        {
            if ((uint)neighbors[i] >= trainRows)
            {
                throw new InvalidDataException(
                    $"{path}: neighbors row {i / truthK} names train row {neighbors[i]}; train has {trainRows} rows.");
            }
        }

        float[]? distances = null;
        if (file.LinkExists("distances"))
        {
            (long rows, long columns) = Shape(path, file, "distances");
            if (rows != truthRows || columns != truthK)
            {
                throw new InvalidDataException($"{path}: distances is {rows} x {columns}; neighbors is {truthRows} x {truthK}.");
            }

            distances = ReadFloats(path, file, "distances");
        }

        return new Dataset(Path.GetFileNameWithoutExtension(path), (int)d, train, test, neighbors, (int)truthK)
        {
            Metric = metric,
            TruthDistances = distances,
        };
    }

    private static Metric MetricOf(string path, IH5Group file)
    {
        if (!file.AttributeExists("distance"))
        {
            throw new InvalidDataException($"{path} has no 'distance' attribute on its root group (euclidean, angular, dot or ip).");
        }

        IH5Attribute attribute = file.Attribute("distance");
        if (attribute.Type.Class is not (H5DataTypeClass.String or H5DataTypeClass.VariableLength))
        {
            throw new InvalidDataException($"{path}: the 'distance' attribute is {attribute.Type.Class}, not a string.");
        }

        // h5py may write it as a fixed-length byte string padded with NULs.
        string distance = attribute.Read<string>().TrimEnd('\0').Trim();
        return distance.ToLowerInvariant() switch
        {
            "euclidean" => VectorIndex.Metric.L2Squared, // same order as L2; the ranking is all recall needs
            "angular" => VectorIndex.Metric.Cosine,
            "dot" or "ip" => VectorIndex.Metric.InnerProduct,
            _ => throw new InvalidDataException(
                $"{path}: distance '{distance}' is not supported; euclidean, angular, dot and ip are."),
        };
    }

    /// <summary>Rows and columns of a 2-d dataset, checked to exist, be 2-d and be non-empty.</summary>
    private static (long Rows, long Columns) Shape(string path, IH5Group file, string name)
    {
        if (!file.LinkExists(name))
        {
            throw new InvalidDataException($"{path} has no '{name}' dataset (ann-benchmarks files have train, test, neighbors and distances).");
        }

        IH5Dataset dataset = file.Dataset(name);
        ulong[] dims = dataset.Space.Dimensions;
        if (dims.Length != 2)
        {
            throw new InvalidDataException($"{path}: '{name}' has {dims.Length} dimensions; rows x columns (2) expected.");
        }

        if (dims[0] == 0 || dims[1] == 0 || dims[0] > int.MaxValue || dims[1] > int.MaxValue)
        {
            throw new InvalidDataException($"{path}: '{name}' is {dims[0]} x {dims[1]}.");
        }

        return ((long)dims[0], (long)dims[1]);
    }

    private static float[] ReadFloats(string path, IH5Group file, string name)
    {
        IH5Dataset dataset = file.Dataset(name);
        return (dataset.Type.Class, dataset.Type.Size) switch
        {
            (H5DataTypeClass.FloatingPoint, 4) => dataset.Read<float[]>(),
            (H5DataTypeClass.FloatingPoint, 8) => Array.ConvertAll(dataset.Read<double[]>(), x => (float)x),
            _ => throw new InvalidDataException(
                $"{path}: '{name}' holds {dataset.Type.Class} values of {dataset.Type.Size} bytes; float32 or float64 expected."),
        };
    }

    private static int[] ReadInts(string path, IH5Group file, string name)
    {
        IH5Dataset dataset = file.Dataset(name);
        return (dataset.Type.Class, dataset.Type.Size) switch
        {
            (H5DataTypeClass.FixedPoint, 4) => dataset.Read<int[]>(),

            // Out-of-range values become -1, which the row check rejects.
            (H5DataTypeClass.FixedPoint, 8) => Array.ConvertAll(dataset.Read<long[]>(), x => x is >= 0 and <= int.MaxValue ? (int)x : -1),
            _ => throw new InvalidDataException(
                $"{path}: '{name}' holds {dataset.Type.Class} values of {dataset.Type.Size} bytes; int32 or int64 expected."),
        };
    }
}
