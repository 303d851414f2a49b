using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.VectorData;
using VectorIndex.VectorData.CrashHelper;
using Xunit.Abstractions;

namespace VectorIndex.VectorData.Tests;

/// <summary>Kills a writing child process at random moments; reopening must give exactly the acknowledged writes.</summary>
public class CrashTests(ITestOutputHelper output)
{
    private static string HelperPath()
    {
        // The helper is built beside this project (same configuration and framework).
        string baseDir = AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar);
        string helperDir = baseDir.Replace("VectorIndex.VectorData.Tests", "VectorIndex.VectorData.CrashHelper", StringComparison.Ordinal);
        string path = Path.Combine(helperDir, "VectorIndex.VectorData.CrashHelper.dll");
        File.Exists(path).Should().BeTrue($"the crash helper is built at {path}");
        return path;
    }

    private sealed record Op(char Kind, int Key, long Seq);

    [Fact]
    public async Task Killed_writers_lose_no_acknowledged_write()
    {
        using var dir = new TempDirectory();
        string helper = HelperPath();
        var random = new Random(2024);
        var expected = new Dictionary<int, long>(); // key -> seq of the version on disk
        long seq = 0;
        int totalAcks = 0;

        for (int round = 0; round < 5; round++)
        {
            // Odd rounds run four concurrent writers: their appends share flushes, and up to four writes are in flight.
            int writers = round % 2 == 0 ? 1 : 4;
            var start = new ProcessStartInfo("dotnet")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (string arg in new[] { helper, dir.Path, Invariant(seq), Invariant(round), Invariant(writers) })
            {
                start.ArgumentList.Add(arg);
            }

            using var process = Process.Start(start)!;
            var lines = new List<string>();
            var ready = new TaskCompletionSource();
            process.OutputDataReceived += (_, e) =>
            {
                if (e.Data is null)
                {
                    return;
                }

                lock (lines)
                {
                    lines.Add(e.Data);
                }

                if (e.Data == "READY")
                {
                    ready.TrySetResult();
                }
            };
            process.BeginOutputReadLine();
            var stderr = process.StandardError.ReadToEndAsync();

            await Task.WhenAny(ready.Task, process.WaitForExitAsync(), Task.Delay(TimeSpan.FromSeconds(30)));
            ready.Task.IsCompleted.Should().BeTrue($"the helper starts (stderr: {(process.HasExited ? await stderr : "")})");
            await Task.Delay(random.Next(150, 500));
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();

            List<string> printed;
            lock (lines)
            {
                printed = [.. lines];
            }

            // Acknowledged operations change the expectation; each writer's operation in flight (INTENT without ACK)
            // may or may not have reached the disk.
            var inFlight = new Dictionary<int, Op>();
            int acks = 0;
            foreach (string line in printed)
            {
                string[] parts = line.Split(' ');
                if (parts[0] == "INTENT")
                {
                    var op = new Op(parts[2][0], int.Parse(parts[3], CultureInfo.InvariantCulture), long.Parse(parts[4], CultureInfo.InvariantCulture));
                    inFlight[int.Parse(parts[1], CultureInfo.InvariantCulture)] = op;
                    seq = Math.Max(seq, op.Seq); // never reuse a sequence number that may be on disk
                }
                else if (parts[0] == "ACK")
                {
                    int writer = int.Parse(parts[1], CultureInfo.InvariantCulture);
                    inFlight[writer].Seq.Should().Be(long.Parse(parts[2], CultureInfo.InvariantCulture));
                    Apply(expected, inFlight[writer]);
                    inFlight.Remove(writer);
                    acks++;
                }
            }

            totalAcks += acks;
            output.WriteLine($"round {round}: {writers} writer(s), {acks} acknowledged writes, in flight: {string.Join(", ", inFlight.Values)}");

            using var store = new VectorIndexVectorStore(new VectorIndexVectorStoreOptions { Directory = dir.Path });
            var collection = store.GetCollection<int, CrashRecord>("crash");
            var actual = new Dictionary<int, long>();
            if (await collection.CollectionExistsAsync())
            {
                for (int key = 0; key < 64; key++)
                {
                    var record = await collection.GetAsync(key, new RecordRetrievalOptions { IncludeVectors = true });
                    if (record is not null)
                    {
                        actual[key] = record.Seq;
                        record.Text.Should().Be($"v{record.Seq}");
                        record.Vector.ToArray().Should().Equal(CrashRecord.VectorFor(record.Seq));
                    }
                }
            }

            // Writers own disjoint keys, so each key is either as acknowledged or as its writer's in-flight write left it.
            for (int key = 0; key < 64; key++)
            {
                long? got = actual.TryGetValue(key, out long a) ? a : null;
                long? acknowledged = expected.TryGetValue(key, out long e) ? e : null;
                if (got == acknowledged)
                {
                    continue;
                }

                var pending = inFlight.Values.SingleOrDefault(op => op.Key == key);
                pending.Should().NotBeNull($"round {round}: key {key} holds {got?.ToString(CultureInfo.InvariantCulture) ?? "nothing"}, acknowledged {acknowledged?.ToString(CultureInfo.InvariantCulture) ?? "nothing"}");
                long? afterPending = pending!.Kind == 'D' ? null : pending.Seq;
                got.Should().Be(afterPending, $"round {round}: key {key} is either as acknowledged or as the write in flight left it");
            }

            // Continue from what is on disk: an in-flight write that landed is now part of the history.
            expected = actual;
        }

        totalAcks.Should().BeGreaterThan(0);
    }

    private static string Invariant(long value) => value.ToString(CultureInfo.InvariantCulture);

    private static void Apply(Dictionary<int, long> state, Op op)
    {
        if (op.Kind == 'D')
        {
            state.Remove(op.Key);
        }
        else
        {
            state[op.Key] = op.Seq;
        }
    }
}
