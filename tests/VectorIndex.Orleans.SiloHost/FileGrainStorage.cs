using Orleans.Serialization;
using Orleans.Storage;

namespace VectorIndex.Orleans.SiloHost;

/// <summary>
/// Grain state in files of a folder all silos share (so it outlives a killed silo, unlike the memory storage, whose
/// storage grains die with their silo). Each file holds an ETag and the serialized state; a write with a stale ETag
/// throws <see cref="InconsistentStateException"/>. Written to a temporary file and renamed, so a kill leaves the old or the new state.
/// </summary>
public sealed class FileGrainStorage(string folder, Serializer serializer) : IGrainStorage
{
    private static readonly SemaphoreSlim Gate = new(1, 1);

    private string PathOf(string stateName, GrainId grainId) =>
        Path.Combine(folder, Uri.EscapeDataString(stateName + "-" + grainId.ToString()));

    public async Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        string path = PathOf(stateName, grainId);
        if (!File.Exists(path))
        {
            grainState.State = Activator.CreateInstance<T>();
            grainState.ETag = null;
            grainState.RecordExists = false;
            return;
        }

        byte[] bytes = await File.ReadAllBytesAsync(path);
        grainState.ETag = BitConverter.ToInt64(bytes, 0).ToString(System.Globalization.CultureInfo.InvariantCulture);
        grainState.State = serializer.Deserialize<T>(bytes.AsMemory(8));
        grainState.RecordExists = true;
    }

    public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        string path = PathOf(stateName, grainId);
        await Gate.WaitAsync();
        try
        {
            string? current = File.Exists(path)
                ? BitConverter.ToInt64(await File.ReadAllBytesAsync(path), 0).ToString(System.Globalization.CultureInfo.InvariantCulture)
                : null;
            if (current != grainState.ETag)
            {
                throw new InconsistentStateException($"ETag mismatch for {grainId}: stored {current}, given {grainState.ETag}.", current ?? "", grainState.ETag ?? "");
            }

            long next = (current is null ? 0 : long.Parse(current, System.Globalization.CultureInfo.InvariantCulture)) + 1;
            byte[] payload = serializer.SerializeToArray(grainState.State);
            byte[] bytes = new byte[8 + payload.Length];
            BitConverter.TryWriteBytes(bytes, next);
            payload.CopyTo(bytes, 8);
            string temp = path + ".tmp";
            await File.WriteAllBytesAsync(temp, bytes);
            File.Move(temp, path, overwrite: true);
            grainState.ETag = next.ToString(System.Globalization.CultureInfo.InvariantCulture);
            grainState.RecordExists = true;
        }
        finally
        {
            Gate.Release();
        }
    }

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        File.Delete(PathOf(stateName, grainId));
        grainState.ETag = null;
        grainState.RecordExists = false;
        grainState.State = Activator.CreateInstance<T>();
        return Task.CompletedTask;
    }
}
