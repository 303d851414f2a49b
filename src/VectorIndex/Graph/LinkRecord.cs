using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace VectorIndex.Graph;

/// <summary>
/// A node's neighbour list on one layer, stored as <c>[version, count, link_0 .. link_capacity-1]</c> ints: on layer 0
/// in the node's fixed-stride record, on upper layers in the node's upper array.
/// <para>
/// Concurrency: writers serialise on bit 0 of the version word (a per-node spin lock), so a writer can compute a
/// pruned list while holding it without stopping readers. Only the short copy-in of a new list sets bit 1
/// ("write in progress") and advances the version. Readers never lock: they copy the list and retry if the version
/// changed or a write was in progress (a seqlock), so a search sees the old or the new list, never a torn one.
/// </para>
/// </summary>
internal static class LinkRecord
{
    public const int HeaderInts = 2;
    private const int LockBit = 1;
    private const int WritingBit = 2;

    /// <summary>Copies the list into <paramref name="destination"/> (at least <paramref name="capacity"/> long) and returns its length.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Read(ref int record, int capacity, Span<int> destination)
    {
        while (true)
        {
            int before = Volatile.Read(ref record);
            if ((before & WritingBit) == 0)
            {
                int count = Unsafe.Add(ref record, 1);
                if ((uint)count > (uint)capacity)
                {
                    count = capacity;
                }

                CopyLinks(ref Unsafe.Add(ref record, HeaderInts), destination, count);
                Volatile.ReadBarrier();
                if ((Volatile.Read(ref record) | LockBit) == (before | LockBit))
                {
                    return count;
                }
            }

            Thread.SpinWait(1);
        }
    }

    /// <summary>Copies the list of a record nobody writes (a read-only, memory-mapped graph): no version check, no retry.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int ReadFrozen(ref int record, int capacity, Span<int> destination)
    {
        int count = Unsafe.Add(ref record, 1);
        if ((uint)count > (uint)capacity)
        {
            count = capacity;
        }

        CopyLinks(ref Unsafe.Add(ref record, HeaderInts), destination, count);
        return count;
    }

    /// <summary>
    /// Copies <paramref name="count"/> links (at most the destination's length) in 32-byte moves and a scalar tail:
    /// inline, where a copy of a length known only at run time is a call to Memmove (3.5% of a search's time at ef 640
    /// on a million 128-d vectors, for lists of 128 bytes).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CopyLinks(ref int source, Span<int> destination, int count)
    {
        ref int target = ref MemoryMarshal.GetReference(destination[..count]);
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i + Vector256<int>.Count <= count; i += Vector256<int>.Count)
            {
                Vector256.LoadUnsafe(ref source, (nuint)i).StoreUnsafe(ref target, (nuint)i);
            }
        }

        for (; i < count; i++)
        {
            Unsafe.Add(ref target, i) = Unsafe.Add(ref source, i);
        }
    }

    public static void Lock(ref int record)
    {
        var spin = default(SpinWait);
        while (true)
        {
            int v = Volatile.Read(ref record);
            if ((v & LockBit) == 0 && Interlocked.CompareExchange(ref record, v | LockBit, v) == v)
            {
                return;
            }

            spin.SpinOnce(sleep1Threshold: -1);
        }
    }

    public static void Unlock(ref int record)
    {
        Debug.Assert((record & LockBit) != 0 && (record & WritingBit) == 0, "only the holder unlocks, after its write ended");
        Volatile.Write(ref record, record & ~LockBit);
    }

    /// <summary>The list as it is; only for the holder of the lock (nobody else writes it then).</summary>
    public static ReadOnlySpan<int> Locked(ref int record, int capacity) =>
        MemoryMarshal.CreateReadOnlySpan(ref Unsafe.Add(ref record, HeaderInts), Math.Min(Unsafe.Add(ref record, 1), capacity));

    /// <summary>Appends one link; only for the holder of the lock, with room left.</summary>
    public static void Append(ref int record, int id)
    {
        Debug.Assert((record & LockBit) != 0, "appended under the record's lock");
        int count = Unsafe.Add(ref record, 1);
        BeginWrite(ref record);
        Unsafe.Add(ref record, HeaderInts + count) = id;
        Unsafe.Add(ref record, 1) = count + 1;
        EndWrite(ref record);
    }

    /// <summary>Replaces the whole list; only for the holder of the lock.</summary>
    public static void Replace(ref int record, ReadOnlySpan<int> links)
    {
        Debug.Assert((record & LockBit) != 0, "replaced under the record's lock");
        BeginWrite(ref record);
        links.CopyTo(MemoryMarshal.CreateSpan(ref Unsafe.Add(ref record, HeaderInts), links.Length));
        Unsafe.Add(ref record, 1) = links.Length;
        EndWrite(ref record);
    }

    // A full fence: the list stores below cannot move above the flag that tells readers to retry.
    private static void BeginWrite(ref int record) => Interlocked.Add(ref record, WritingBit);

    // A release store: the list stores above are visible before the version that says they are done.
    private static void EndWrite(ref int record) => Volatile.Write(ref record, record + WritingBit);
}
