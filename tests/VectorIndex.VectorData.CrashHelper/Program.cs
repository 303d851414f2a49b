using VectorIndex.VectorData;
using VectorIndex.VectorData.CrashHelper;

// Usage: CrashHelper <directory> <first sequence number> <seed> [writers]
// Writes until killed. Each writer owns the keys k with k % writers == its index and runs one operation at a time:
// before it, it prints "INTENT <writer> U|D <key> <seq>", after the call returned "ACK <writer> <seq>". Several writers
// run at once so that their writes share log flushes (group commit). A small snapshot threshold makes the collection
// fold its log often, so kills also land inside snapshot switches.
string directory = args[0];
long seq = long.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture);
int seed = int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture);
int writers = args.Length > 3 ? int.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture) : 1;

using var store = new VectorIndexVectorStore(new VectorIndexVectorStoreOptions { Directory = directory, SnapshotThresholdBytes = 8 * 1024 });
var collection = store.GetCollection<int, CrashRecord>("crash");
await collection.EnsureCollectionExistsAsync();
Console.WriteLine("READY");

await Task.WhenAll(Enumerable.Range(0, writers).Select(w => Task.Run(async () =>
{
    var random = new Random(seed * 31 + w);
    while (true)
    {
        long mine = Interlocked.Increment(ref seq);
        int key = (random.Next(64 / writers) * writers) + w;
        if (random.Next(4) == 0)
        {
            Console.WriteLine($"INTENT {w} D {key} {mine}");
            await collection.DeleteAsync(key);
        }
        else
        {
            Console.WriteLine($"INTENT {w} U {key} {mine}");
            await collection.UpsertAsync(new CrashRecord { Id = key, Seq = mine, Text = $"v{mine}", Vector = CrashRecord.VectorFor(mine) });
        }

        Console.WriteLine($"ACK {w} {mine}");
    }
})));
