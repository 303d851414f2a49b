using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.VectorData.ProviderServices;
using VectorIndex.VectorData.Storage;

namespace VectorIndex.VectorData.Model;

/// <summary>Builds and validates record models with the abstractions' <see cref="CollectionModelBuilder"/>.</summary>
internal sealed class VectorIndexModelBuilder() : CollectionModelBuilder(new CollectionModelBuildingOptions
{
    SupportsMultipleVectors = true,
    RequiresAtLeastOneVector = false,
})
{
    public const string SupportedVectorTypes = "ReadOnlyMemory<float>, ReadOnlyMemory<float>?, Embedding<float>, float[]";

    public static bool IsNativeVectorType(Type type) =>
        type == typeof(ReadOnlyMemory<float>) || type == typeof(ReadOnlyMemory<float>?) || type == typeof(Embedding<float>) || type == typeof(float[]);

    protected override bool IsDataPropertyTypeValid(Type type, [NotNullWhen(false)] out string? supportedTypes)
    {
        supportedTypes = DataValues.SupportedTypes;
        return type != typeof(object) && DataValues.IsSupported(type);
    }

    protected override bool IsVectorPropertyTypeValid(Type type, [NotNullWhen(false)] out string? supportedTypes)
    {
        supportedTypes = SupportedVectorTypes;
        return IsNativeVectorType(type);
    }

    protected override void ValidateKeyProperty(KeyPropertyModel keyProperty)
    {
        base.ValidateKeyProperty(keyProperty);
        _ = CollectionSchema.KeyKindOf(keyProperty.Type);
    }

    protected override void ValidateProperty(PropertyModel propertyModel, Microsoft.Extensions.VectorData.VectorStoreCollectionDefinition? definition)
    {
        base.ValidateProperty(propertyModel, definition);
        if (propertyModel is VectorPropertyModel vector)
        {
            // Unsupported distance functions and index kinds fail when the collection object is made, not later.
            _ = VectorSlot.NormalizeDistanceFunction(vector.DistanceFunction);
            _ = VectorSlot.NormalizeIndexKind(vector.IndexKind);
        }
    }
}
