using System.Diagnostics;
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
    public async Task Killed_writer_loses_no_acknowledged_write()
    {
        using var dir = new TempDirectory();
        string helper = HelperPath();
        var random = new Random(2024);
        var expected = new Dictionary<int, long>(); // key -> seq of the acknowledged version
        long seq = 0;
        int totalAcks = 0;

        for (int round = 0; round < 4; round++)
        {
            var start = new ProcessStartInfo("dotnet")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            start.ArgumentList.Add(helper);
            start.ArgumentList.Add(dir.Path);
            start.ArgumentList.Add(seq.ToString(System.Globalization.CultureInfo.InvariantCulture));
            start.ArgumentList.Add(round.ToString(System.Globalization.CultureInfo.InvariantCulture));

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

            var readyOrExit = await Task.WhenAny(ready.Task, process.WaitForExitAsync(), Task.Delay(TimeSpan.FromSeconds(30)));
            ready.Task.IsCompleted.Should().BeTrue($"the helper starts (stderr: {(process.HasExited ? await stderr : "")})");
            await Task.Delay(random.Next(150, 500));
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();

            List<string> snapshot;
            lock (lines)
            {
                snapshot = [.. lines];
            }

            // Acknowledged operations change the expectation; the one in flight (INTENT without ACK) may or may not
            // have reached the disk.
            Op? inFlight = null;
            int acks = 0;
            foreach (string line in snapshot)
            {
                string[] parts = line.Split(' ');
                if (parts[0] == "INTENT")
                {
                    inFlight = new Op(parts[1][0], int.Parse(parts[2], System.Globalization.CultureInfo.InvariantCulture), long.Parse(parts[3], System.Globalization.CultureInfo.InvariantCulture));
                }
                else if (parts[0] == "ACK")
                {
                    inFlight!.Seq.Should().Be(long.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture));
                    Apply(expected, inFlight);
                    seq = inFlight.Seq;
                    inFlight = null;
                    acks++;
                }
            }

            totalAcks += acks;
            output.WriteLine($"round {round}: {acks} acknowledged writes, in flight: {inFlight}");
            if (inFlight is not null)
            {
                seq = inFlight.Seq; // never reuse a sequence number that may be on disk
            }

            using var store = new VectorIndexVectorStore(new VectorIndexVectorStoreOptions { Directory = dir.Path });
            var collection = store.GetCollection<int, CrashRecord>("crash");
            var withInFlight = new Dictionary<int, long>(expected);
            if (inFlight is not null)
            {
                Apply(withInFlight, inFlight);
            }

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

            bool matches = Same(actual, expected) || Same(actual, withInFlight);
            matches.Should().BeTrue($"round {round}: the reopened collection holds exactly the acknowledged writes (at most plus the one in flight)");

            // Continue from what is on disk: the in-flight write, if it landed, is now part of the history.
            expected = actual;
        }

        totalAcks.Should().BeGreaterThan(0);
    }

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

    private static bool Same(Dictionary<int, long> a, Dictionary<int, long> b) =>
        a.Count == b.Count && a.All(p => b.TryGetValue(p.Key, out long v) && v == p.Value);
}
