namespace VectorIndex.VectorData.Storage;

/// <summary>
/// A collection state was used after it was deleted or its directory closed (by another collection object or store);
/// the collection reports it as a <c>VectorStoreException</c>.
/// </summary>
internal sealed class CollectionClosedException(string name)
    : ObjectDisposedException(nameof(CollectionState), $"Collection '{name}' was deleted or closed.");
