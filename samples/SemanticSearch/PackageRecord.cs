using Microsoft.Extensions.VectorData;

namespace SemanticSearch;

/// <summary>One Debian package, as stored in the vector collection.</summary>
public sealed class PackageRecord
{
    [VectorStoreKey]
    public string Name { get; set; } = string.Empty;

    /// <summary>Indexed, so that <c>r =&gt; r.Section == "utils"</c> is an index lookup rather than a scan.</summary>
    [VectorStoreData(IsIndexed = true)]
    public string Section { get; set; } = string.Empty;

    /// <summary>The synopsis line, then the long description.</summary>
    [VectorStoreData]
    public string Description { get; set; } = string.Empty;

    /// <summary>
    /// The text the store embeds with its embedding generator on upsert. The generated vector is stored; this text is
    /// not (it is the description again), so it reads back as null.
    /// </summary>
    [VectorStoreVector(MiniLmEmbeddingGenerator.Dimensions, DistanceFunction = DistanceFunction.CosineSimilarity)]
    public string? Embedding { get; set; }
}
