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
    public const string SupportedKeyTypes = "ulong, long, int, Guid, string";

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
        if (keyProperty.Type != typeof(ulong) && keyProperty.Type != typeof(long) && keyProperty.Type != typeof(int)
            && keyProperty.Type != typeof(Guid) && keyProperty.Type != typeof(string))
        {
            throw new NotSupportedException($"Key property '{keyProperty.ModelName}' has type '{keyProperty.Type.Name}'; sharded collections support {SupportedKeyTypes} keys.");
        }
    }
}

/// <summary>
/// Maps records to shard writes and back: the key to a 64-bit key (integers as they are, Guids and strings hashed by
/// <see cref="HashedKeys"/> with the original key kept in the payload), the vector to floats, the data properties to a
/// JSON payload.
/// </summary>
internal sealed class ShardedRecordMapper<TRecord>
{
    public ShardedRecordMapper(CollectionModel model)
    {
        Model = model;
        KeyType = model.KeyProperty.Type;
        IsHashed = KeyType == typeof(Guid) || KeyType == typeof(string);
        if (model.DataProperties.FirstOrDefault(p => p.StorageName == HashedKeys.OriginalKeyProperty) is { } reserved)
        {
            throw new NotSupportedException($"Data property '{reserved.ModelName}' has the storage name '{HashedKeys.OriginalKeyProperty}', which sharded collections reserve for the original key.");
        }
    }

    public CollectionModel Model { get; }

    public VectorPropertyModel Vector => Model.VectorProperty;

    /// <summary>The key property's type.</summary>
    public Type KeyType { get; }

    /// <summary>Whether keys are hashed to storage keys (Guid and string keys), the original key kept in the payload.</summary>
    public bool IsHashed { get; }

    /// <summary>A caller's key checked against the key type (integers converted when lossless, as the in-process connector does).</summary>
    public object NormalizeKey(object key, string parameterName)
    {
        ArgumentNullException.ThrowIfNull(key, parameterName);
        if (key.GetType() == KeyType)
        {
            return key;
        }

        if (!IsHashed && key is IConvertible && key is not string)
        {
            try
            {
                object converted = Convert.ChangeType(key, KeyType, System.Globalization.CultureInfo.InvariantCulture);
                if (Convert.ChangeType(converted, key.GetType(), System.Globalization.CultureInfo.InvariantCulture).Equals(key))
                {
                    return converted;
                }
            }
            catch (Exception ex) when (ex is OverflowException or InvalidCastException)
            {
                // Falls through to the error below.
            }
        }

        throw new ArgumentException($"The key has type '{key.GetType().Name}'; this collection's keys are '{KeyType.Name}'.", parameterName);
    }

    /// <summary>The storage key of a key of the key type.</summary>
    public static ulong ToKey(object key) => key switch
    {
        ulong u => u,
        long l => unchecked((ulong)l),
        int i => unchecked((ulong)(long)i),
        Guid g => HashedKeys.Hash(g),
        string s => HashedKeys.Hash(s),
        _ => throw new NotSupportedException($"Key type '{key.GetType().Name}' is not supported; use {ShardedModelBuilder.SupportedKeyTypes}."),
    };

    /// <summary>The original key as the payload keeps it (hashed keys), or null (integer keys).</summary>
    public static string? OriginalKeyText(object key) => key switch
    {
        Guid g => g.ToString("D"),
        string s => s,
        _ => null,
    };

    /// <summary>A write that deletes the record of a caller's key.</summary>
    public ShardWrite ToDelete(object key)
    {
        key = NormalizeKey(key, "key");
        return new ShardWrite { Key = ToKey(key), OriginalKey = OriginalKeyText(key) };
    }

    /// <summary>Whether a stored record is the one of a caller's key (not another hashed key's record under the same storage key).</summary>
    public static bool IsRecordOf(StoredRecord stored, object key) =>
        OriginalKeyText(key) is not { } original || string.Equals(HashedKeys.OriginalKeyOf(stored.Payload), original, StringComparison.Ordinal);

    /// <summary>The record key of a stored record (hashed keys: the original key its payload keeps).</summary>
    public object KeyOf(StoredRecord stored)
    {
        if (!IsHashed)
        {
            return KeyType == typeof(ulong) ? stored.Key
                : KeyType == typeof(long) ? unchecked((long)stored.Key)
                : (object)unchecked((int)(long)stored.Key);
        }

        string original = HashedKeys.OriginalKeyOf(stored.Payload)
            ?? throw new InvalidOperationException($"The record under storage key {stored.Key} has no original key ('{HashedKeys.OriginalKeyProperty}' in its payload); it was not written through a collection with {KeyType.Name} keys.");
        return KeyType == typeof(Guid) ? Guid.Parse(original) : original;
    }

    /// <summary>Whether vectors can be returned: not when the vector property holds generator inputs (they are not stored).</summary>
    public bool CheckIncludeVectors(bool includeVectors) =>
        includeVectors && Model.EmbeddingGenerationRequired
            ? throw new NotSupportedException(VectorDataStrings.IncludeVectorsNotSupportedWithEmbeddingGeneration)
            : includeVectors;

    /// <summary>The writes of records; the vector property's inputs are embedded first (one batch) when it is not a vector type.</summary>
    public async Task<List<ShardWrite>> ToWritesAsync(IReadOnlyList<TRecord> records, CancellationToken cancellationToken)
    {
        if (ShardedModelBuilder.IsNativeVectorType(Vector.Type))
        {
            return [.. records.Select(r => ToWrite(r, generated: null))];
        }

        var inputs = new List<object?>();
        var positions = new List<int>();
        for (int i = 0; i < records.Count; i++)
        {
            ArgumentNullException.ThrowIfNull(records[i], nameof(records));
            if (Vector.GetValueAsObject(records[i]!) is { } input)
            {
                inputs.Add(input);
                positions.Add(i);
            }
        }

        var embeddings = new float[]?[records.Count];
        if (inputs.Count > 0)
        {
            var made = await Vector.GenerateEmbeddingsAsync(inputs, cancellationToken).ConfigureAwait(false);
            if (made.Count != inputs.Count)
            {
                throw new InvalidOperationException($"The embedding generator of property '{Vector.ModelName}' returned {made.Count} embeddings for {inputs.Count} inputs.");
            }

            for (int j = 0; j < positions.Count; j++)
            {
                embeddings[positions[j]] = made[j] is Embedding<float> floats
                    ? floats.Vector.ToArray()
                    : throw new InvalidOperationException($"The embedding generator of property '{Vector.ModelName}' returned '{made[j].GetType().Name}'; sharded collections store Embedding<float>.");
            }
        }

        return [.. records.Select((r, i) => ToWrite(r, embeddings[i]))];
    }

    /// <summary>The query vector of a search input: a vector as it is, anything else embedded by the vector property's generator.</summary>
    public async Task<float[]> QueryVectorAsync<TInput>(TInput searchValue, CancellationToken cancellationToken)
    {
        switch (searchValue)
        {
            case ReadOnlyMemory<float> memory:
                return memory.ToArray();
            case float[] array:
                return array;
            case Embedding<float> embedding:
                return embedding.Vector.ToArray();
        }

        if (Vector.EmbeddingGenerator is not null && Vector.EmbeddingGenerationDispatcher is not null)
        {
            var embedding = await Vector.GenerateEmbeddingAsync(searchValue, cancellationToken).ConfigureAwait(false);
            return embedding is Embedding<float> floats
                ? floats.Vector.ToArray()
                : throw new InvalidOperationException($"The embedding generator of property '{Vector.ModelName}' returned '{embedding.GetType().Name}'; sharded collections search with Embedding<float>.");
        }

        throw new NotSupportedException(VectorDataStrings.InvalidSearchInputAndNoEmbeddingGeneratorWasConfigured(typeof(TInput), ShardedModelBuilder.SupportedVectorTypes));
    }

    private ShardWrite ToWrite(TRecord record, float[]? generated)
    {
        ArgumentNullException.ThrowIfNull(record);
        var keyProperty = Model.KeyProperty;
        object? rawKey = keyProperty.GetValueAsObject(record!);
        if (keyProperty.IsAutoGenerated && (rawKey is null || (rawKey is Guid g && g == Guid.Empty)))
        {
            rawKey = Guid.NewGuid();
            keyProperty.SetValueAsObject(record!, rawKey); // the caller learns the key it got, as MEVD providers do
        }

        object key = rawKey ?? throw new ArgumentException($"The record's key property '{keyProperty.ModelName}' is null.", nameof(record));
        key = NormalizeKey(key, nameof(record));
        float[] vector = generated ?? Vector.GetValueAsObject(record!) switch
        {
            ReadOnlyMemory<float> memory => memory.ToArray(),
            float[] array => (float[])array.Clone(),
            Embedding<float> embedding => embedding.Vector.ToArray(),
            null => throw new ArgumentException($"The record's vector property '{Vector.ModelName}' is null.", nameof(record)),
            var other => throw new ArgumentException($"Vector property '{Vector.ModelName}' has a value of type '{other.GetType().Name}'; expected {ShardedModelBuilder.SupportedVectorTypes}.", nameof(record)),
        };

        var data = new JsonObject();
        string? original = OriginalKeyText(key);
        if (original is not null)
        {
            data[HashedKeys.OriginalKeyProperty] = original;
        }

        foreach (var dp in Model.DataProperties)
        {
            object? value = dp.GetValueAsObject(record!);
            data[dp.StorageName] = JsonSerializer.SerializeToNode(value, value is null || dp.Type.IsInstanceOfType(value) ? dp.Type : value.GetType());
        }

        return new ShardWrite { Key = ToKey(key), Vector = vector, Payload = JsonSerializer.SerializeToUtf8Bytes(data), OriginalKey = original };
    }

    public TRecord ToRecord(StoredRecord stored, bool includeVectors)
    {
        var record = Model.CreateRecord<TRecord>()!;
        Model.KeyProperty.SetValueAsObject(record, KeyOf(stored));
        var data = stored.Payload is null ? null : JsonNode.Parse(stored.Payload) as JsonObject;
        foreach (var dp in Model.DataProperties)
        {
            if (data is not null && data.TryGetPropertyValue(dp.StorageName, out var node) && node is not null)
            {
                dp.SetValueAsObject(record, node.Deserialize(dp.Type));
            }
        }

        if (includeVectors && ShardedModelBuilder.IsNativeVectorType(Vector.Type))
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
