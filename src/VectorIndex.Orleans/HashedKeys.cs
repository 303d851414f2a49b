using System.Buffers.Binary;
using System.Text;
using System.Text.Json;

namespace VectorIndex.Orleans;

/// <summary>
/// The 64-bit storage keys of records whose own keys are <see cref="Guid"/>s or strings, and the payload property that
/// keeps the original key, so that reads return it and a 64-bit collision is detected instead of overwriting a record.
/// </summary>
/// <remarks>
/// The hashes are fixed for the life of the format (changing them would lose every stored record):
/// a string is encoded as UTF-8 and hashed with FNV-1a 64 (offset basis <c>0xCBF29CE484222325</c>, prime
/// <c>0x100000001B3</c>), then mixed with the SplitMix64 finaliser (<see cref="ShardRouting.Mix"/>); a Guid's 16 bytes
/// (in <see cref="Guid.TryWriteBytes(Span{byte})"/> order) are read as two little-endian 64-bit halves
/// <c>lo</c>, <c>hi</c> and folded as <c>Mix(lo ^ Mix(hi ^ 0x9E3779B97F4A7C15))</c>. Both depend only on the key, not
/// on the process, machine or .NET version.
/// </remarks>
public static class HashedKeys
{
    /// <summary>
    /// The payload property (of the JSON object the MEVD layer stores) that holds a hashed record's original key, as a
    /// string (a Guid in its "D" format). Reserved: a data property may not have this storage name.
    /// </summary>
    public const string OriginalKeyProperty = "$key";

    private const ulong FnvOffset = 0xCBF29CE484222325UL;
    private const ulong FnvPrime = 0x100000001B3UL;

    /// <summary>The 64-bit storage key of a string key.</summary>
    /// <param name="key">The key (any string, the empty one included).</param>
    /// <returns>The storage key.</returns>
    public static ulong Hash(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        ulong hash = FnvOffset;
        int length = Encoding.UTF8.GetByteCount(key);
        byte[]? rented = length > 256 ? System.Buffers.ArrayPool<byte>.Shared.Rent(length) : null;
        Span<byte> bytes = rented is null ? stackalloc byte[length] : rented.AsSpan(0, length);
        Encoding.UTF8.GetBytes(key, bytes);
        foreach (byte b in bytes)
        {
            hash ^= b;
            hash *= FnvPrime;
        }

        if (rented is not null)
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(rented);
        }

        return ShardRouting.Mix(hash);
    }

    /// <summary>The 64-bit storage key of a Guid key.</summary>
    /// <param name="key">The key.</param>
    /// <returns>The storage key.</returns>
    public static ulong Hash(Guid key)
    {
        Span<byte> bytes = stackalloc byte[16];
        key.TryWriteBytes(bytes);
        ulong lo = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        ulong hi = BinaryPrimitives.ReadUInt64LittleEndian(bytes[8..]);
        return ShardRouting.Mix(lo ^ ShardRouting.Mix(hi ^ 0x9E3779B97F4A7C15UL));
    }

    /// <summary>The original key a payload records in <see cref="OriginalKeyProperty"/>, or null (no payload, not a JSON object, no such string property).</summary>
    /// <param name="payload">A stored payload.</param>
    /// <returns>The original key, or null.</returns>
    public static string? OriginalKeyOf(byte[]? payload)
    {
        if (payload is null || payload.Length == 0)
        {
            return null;
        }

        try
        {
            var reader = new Utf8JsonReader(payload);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return null;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                bool match = reader.ValueTextEquals(OriginalKeyProperty);
                reader.Read();
                if (match)
                {
                    return reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                }

                reader.Skip();
            }

            return null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
