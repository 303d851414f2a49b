using System.Text;
using Microsoft.Extensions.VectorData;
using Microsoft.Extensions.VectorData.ProviderServices;

namespace VectorIndex.VectorData.Storage;

/// <summary>The CLR key types a collection supports, as stored.</summary>
internal enum KeyKind : byte
{
    Guid = 1,
    String = 2,
    Int32 = 3,
    Int64 = 4,
    UInt64 = 5,
}

/// <summary>One vector property as stored: what must agree between every record type that opens the collection.</summary>
internal sealed record VectorSpec(string StorageName, int Dimensions, string DistanceFunction, string IndexKind);

/// <summary>HNSW parameters for the graphs of a collection; set when it is created, kept with it.</summary>
internal sealed record GraphSettings(int M, int EfConstruction, int EfSearch)
{
    public static readonly GraphSettings Default = new(16, 200, 64);
}

/// <summary>The stored shape of a collection: key type and vector properties (data properties are free-form).</summary>
internal sealed class CollectionSchema
{
    private const byte Version = 2;

    public CollectionSchema(KeyKind keyKind, IReadOnlyList<VectorSpec> vectors, GraphSettings? graph = null)
    {
        KeyKind = keyKind;
        Vectors = vectors;
        Graph = graph ?? GraphSettings.Default;
    }

    public KeyKind KeyKind { get; }

    public IReadOnlyList<VectorSpec> Vectors { get; }

    /// <summary>How new graphs are built and searched by default. Not part of the compatibility check: it belongs to the stored collection.</summary>
    public GraphSettings Graph { get; }

    public static KeyKind KeyKindOf(Type type) =>
        type == typeof(Guid) ? KeyKind.Guid
        : type == typeof(string) ? KeyKind.String
        : type == typeof(int) ? KeyKind.Int32
        : type == typeof(long) ? KeyKind.Int64
        : type == typeof(ulong) ? KeyKind.UInt64
        : throw new NotSupportedException($"Key type '{type.Name}' is not supported; use Guid, string, int, long or ulong.");

    public static Type ClrTypeOf(KeyKind kind) => kind switch
    {
        KeyKind.Guid => typeof(Guid),
        KeyKind.String => typeof(string),
        KeyKind.Int32 => typeof(int),
        KeyKind.Int64 => typeof(long),
        KeyKind.UInt64 => typeof(ulong),
        _ => throw new InvalidDataException($"Unknown key kind {(int)kind}."),
    };

    public static CollectionSchema FromModel(CollectionModel model, GraphSettings? graph = null) =>
        new(KeyKindOf(model.KeyProperty.Type),
            model.VectorProperties.Select(v => new VectorSpec(v.StorageName, v.Dimensions,
                VectorSlot.NormalizeDistanceFunction(v.DistanceFunction), VectorSlot.NormalizeIndexKind(v.IndexKind))).ToArray(),
            graph);

    /// <summary>Throws when a record model's shape disagrees with this stored one.</summary>
    public void CheckCompatible(CollectionSchema model, string collectionName)
    {
        if (model.KeyKind != KeyKind)
        {
            throw new InvalidOperationException(
                $"Collection '{collectionName}' stores keys of type {ClrTypeOf(KeyKind).Name}; the record type's key is {ClrTypeOf(model.KeyKind).Name}.");
        }

        foreach (var vector in model.Vectors)
        {
            var stored = Vectors.FirstOrDefault(v => v.StorageName == vector.StorageName)
                ?? throw new InvalidOperationException(
                    $"Collection '{collectionName}' has no vector property '{vector.StorageName}'; it was created with [{string.Join(", ", Vectors.Select(v => v.StorageName))}].");
            if (stored != vector)
            {
                throw new InvalidOperationException(
                    $"Vector property '{vector.StorageName}' of collection '{collectionName}' is stored with {stored.Dimensions} dimensions, {stored.DistanceFunction}, {stored.IndexKind}; " +
                    $"the record type declares {vector.Dimensions} dimensions, {vector.DistanceFunction}, {vector.IndexKind}.");
            }
        }
    }

    public byte[] Serialize()
    {
        using var buffer = new MemoryStream();
        using (var w = new BinaryWriter(buffer, Encoding.UTF8, leaveOpen: true))
        {
            w.Write(Version);
            w.Write((byte)KeyKind);
            w.Write(Vectors.Count);
            foreach (var v in Vectors)
            {
                w.Write(v.StorageName);
                w.Write(v.Dimensions);
                w.Write(v.DistanceFunction);
                w.Write(v.IndexKind);
            }

            w.Write(Graph.M);
            w.Write(Graph.EfConstruction);
            w.Write(Graph.EfSearch);
        }

        return buffer.ToArray();
    }

    public static CollectionSchema Deserialize(byte[] bytes, string source)
    {
        try
        {
            using var r = new BinaryReader(new MemoryStream(bytes), Encoding.UTF8);
            byte version = r.ReadByte();
            if (version is < 1 or > Version)
            {
                throw new InvalidDataException($"'{source}': schema version {version} is not supported.");
            }

            var keyKind = (KeyKind)r.ReadByte();
            _ = ClrTypeOf(keyKind);
            int count = r.ReadInt32();
            if (count < 0 || count > 1024)
            {
                throw new InvalidDataException($"'{source}': bad vector property count {count}.");
            }

            var vectors = new VectorSpec[count];
            for (int i = 0; i < count; i++)
            {
                vectors[i] = new VectorSpec(r.ReadString(), r.ReadInt32(), r.ReadString(), r.ReadString());
            }

            // Version 1 had no graph settings: the defaults it was built with.
            var graph = version >= 2 ? new GraphSettings(r.ReadInt32(), r.ReadInt32(), r.ReadInt32()) : GraphSettings.Default;
            if (graph.M < 2 || graph.EfConstruction < 1 || graph.EfSearch < 1)
            {
                throw new InvalidDataException($"'{source}': bad graph settings {graph}.");
            }

            return new CollectionSchema(keyKind, vectors, graph);
        }
        catch (EndOfStreamException ex)
        {
            throw new InvalidDataException($"'{source}': the schema is truncated.", ex);
        }
    }
}
