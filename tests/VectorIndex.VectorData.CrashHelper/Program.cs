using VectorIndex.VectorData;
using VectorIndex.VectorData.CrashHelper;

// Usage: CrashHelper <directory> <first sequence number> <seed>
// Writes until killed, one operation at a time. Before each operation it prints "INTENT U|D <key> <seq>", after the
// call returned "ACK <seq>". Operations are upserts and deletes of keys 0..63; a small snapshot threshold makes the
// collection fold its log often, so kills also land inside snapshot switches.
string directory = args[0];
long seq = long.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture);
var random = new Random(int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture));

using var store = new VectorIndexVectorStore(new VectorIndexVectorStoreOptions { Directory = directory, SnapshotThresholdBytes = 8 * 1024 });
var collection = store.GetCollection<int, CrashRecord>("crash");
await collection.EnsureCollectionExistsAsync();
Console.WriteLine("READY");

while (true)
{
    seq++;
    int key = random.Next(64);
    if (random.Next(4) == 0)
    {
        Console.WriteLine($"INTENT D {key} {seq}");
        await collection.DeleteAsync(key);
    }
    else
    {
        Console.WriteLine($"INTENT U {key} {seq}");
        await collection.UpsertAsync(new CrashRecord { Id = key, Seq = seq, Text = $"v{seq}", Vector = CrashRecord.VectorFor(seq) });
    }

    Console.WriteLine($"ACK {seq}");
}
