using System.Diagnostics;

/// <summary>
/// Progress on the console. On a terminal it rewrites one line in place with '\r'. When the output is redirected to a
/// file or a pipe, where '\r' erases nothing and every update would become a line of the log, it writes a line at
/// most once per <c>interval</c>, and <see cref="Complete"/> writes the final one.
/// </summary>
internal sealed class ConsoleProgress(Func<int, string> format, TimeSpan interval) : IProgress<int>
{
    private readonly Lock _lock = new();
    private readonly bool _inPlace = !Console.IsOutputRedirected;
    private long _lastLine = Stopwatch.GetTimestamp();
    private int _highest = -1;
    private int _width;

    public ConsoleProgress(Func<int, string> format)
        : this(format, TimeSpan.FromSeconds(3))
    {
    }

    /// <summary>Reports on the calling thread: Progress&lt;T&gt; would post to the thread pool, and a late post could print after the final line.</summary>
    public void Report(int value)
    {
        lock (_lock)
        {
            // AddRange reports from several threads at once, so a smaller count can arrive after a larger one.
            if (value <= _highest)
            {
                return;
            }

            _highest = value;
            if (_inPlace)
            {
                Write(format(value));
            }
            else if (Stopwatch.GetElapsedTime(_lastLine) >= interval)
            {
                _lastLine = Stopwatch.GetTimestamp();
                Console.WriteLine(format(value));
            }
        }
    }

    /// <summary>Replaces the progress line with <paramref name="message"/> on a terminal; a line of its own otherwise.</summary>
    public void Complete(string message)
    {
        lock (_lock)
        {
            if (_inPlace)
            {
                Write(message);
                Console.WriteLine();
            }
            else
            {
                Console.WriteLine(message);
            }
        }
    }

    private void Write(string text)
    {
        // Pad over the rest of a longer previous text, which '\r' alone leaves on the screen.
        Console.Write("\r" + text.PadRight(_width));
        _width = text.Length;
    }
}
