using System.Globalization;

namespace VectorIndex.AnnBench;

/// <summary>
/// Progress of one long phase (ground truth, a build, a sweep) as "  phase: n of N unit, 12 s". On a terminal it
/// rewrites one line in place; when redirected to a log, where '\r' erases nothing, it writes a line at most every
/// <see cref="LogInterval"/>, so a run of an hour logs a few hundred lines, not one per update. <see cref="Done"/>
/// always ends with the phase's total and time.
/// </summary>
internal sealed class PhaseProgress : IProgress<int>
{
    public static readonly TimeSpan LogInterval = TimeSpan.FromSeconds(3);

    private static readonly TimeSpan TerminalInterval = TimeSpan.FromSeconds(0.25);

    private readonly string _phase;
    private readonly long _total;
    private readonly string _unit;
    private readonly TextWriter _writer;
    private readonly bool _inPlace;
    private readonly TimeProvider _time;
    private readonly bool _showRate;
    private readonly long _start;
    private readonly Lock _lock = new();
    private long _lastWrite;
    private long _done;
    private int _width;

    /// <param name="phase">What is running, e.g. "ground truth".</param>
    /// <param name="total">N: how many units the phase has.</param>
    /// <param name="unit">What a unit is, e.g. "queries".</param>
    /// <param name="writer">Standard error when null, in place unless it is redirected.</param>
    /// <param name="inPlace">Overrides the terminal check (tests).</param>
    /// <param name="time">The clock (tests); the system's when null.</param>
    /// <param name="showRate">Also print units per second so far, e.g. ", 95.2/s" (embedding, where the rate is the news).</param>
    public PhaseProgress(string phase, long total, string unit, TextWriter? writer = null, bool? inPlace = null, TimeProvider? time = null, bool showRate = false)
    {
        _showRate = showRate;
        _phase = phase;
        _total = total;
        _unit = unit;
        _writer = writer ?? Console.Error;
        _inPlace = inPlace ?? (writer is null && !Console.IsErrorRedirected);
        _time = time ?? TimeProvider.System;
        _start = _time.GetTimestamp();
        _lastWrite = _start;
    }

    /// <summary>Adds <paramref name="count"/> finished units; safe from several threads.</summary>
    public void Advance(long count = 1) => Report(Interlocked.Add(ref _done, count));

    /// <summary>Sets the finished units to <paramref name="done"/>; a count below one already seen is ignored.</summary>
    public void Report(long done)
    {
        // Cheap test before the lock: most updates of a fast phase print nothing.
        TimeSpan interval = _inPlace ? TerminalInterval : LogInterval;
        if (_time.GetElapsedTime(Volatile.Read(ref _lastWrite)) < interval)
        {
            InterlockedMax(ref _done, done);
            return;
        }

        lock (_lock)
        {
            InterlockedMax(ref _done, done);
            long now = _time.GetTimestamp();
            if (_time.GetElapsedTime(_lastWrite, now) >= interval)
            {
                Volatile.Write(ref _lastWrite, now); // read without the lock above
                Write(Format(Volatile.Read(ref _done), _time.GetElapsedTime(_start, now), "F0"), endLine: !_inPlace);
            }
        }
    }

    /// <summary>As <see cref="Report(long)"/>, on the calling thread: HnswIndex.AddRange reports its count this way.</summary>
    void IProgress<int>.Report(int value) => Report(value);

    /// <summary>Writes the final line: the units done (all of them, normally) and the phase's time.</summary>
    public TimeSpan Done()
    {
        lock (_lock)
        {
            TimeSpan elapsed = _time.GetElapsedTime(_start);
            Write(Format(Volatile.Read(ref _done), elapsed, "F1"), endLine: true);
            return elapsed;
        }
    }

    private string Format(long done, TimeSpan elapsed, string secondsFormat)
    {
        string line = string.Create(
            CultureInfo.InvariantCulture,
            $"  {_phase}: {done:N0} of {_total:N0} {_unit}, {elapsed.TotalSeconds.ToString(secondsFormat, CultureInfo.InvariantCulture)} s");
        return _showRate && elapsed > TimeSpan.Zero
            ? string.Create(CultureInfo.InvariantCulture, $"{line}, {done / elapsed.TotalSeconds:F1}/s")
            : line;
    }

    private void Write(string line, bool endLine)
    {
        if (_inPlace)
        {
            // Pad over the rest of a longer previous line, which '\r' alone leaves on the screen.
            _writer.Write("\r" + line.PadRight(_width));
            _width = line.Length;
        }
        else
        {
            _writer.Write(line);
        }

        if (endLine)
        {
            _writer.WriteLine();
        }

        _writer.Flush();
    }

    private static void InterlockedMax(ref long target, long value)
    {
        long seen = Volatile.Read(ref target);
        while (value > seen)
        {
            long previous = Interlocked.CompareExchange(ref target, value, seen);
            if (previous == seen)
            {
                return;
            }

            seen = previous;
        }
    }
}
