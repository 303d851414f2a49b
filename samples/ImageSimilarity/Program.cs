// ImageSimilarity: index the 60,000 Fashion-MNIST training images with HnswIndex, look up a few test images, and draw
// a contact sheet: each query, its 8 nearest neighbours from the index, and beside them the exact 8 from
// BruteForceIndex, with each neighbour's class and distance.
//   sudo apt-get install dataset-fashion-mnist
//   dotnet run -c Release --project samples/ImageSimilarity -- [similarity.png] [--data FOLDER] [--seed N]
using System.Diagnostics;
using VectorIndex;

const int QueryCount = 8;
const int K = 8;

string output = "similarity.png";
string folder = FashionMnist.DefaultFolder;
int seed = 7;
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--data" when i + 1 < args.Length:
            folder = args[++i];
            break;
        case "--seed" when i + 1 < args.Length:
            seed = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture);
            break;
        default:
            output = args[i];
            break;
    }
}

if (!FashionMnist.IsInstalled(folder))
{
    Console.Error.WriteLine($"Fashion-MNIST is not in {folder}. Install it with:");
    Console.Error.WriteLine("  sudo apt-get install dataset-fashion-mnist");
    return 1;
}

FashionMnist train = FashionMnist.Load(folder, "train");
FashionMnist test = FashionMnist.Load(folder, "t10k");
float[] vectors = train.ToVectors();
float[] queryVectors = test.ToVectors();
ulong[] keys = new ulong[train.Count];
for (int i = 0; i < keys.Length; i++)
{
    keys[i] = (ulong)i; // the key is the image's row, so a result leads straight back to its pixels and label
}

// The approximate index: the pixels as 784-d vectors under squared Euclidean distance.
using var index = new HnswIndex(new HnswOptions { Dimensions = train.Dimensions, Metric = Metric.L2Squared, M = 16, EfConstruction = 200 });
var timer = Stopwatch.StartNew();
var progress = new ConsoleProgress(done => $"Indexing: {done,6:N0} / {train.Count:N0} images, {timer.Elapsed.TotalSeconds:F0} s");
index.AddRange(keys, vectors, progress: progress);
progress.Complete($"Indexed {train.Count:N0} images in {timer.Elapsed.TotalSeconds:F1} s on {Environment.ProcessorCount} threads.");

// The exact answers, to show beside the index's.
using var exact = new BruteForceIndex(train.Dimensions, Metric.L2Squared);
for (int i = 0; i < train.Count; i++)
{
    exact.Add(keys[i], vectors.AsSpan(i * train.Dimensions, train.Dimensions));
}

int[] queries = PickQueries(test, QueryCount, seed);
var rows = new List<(int Query, IReadOnlyList<SearchResult> Approximate, IReadOnlyList<SearchResult> Exact)>();
int agreed = 0;
foreach (int q in queries)
{
    ReadOnlySpan<float> query = queryVectors.AsSpan(q * test.Dimensions, test.Dimensions);
    IReadOnlyList<SearchResult> approximate = index.Search(query, K);
    IReadOnlyList<SearchResult> truth = exact.Search(query, K);
    rows.Add((q, approximate, truth));

    int found = approximate.Count(a => truth.Any(t => t.Key == a.Key));
    int sameClass = approximate.Count(a => train.Labels[(int)a.Key] == test.Labels[q]);
    agreed += found;
    Console.WriteLine($"Test image {q,5} ({FashionMnist.ClassNames[test.Labels[q]]}): {found} of the exact {K} found; " +
                      $"{sameClass} of {K} neighbours of the same class.");
}

Console.WriteLine($"Recall@{K} over the {QueryCount} queries: {(double)agreed / (QueryCount * K):F3}.");
Canvas sheet = ContactSheet.Draw(train, test, rows, K);
sheet.SavePng(output);
Console.WriteLine($"Wrote {output}: {sheet.Width} x {sheet.Height}, {new FileInfo(output).Length / 1024.0:F0} KiB.");
return 0;

// Seeded, and one image of each class as far as the count allows: a sheet of eight sneakers would show little.
static int[] PickQueries(FashionMnist test, int count, int seed)
{
    int[] order = [.. Enumerable.Range(0, test.Count)];
    new Random(seed).Shuffle(order);
    var picked = new List<int>();
    var classes = new HashSet<byte>();
    foreach (int i in order)
    {
        if (classes.Add(test.Labels[i]))
        {
            picked.Add(i);
            if (picked.Count == count)
            {
                break;
            }
        }
    }

    return [.. picked];
}
