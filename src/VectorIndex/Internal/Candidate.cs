using System.Runtime.InteropServices;

namespace VectorIndex.Internal;

/// <summary>An internal node id with its distance to the current query: the element of every queue in the graph code.</summary>
[StructLayout(LayoutKind.Sequential)]
internal readonly record struct Candidate(float Distance, int Id);
