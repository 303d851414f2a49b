using System.Collections;
using System.Text;

namespace VectorIndex.VectorData.Storage;

/// <summary>
/// The binary form of rows, shared by the write-ahead log and the snapshot. Little-endian; strings are length-prefixed
/// UTF-8; every data value carries a type tag so that any record type can read it back.
/// </summary>
internal static class RowCodec
{
    public const byte UpsertRecord = 1;
    public const byte DeleteRecord = 2;

    private enum Tag : byte
    {
        Null = 0,
        Bool, Byte, SByte, Int16, UInt16, Int32, UInt32, Int64, UInt64, Single, Double, Decimal, String, Guid,
        DateTime, DateTimeOffset, DateOnly, TimeOnly, Char,
        Array = 64,
        List = 65,
    }

    private static readonly Type[] s_tagTypes =
    [
        typeof(object), typeof(bool), typeof(byte), typeof(sbyte), typeof(short), typeof(ushort), typeof(int), typeof(uint),
        typeof(long), typeof(ulong), typeof(float), typeof(double), typeof(decimal), typeof(string), typeof(Guid),
        typeof(DateTime), typeof(DateTimeOffset), typeof(DateOnly), typeof(TimeOnly), typeof(char),
    ];

    public static byte[] EncodeUpsert(IReadOnlyList<Row> rows, KeyKind keyKind)
    {
        using var buffer = new MemoryStream();
        using (var w = new BinaryWriter(buffer, Encoding.UTF8, leaveOpen: true))
        {
            w.Write(UpsertRecord);
            w.Write(rows.Count);
            foreach (var row in rows)
            {
                WriteRow(w, row, keyKind);
            }
        }

        return buffer.ToArray();
    }

    public static byte[] EncodeDelete(IReadOnlyList<ulong> ids)
    {
        var bytes = new byte[1 + 4 + (8 * ids.Count)];
        bytes[0] = DeleteRecord;
        BitConverter.TryWriteBytes(bytes.AsSpan(1), ids.Count);
        for (int i = 0; i < ids.Count; i++)
        {
            BitConverter.TryWriteBytes(bytes.AsSpan(5 + (8 * i)), ids[i]);
        }

        return bytes;
    }

    public static void WriteRow(BinaryWriter w, Row row, KeyKind keyKind)
    {
        WriteKey(w, row.Key, keyKind);
        w.Write(row.Id);
        w.Write(row.Data.Count);
        foreach (var (name, value) in row.Data)
        {
            w.Write(name);
            WriteValue(w, value);
        }

        w.Write(row.Vectors.Count);
        foreach (var (name, vector) in row.Vectors)
        {
            w.Write(name);
            w.Write(vector.Generated);
            w.Write(vector.Values.Length);
            foreach (float f in vector.Values)
            {
                w.Write(f);
            }
        }
    }

    public static Row ReadRow(BinaryReader r, KeyKind keyKind)
    {
        object key = ReadKey(r, keyKind);
        ulong id = r.ReadUInt64();
        int dataCount = ReadCount(r);
        var data = new Dictionary<string, object?>(dataCount);
        for (int i = 0; i < dataCount; i++)
        {
            string name = r.ReadString();
            data[name] = ReadValue(r);
        }

        int vectorCount = ReadCount(r);
        var vectors = new Dictionary<string, StoredVector>(vectorCount);
        for (int i = 0; i < vectorCount; i++)
        {
            string name = r.ReadString();
            bool generated = r.ReadBoolean();
            int length = ReadCount(r);
            var values = new float[length];
            for (int j = 0; j < length; j++)
            {
                values[j] = r.ReadSingle();
            }

            vectors[name] = new StoredVector(values, generated);
        }

        return new Row(key, id, data, vectors);
    }

    public static int ReadCount(BinaryReader r)
    {
        int count = r.ReadInt32();
        long remaining = r.BaseStream.Length - r.BaseStream.Position;
        if (count < 0 || count > remaining)
        {
            throw new InvalidDataException($"A count of {count} exceeds the {remaining} bytes left.");
        }

        return count;
    }

    private static void WriteKey(BinaryWriter w, object key, KeyKind kind)
    {
        switch (kind)
        {
            case KeyKind.Guid: w.Write(((Guid)key).ToByteArray()); break;
            case KeyKind.String: w.Write((string)key); break;
            case KeyKind.Int32: w.Write((int)key); break;
            case KeyKind.Int64: w.Write((long)key); break;
            default: w.Write((ulong)key); break;
        }
    }

    private static object ReadKey(BinaryReader r, KeyKind kind) => kind switch
    {
        KeyKind.Guid => new Guid(r.ReadBytes(16)),
        KeyKind.String => r.ReadString(),
        KeyKind.Int32 => r.ReadInt32(),
        KeyKind.Int64 => r.ReadInt64(),
        _ => r.ReadUInt64(),
    };

    private static Tag TagOf(Type type)
    {
        int index = Array.IndexOf(s_tagTypes, Nullable.GetUnderlyingType(type) ?? type);
        return index > 0 ? (Tag)index : throw new ArgumentException($"Type '{type.Name}' cannot be stored.");
    }

    private static void WriteValue(BinaryWriter w, object? value)
    {
        if (value is null)
        {
            w.Write((byte)Tag.Null);
            return;
        }

        var type = value.GetType();
        if (DataValues.ElementTypeOf(type) is { } element)
        {
            w.Write((byte)(type.IsArray ? Tag.Array : Tag.List));
            w.Write((byte)TagOf(element));
            w.Write(Nullable.GetUnderlyingType(element) is not null);
            var list = (IList)value;
            w.Write(list.Count);
            foreach (object? item in list)
            {
                WriteValue(w, item);
            }

            return;
        }

        var tag = TagOf(type);
        w.Write((byte)tag);
        switch (value)
        {
            case bool v: w.Write(v); break;
            case byte v: w.Write(v); break;
            case sbyte v: w.Write(v); break;
            case short v: w.Write(v); break;
            case ushort v: w.Write(v); break;
            case int v: w.Write(v); break;
            case uint v: w.Write(v); break;
            case long v: w.Write(v); break;
            case ulong v: w.Write(v); break;
            case float v: w.Write(v); break;
            case double v: w.Write(v); break;
            case decimal v: w.Write(v); break;
            case string v: w.Write(v); break;
            case Guid v: w.Write(v.ToByteArray()); break;
            case DateTime v: w.Write(v.ToBinary()); break;
            case DateTimeOffset v: w.Write(v.Ticks); w.Write((short)v.Offset.TotalMinutes); break;
            case DateOnly v: w.Write(v.DayNumber); break;
            case TimeOnly v: w.Write(v.Ticks); break;
            case char v: w.Write((ushort)v); break;
            default: throw new ArgumentException($"Type '{type.Name}' cannot be stored.");
        }
    }

    private static object? ReadValue(BinaryReader r)
    {
        var tag = (Tag)r.ReadByte();
        switch (tag)
        {
            case Tag.Null: return null;
            case Tag.Bool: return r.ReadBoolean();
            case Tag.Byte: return r.ReadByte();
            case Tag.SByte: return r.ReadSByte();
            case Tag.Int16: return r.ReadInt16();
            case Tag.UInt16: return r.ReadUInt16();
            case Tag.Int32: return r.ReadInt32();
            case Tag.UInt32: return r.ReadUInt32();
            case Tag.Int64: return r.ReadInt64();
            case Tag.UInt64: return r.ReadUInt64();
            case Tag.Single: return r.ReadSingle();
            case Tag.Double: return r.ReadDouble();
            case Tag.Decimal: return r.ReadDecimal();
            case Tag.String: return r.ReadString();
            case Tag.Guid: return new Guid(r.ReadBytes(16));
            case Tag.DateTime: return DateTime.FromBinary(r.ReadInt64());
            case Tag.DateTimeOffset:
                long ticks = r.ReadInt64();
                return new DateTimeOffset(ticks, TimeSpan.FromMinutes(r.ReadInt16()));
            case Tag.DateOnly: return DateOnly.FromDayNumber(r.ReadInt32());
            case Tag.TimeOnly: return new TimeOnly(r.ReadInt64());
            case Tag.Char: return (char)r.ReadUInt16();
            case Tag.Array:
            case Tag.List:
                byte elementTag = r.ReadByte();
                if (elementTag == 0 || elementTag >= s_tagTypes.Length)
                {
                    throw new InvalidDataException($"Unknown element type tag {elementTag}.");
                }

                var element = s_tagTypes[elementTag];
                if (r.ReadBoolean())
                {
                    element = typeof(Nullable<>).MakeGenericType(element);
                }

                int count = ReadCount(r);
                IList list = tag == Tag.Array
                    ? Array.CreateInstance(element, count)
                    : (IList)Activator.CreateInstance(typeof(List<>).MakeGenericType(element), count)!;
                for (int i = 0; i < count; i++)
                {
                    object? item = ReadValue(r);
                    if (tag == Tag.Array)
                    {
                        list[i] = item;
                    }
                    else
                    {
                        list.Add(item);
                    }
                }

                return list;
            default:
                throw new InvalidDataException($"Unknown value type tag {(byte)tag}.");
        }
    }
}
