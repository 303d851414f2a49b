using PureHDF;
using VectorIndex.AnnBench;

namespace VectorIndex.AnnBench.Tests;

/// <summary>
/// Files written as ann-benchmarks writes them (h5py: 2-d datasets and string attributes on the root group), read back
/// through the runner's loader.
/// </summary>
public sealed class Hdf5DatasetTests : IDisposable
{
    // 5 train rows and 2 queries of 3 dimensions; 3 neighbours per query.
    private static readonly float[,] Train = { { 0f, 0f, 0f }, { 1f, 0f, 0f }, { 0f, 2f, 0f }, { 0.5f, -1.25f, 3f }, { 1e-3f, 7f, -0f } };
    private static readonly float[,] Test = { { 0.9f, 0.1f, 0f }, { 0f, 1.5f, 0.25f } };
    private static readonly int[,] Neighbors = { { 1, 0, 2 }, { 2, 0, 1 } };
    private static readonly float[,] Distances = { { 0.02f, 0.82f, 4.42f }, { 0.3125f, 2.3125f, 3.3125f } };

    private readonly string _folder = Directory.CreateTempSubdirectory("annbench-hdf5-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void Reads_train_test_neighbors_distances_and_metric_exactly()
    {
        string path = Write("tiny-3-euclidean", AnnBenchmarksFile("euclidean"));

        Dataset data = Dataset.Hdf5(path);

        data.Name.Should().Be("tiny-3-euclidean");
        data.Dimensions.Should().Be(3);
        data.BaseCount.Should().Be(5);
        data.QueryCount.Should().Be(2);
        data.Base.Should().Equal(Flatten(Train));
        data.Queries.Should().Equal(Flatten(Test));
        data.Query(1).ToArray().Should().Equal(0f, 1.5f, 0.25f);
        data.TruthK.Should().Be(3);
        data.Truth.Should().Equal(1, 0, 2, 2, 0, 1);
        data.TruthDistances.Should().Equal(Flatten(Distances));
        data.Metric.Should().Be(Metric.L2Squared);
    }

    [Fact]
    public void Reads_a_file_written_by_h5py()
    {
        // Data/make_h5py_fixture.py wrote it as ann-benchmarks does: variable-length string attributes, float32
        // vectors, int64 neighbors and float64 distances (numpy's int and float).
        Dataset data = Dataset.Hdf5(Path.Combine(AppContext.BaseDirectory, "Data", "h5py-tiny-angular.hdf5"));

        data.Name.Should().Be("h5py-tiny-angular");
        data.Metric.Should().Be(Metric.Cosine);
        data.Dimensions.Should().Be(3);
        data.Base.Should().Equal(1f, 0f, 0f, 0f, 1f, 0f, 0f, 0f, 1f, 1f, 1f, 0f, 0.5f, -2f, 0.25f);
        data.Queries.Should().Equal(2f, 0.1f, 0f, 0f, 0.5f, 1f);
        data.TruthK.Should().Be(3);
        data.Truth.Should().Equal(0, 3, 4, 2, 1, 3);
        data.TruthDistances.Should().Equal(0.0012f, 0.2585f, 0.8076f, 0.1056f, 0.5528f, 0.6838f);
    }

    [Theory]
    [InlineData("euclidean", Metric.L2Squared)]
    [InlineData("angular", Metric.Cosine)]
    [InlineData("dot", Metric.InnerProduct)]
    [InlineData("ip", Metric.InnerProduct)]
    [InlineData("Angular", Metric.Cosine)]
    public void Maps_the_distance_attribute_to_a_metric(string distance, Metric expected)
    {
        Dataset.Hdf5(Write("m", AnnBenchmarksFile(distance))).Metric.Should().Be(expected);
    }

    [Fact]
    public void The_file_ground_truth_is_kept_rather_than_recomputed()
    {
        // Neighbours that brute force would not give: the runner must measure recall against the file's, as published.
        string path = Write("kept", AnnBenchmarksFile("euclidean", neighbors: new[,] { { 4, 3, 2 }, { 3, 4, 1 } }));

        Dataset data = GroundTruth.Ensure(Dataset.Hdf5(path), _folder, Metric.L2Squared);

        data.Truth.Should().Equal(4, 3, 2, 3, 4, 1);
        Directory.GetFiles(_folder, "*.ivecs").Should().BeEmpty();
    }

    [Fact]
    public void Accepts_float64_vectors_and_int64_neighbors()
    {
        // Newer ann-benchmarks scripts create neighbors with dtype=int (int64) and some datasets keep float64 vectors.
        var file = new H5File
        {
            ["train"] = new double[,] { { 1.5, -2 }, { 0.25, 8 } },
            ["test"] = new double[,] { { 1, 1 } },
            ["neighbors"] = new long[,] { { 1, 0 } },
            ["distances"] = new double[,] { { 0.5, 9.25 } },
            Attributes = new() { ["distance"] = "euclidean" },
        };

        Dataset data = Dataset.Hdf5(Write("wide", file));

        data.Base.Should().Equal(1.5f, -2f, 0.25f, 8f);
        data.Queries.Should().Equal(1f, 1f);
        data.Truth.Should().Equal(1, 0);
        data.TruthDistances.Should().Equal(0.5f, 9.25f);
    }

    [Fact]
    public void Distances_are_optional()
    {
        H5File file = AnnBenchmarksFile("angular");
        file.Remove("distances");

        Dataset data = Dataset.Hdf5(Write("no-distances", file));

        data.TruthDistances.Should().BeNull();
        data.Truth.Should().Equal(1, 0, 2, 2, 0, 1);
    }

    [Theory]
    [InlineData("train")]
    [InlineData("test")]
    [InlineData("neighbors")]
    public void A_missing_dataset_is_named(string missing)
    {
        H5File file = AnnBenchmarksFile("euclidean");
        file.Remove(missing);

        Action read = () => Dataset.Hdf5(Write("missing", file));

        read.Should().Throw<InvalidDataException>().WithMessage($"*no '{missing}' dataset*");
    }

    [Fact]
    public void Test_vectors_of_another_dimension_are_rejected()
    {
        H5File file = AnnBenchmarksFile("euclidean");
        file["test"] = new float[,] { { 1f, 2f }, { 3f, 4f } };

        Action read = () => Dataset.Hdf5(Write("dims", file));

        read.Should().Throw<InvalidDataException>().WithMessage("*test has 2 dimensions; train has 3*");
    }

    [Fact]
    public void Neighbors_need_one_row_per_query()
    {
        H5File file = AnnBenchmarksFile("euclidean");
        file["neighbors"] = new int[,] { { 1, 0, 2 } };

        Action read = () => Dataset.Hdf5(Write("rows", file));

        read.Should().Throw<InvalidDataException>().WithMessage("*neighbors has 1 rows; test has 2*");
    }

    [Fact]
    public void Distances_need_the_shape_of_neighbors()
    {
        H5File file = AnnBenchmarksFile("euclidean");
        file["distances"] = new float[,] { { 0f, 1f }, { 2f, 3f } };

        Action read = () => Dataset.Hdf5(Write("distances", file));

        read.Should().Throw<InvalidDataException>().WithMessage("*distances is 2 x 2; neighbors is 2 x 3*");
    }

    [Fact]
    public void A_one_dimensional_dataset_is_rejected()
    {
        H5File file = AnnBenchmarksFile("euclidean");
        file["train"] = new float[] { 1f, 2f, 3f };

        Action read = () => Dataset.Hdf5(Write("rank", file));

        read.Should().Throw<InvalidDataException>().WithMessage("*'train' has 1 dimensions*");
    }

    [Fact]
    public void Integer_vectors_are_rejected()
    {
        H5File file = AnnBenchmarksFile("euclidean");
        file["train"] = new int[,] { { 1, 2, 3 } };

        Action read = () => Dataset.Hdf5(Write("ints", file));

        read.Should().Throw<InvalidDataException>().WithMessage("*'train' holds FixedPoint values*float32 or float64 expected*");
    }

    [Theory]
    [InlineData(5)]
    [InlineData(-1)]
    public void A_neighbor_outside_train_is_rejected(int neighbor)
    {
        string path = Write("range", AnnBenchmarksFile("euclidean", neighbors: new[,] { { 1, 0, 2 }, { 2, neighbor, 1 } }));

        Action read = () => Dataset.Hdf5(path);

        read.Should().Throw<InvalidDataException>().WithMessage($"*neighbors row 1 names train row {neighbor}; train has 5 rows*");
    }

    [Fact]
    public void A_missing_distance_attribute_is_rejected()
    {
        H5File file = AnnBenchmarksFile("euclidean");
        file.Attributes.Remove("distance");

        Action read = () => Dataset.Hdf5(Write("no-attribute", file));

        read.Should().Throw<InvalidDataException>().WithMessage("*no 'distance' attribute*");
    }

    [Fact]
    public void An_unsupported_distance_is_rejected()
    {
        Action read = () => Dataset.Hdf5(Write("hamming", AnnBenchmarksFile("hamming")));

        read.Should().Throw<InvalidDataException>().WithMessage("*distance 'hamming' is not supported*");
    }

    [Fact]
    public void A_missing_file_is_reported_as_such()
    {
        Action read = () => Dataset.Hdf5(Path.Combine(_folder, "absent.hdf5"));

        read.Should().Throw<FileNotFoundException>();
    }

    /// <summary>The layout of ann-benchmarks' write_output: four datasets and string attributes on the root.</summary>
    private static H5File AnnBenchmarksFile(string distance, int[,]? neighbors = null) => new()
    {
        ["train"] = Train,
        ["test"] = Test,
        ["neighbors"] = neighbors ?? Neighbors,
        ["distances"] = Distances,
        Attributes = new()
        {
            ["type"] = "dense",
            ["distance"] = distance,
            ["dimension"] = 3,
            ["point_type"] = "float",
        },
    };

    private string Write(string name, H5File file)
    {
        string path = Path.Combine(_folder, name + ".hdf5");
        file.Write(path);
        return path;
    }

    private static float[] Flatten(float[,] rows) => [.. rows.Cast<float>()];
}
