using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.VectorData;
using Microsoft.Extensions.VectorData.ProviderServices;

namespace VectorIndex.Orleans.VectorData;

/// <summary>Builds the record model of a sharded collection: an integer key, one float vector, data properties stored as JSON.</summary>
internal sealed class ShardedModelBuilder() : CollectionModelBuilder(new CollectionModelBuildingOptions
{
    SupportsMultipleVectors = false,
    RequiresAtLeastOneVector = true,
})
{
    public const string SupportedVectorTypes = "ReadOnlyMemory<float>, ReadOnlyMemory<float>?, Embedding<float>, float[]";
    public const string SupportedKeyTypes = "ulong, long, int";

    public static bool IsNativeVectorType(Type type) =>
        type == typeof(ReadOnlyMemory<float>) || type == typeof(ReadOnlyMemory<float>?) || type == typeof(Embedding<float>) || type == typeof(float[]);

    protected override bool IsDataPropertyTypeValid(Type type, [NotNullWhen(false)] out string? supportedTypes)
    {
        supportedTypes = "any type System.Text.Json serializes, except object";
        return type != typeof(object);
    }

    protected override bool IsVectorPropertyTypeValid(Type type, [NotNullWhen(false)] out string? supportedTypes)
    {
        supportedTypes = SupportedVectorTypes;
        return IsNativeVectorType(type);
    }

    protected override void ValidateKeyProperty(KeyPropertyModel keyProperty)
    {
        base.ValidateKeyProperty(keyProperty);
        if (keyProperty.Type != typeof(ulong) && keyProperty.Type != typeof(long) && keyProperty.Type != typeof(int))
        {
            throw new NotSupportedException($"Key property '{keyProperty.ModelName}' has type '{keyProperty.Type.Name}'; sharded collections support {SupportedKeyTypes} keys.");
        }
    }
}

/// <summary>Maps records to shard writes and back: the key to a 64-bit key, the vector to floats, the data properties to a JSON payload.</summary>
internal sealed class ShardedRecordMapper<TRecord>(CollectionModel model)
{
    public CollectionModel Model { get; } = model;

    public VectorPropertyModel Vector => Model.VectorProperty;

    public static ulong ToKey(object key) => key switch
    {
        ulong u => u,
        long l => unchecked((ulong)l),
        int i => unchecked((ulong)(long)i),
        _ => throw new NotSupportedException($"Key type '{key.GetType().Name}' is not supported; use {ShardedModelBuilder.SupportedKeyTypes}."),
    };

    public object FromKey(ulong key) =>
        Model.KeyProperty.Type == typeof(ulong) ? key
        : Model.KeyProperty.Type == typeof(long) ? unchecked((long)key)
        : (object)unchecked((int)(long)key);

    public ShardWrite ToWrite(TRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        object key = Model.KeyProperty.GetValueAsObject(record!)
            ?? throw new ArgumentException($"The record's key property '{Model.KeyProperty.ModelName}' is null.", nameof(record));
        float[] vector = Vector.GetValueAsObject(record!) switch
        {
            ReadOnlyMemory<float> memory => memory.ToArray(),
            float[] array => (float[])array.Clone(),
            Embedding<float> embedding => embedding.Vector.ToArray(),
            null => throw new ArgumentException($"The record's vector property '{Vector.ModelName}' is null.", nameof(record)),
            var other => throw new ArgumentException($"Vector property '{Vector.ModelName}' has a value of type '{other.GetType().Name}'; expected {ShardedModelBuilder.SupportedVectorTypes}.", nameof(record)),
        };

        var data = new JsonObject();
        foreach (var dp in Model.DataProperties)
        {
            data[dp.StorageName] = JsonSerializer.SerializeToNode(dp.GetValueAsObject(record!), dp.Type);
        }

        return new ShardWrite { Key = ToKey(key), Vector = vector, Payload = JsonSerializer.SerializeToUtf8Bytes(data) };
    }

    public TRecord ToRecord(StoredRecord stored, bool includeVectors)
    {
        var record = Model.CreateRecord<TRecord>()!;
        Model.KeyProperty.SetValueAsObject(record, FromKey(stored.Key));
        var data = stored.Payload is null ? null : JsonNode.Parse(stored.Payload) as JsonObject;
        foreach (var dp in Model.DataProperties)
        {
            if (data is not null && data.TryGetPropertyValue(dp.StorageName, out var node) && node is not null)
            {
                dp.SetValueAsObject(record, node.Deserialize(dp.Type));
            }
        }

        if (includeVectors)
        {
            object value = Vector.Type == typeof(float[]) ? stored.Vector
                : Vector.Type == typeof(Embedding<float>) ? new Embedding<float>(stored.Vector)
                : new ReadOnlyMemory<float>(stored.Vector);
            Vector.SetValueAsObject(record, value);
        }

        return record;
    }

    /// <summary>The metric of the vector property's distance function.</summary>
    public Metric Metric => Vector.DistanceFunction switch
    {
        null or DistanceFunction.CosineSimilarity or DistanceFunction.CosineDistance => Metric.Cosine,
        DistanceFunction.DotProductSimilarity or DistanceFunction.NegativeDotProductSimilarity => Metric.InnerProduct,
        DistanceFunction.EuclideanDistance or DistanceFunction.EuclideanSquaredDistance => Metric.L2Squared,
        var other => throw new NotSupportedException($"Distance function '{other}' is not supported by sharded VectorIndex collections; use CosineSimilarity, CosineDistance, DotProductSimilarity, NegativeDotProductSimilarity, EuclideanDistance or EuclideanSquaredDistance."),
    };

    /// <summary>The MEVD score of an index distance, as the in-process connector reports it.</summary>
    public double ToScore(float distance) => Vector.DistanceFunction switch
    {
        null or DistanceFunction.CosineSimilarity or DistanceFunction.DotProductSimilarity => 1.0 - distance,
        DistanceFunction.NegativeDotProductSimilarity => distance - 1.0,
        DistanceFunction.EuclideanDistance => Math.Sqrt(distance),
        _ => distance,
    };
}
