using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace VectorIndex.Internal;

/// <summary>
/// The index's one deferred-reclamation primitive (after Garnet's <c>LightEpoch</c>, much reduced): a reader enters
/// before it touches graph memory and leaves when it is done; a writer that has just unlinked, moved or retired memory
/// calls <see cref="WaitForReaders"/>, which returns once every reader that entered before the call has left. Memory
/// a reader could have reached before the writer's change is touched again only after that.
/// <para>
/// A reader takes a free slot of a small table and stores in it the epoch it entered at (a compare-and-swap, so a full
/// fence: its later reads of the graph cannot move above the store). <see cref="WaitForReaders"/> advances the epoch
/// (also a full fence: the writer's change is visible before it) and waits until no slot holds an epoch older than the
/// new one. A reader that entered after the advance is not waited for: its reads come after the change. Readers never
/// wait for each other or for a writer (unless all slots are taken, which the table size makes rare).
/// </para>
/// </summary>
internal sealed class LightEpoch
{
    private readonly Slot[] _slots;
    private readonly int _mask;
    private long _current = 1;

    public LightEpoch()
    {
        int size = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Clamp(Environment.ProcessorCount * 4, 16, 256));
        _slots = new Slot[size];
        _mask = size - 1;
    }

    /// <summary>Enters: until <see cref="Leave"/> with the returned slot, no writer reclaims what this reader may reach.</summary>
    public int Enter()
    {
        Slot[] slots = _slots;
        int start = (int)((uint)Environment.CurrentManagedThreadId * 0x9E3779B9u >> 16) & _mask;
        var spin = default(SpinWait);
        while (true)
        {
            long epoch = Volatile.Read(ref _current);
            for (int i = 0; i <= _mask; i++)
            {
                int slot = (start + i) & _mask;
                if (Volatile.Read(ref slots[slot].Entered) == 0 &&
                    Interlocked.CompareExchange(ref slots[slot].Entered, epoch, 0) == 0)
                {
                    return slot;
                }
            }

            // Every slot is in use: more readers at once than the table holds. Wait for one to leave.
            spin.SpinOnce();
        }
    }

    /// <summary>Leaves the slot <see cref="Enter"/> returned.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Leave(int slot) => Volatile.Write(ref _slots[slot].Entered, 0);

    /// <summary>
    /// Returns once every reader that entered before this call has left. The caller must not be inside
    /// <see cref="Enter"/> itself (it would wait for itself).
    /// </summary>
    public void WaitForReaders()
    {
        long next = Interlocked.Increment(ref _current);
        Slot[] slots = _slots;
        for (int i = 0; i < slots.Length; i++)
        {
            var spin = default(SpinWait);
            while (true)
            {
                long entered = Volatile.Read(ref slots[i].Entered);
                if (entered == 0 || entered >= next)
                {
                    break;
                }

                spin.SpinOnce();
            }
        }
    }

    /// <summary>One reader's entry, alone on its cache line so readers on different cores do not share lines.</summary>
    [StructLayout(LayoutKind.Explicit, Size = 64)]
    private struct Slot
    {
        // 0: free; else the epoch the reader entered at.
        [FieldOffset(0)]
        public long Entered;
    }
}
