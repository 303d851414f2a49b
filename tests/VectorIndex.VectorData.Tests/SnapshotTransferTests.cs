using VectorIndex.VectorData.Durability;

namespace VectorIndex.VectorData.Tests;

/// <summary>A durable state's snapshot sent as files to another folder (as an Orleans replica copy does) and its log read from a position.</summary>
public class SnapshotTransferTests
{
    // A list of numbers: a snapshot file "items" and one log record per number added.
    private sealed class ListState : IDurableState
    {
        public List<int> Items { get; } = [];

        public void LoadSnapshot(SnapshotReader snapshot)
        {
            using var stream = snapshot.Open("items");
            using var reader = new BinaryReader(stream);
            var items = new List<int>();
            int count = reader.ReadInt32();
            for (int i = 0; i < count; i++)
            {
                items.Add(reader.ReadInt32());
            }

            Items.Clear();
            Items.AddRange(items);
        }

        public void Replay(ReadOnlyMemory<byte> record) => Items.Add(BitConverter.ToInt32(record.Span));

        public void WriteSnapshot(SnapshotWriter snapshot)
        {
            using var stream = snapshot.Create("items");
            using var writer = new BinaryWriter(stream);
            writer.Write(Items.Count);
            foreach (int item in Items)
            {
                writer.Write(item);
            }
        }
    }

    private static async Task AddAsync(DurableDirectory directory, ListState state, int item)
    {
        var ticket = directory.Append(BitConverter.GetBytes(item));
        state.Items.Add(item);
        await DurableDirectory.WaitDurableAsync(ticket);
    }

    // Copies the current snapshot's files of a directory through pinned streams into a staging folder.
    private static (SnapshotFileInfo[] Files, FileStream[] Pins) Pin(DurableDirectory source) =>
        ([.. source.SnapshotFiles], [.. source.SnapshotFiles.Select(f => source.OpenSnapshotFile(f.Name))]);

    private static void Receive(string staging, SnapshotFileInfo[] files, FileStream[] pins)
    {
        Directory.CreateDirectory(staging);
        for (int i = 0; i < files.Length; i++)
        {
            using var target = File.Create(DurableDirectory.ReceivedSnapshotPath(staging, files[i].Name));
            pins[i].CopyTo(target);
        }
    }

    [Fact]
    public async Task A_pinned_snapshot_survives_a_later_checkpoint_and_installs_elsewhere_as_the_next_generation()
    {
        using var dir = new TempDirectory();
        string sourceFolder = Path.Combine(dir.Path, "source"), targetFolder = Path.Combine(dir.Path, "target"), staging = Path.Combine(dir.Path, "staging");
        var sourceState = new ListState();
        using var source = DurableDirectory.Create(sourceFolder, []);
        for (int i = 1; i <= 5; i++)
        {
            await AddAsync(source, sourceState, i);
        }

        source.Checkpoint(sourceState);
        source.SnapshotFiles.Should().ContainSingle().Which.Name.Should().Be("items");
        var (files, pins) = Pin(source);
        await AddAsync(source, sourceState, 6);
        source.Checkpoint(sourceState); // deletes the pinned generation's files
        Directory.GetFiles(sourceFolder, "*.items").Should().ContainSingle("the older generation's file was deleted");
        Receive(staging, files, pins);
        foreach (var pin in pins)
        {
            pin.Dispose();
        }

        var targetState = new ListState();
        using (var target = DurableDirectory.Create(targetFolder, []))
        {
            await AddAsync(target, targetState, 99); // replaced by the install
            var received = new ListState();
            received.LoadSnapshot(DurableDirectory.VerifyReceivedSnapshot(staging, files));
            received.Items.Should().Equal(1, 2, 3, 4, 5);
            target.InstallSnapshot(staging, files);
            target.Generation.Should().Be(1);
            target.SnapshotFiles.Should().Equal(files);
            Directory.GetFiles(staging).Should().BeEmpty("the files were moved into the directory");
            await AddAsync(target, received, 7);
        }

        var reopened = new ListState();
        using (DurableDirectory.Open(targetFolder, reopened))
        {
        }

        reopened.Items.Should().Equal(1, 2, 3, 4, 5, 7);
    }

    [Fact]
    public async Task A_received_file_of_another_length_or_checksum_is_refused()
    {
        using var dir = new TempDirectory();
        var state = new ListState();
        using var source = DurableDirectory.Create(Path.Combine(dir.Path, "source"), []);
        for (int i = 1; i <= 100; i++)
        {
            await AddAsync(source, state, i);
        }

        source.Checkpoint(state);
        var (files, pins) = Pin(source);
        string staging = Path.Combine(dir.Path, "staging");
        Receive(staging, files, pins);
        foreach (var pin in pins)
        {
            pin.Dispose();
        }

        string path = DurableDirectory.ReceivedSnapshotPath(staging, "items");
        byte[] bytes = File.ReadAllBytes(path);
        bytes[bytes.Length / 2] ^= 0x5A;
        File.WriteAllBytes(path, bytes);
        FluentActions.Invoking(() => DurableDirectory.VerifyReceivedSnapshot(staging, files))
            .Should().Throw<InvalidDataException>().WithMessage("*checksum*");

        bytes[bytes.Length / 2] ^= 0x5A;
        File.WriteAllBytes(path, bytes[..^4]);
        FluentActions.Invoking(() => DurableDirectory.VerifyReceivedSnapshot(staging, files))
            .Should().Throw<InvalidDataException>().WithMessage("*bytes*");

        File.WriteAllBytes(path, bytes);
        FluentActions.Invoking(() => DurableDirectory.VerifyReceivedSnapshot(staging, files)).Should().NotThrow();
    }

    [Fact]
    public async Task The_log_is_read_from_a_position_beside_appends()
    {
        using var dir = new TempDirectory();
        using var log = WriteAheadLog.Create(Path.Combine(dir.Path, "r.wal"), 3);
        for (int i = 0; i < 5; i++)
        {
            await log.WaitDurableAsync(log.Append([(byte)i]));
        }

        var seen = new List<byte>();
        long position = log.Read(WriteAheadLog.HeaderSize, r =>
        {
            if (seen.Count == 2)
            {
                return false;
            }

            seen.Add(r.Span[0]);
            return true;
        });
        seen.Should().Equal(0, 1);

        position = log.Read(position, r =>
        {
            seen.Add(r.Span[0]);
            return true;
        });
        seen.Should().Equal(0, 1, 2, 3, 4);
        position.Should().Be(log.Length);

        log.Append([5]);
        log.Read(position, r =>
        {
            seen.Add(r.Span[0]);
            return true;
        }).Should().Be(log.Length);
        seen.Should().Equal(0, 1, 2, 3, 4, 5);
        FluentActions.Invoking(() => log.Read(WriteAheadLog.HeaderSize + 1, _ => true)).Should().Throw<InvalidDataException>();
    }
}
