using System.Diagnostics;

namespace SemanticSearch;

/// <summary>
/// A progress bar. On a terminal it redraws one line in place; when the output is redirected (a log, a pipe), where a
/// carriage return erases nothing, it prints a line every few seconds instead.
/// </summary>
internal sealed class ConsoleProgress(int total, string label)
{
    private static readonly TimeSpan s_lineInterval = TimeSpan.FromSeconds(5);
    private readonly bool _inPlace = !Console.IsOutputRedirected;
    private readonly Stopwatch _watch = Stopwatch.StartNew();
    private TimeSpan _lastLine;

    public void Report(int done)
    {
        double seconds = _watch.Elapsed.TotalSeconds;
        double rate = seconds > 0 ? done / seconds : 0;
        string eta = rate > 0 && done < total ? $", {TimeSpan.FromSeconds((total - done) / rate):m\\:ss} left" : string.Empty;
        string numbers = $"{done:N0}/{total:N0} {label}, {rate:N0}/s{eta}";
        if (_inPlace)
        {
            const int Width = 30;
            int filled = total == 0 ? Width : (int)((long)done * Width / total);
            Console.Write($"\r[{new string('#', filled)}{new string('.', Width - filled)}] {numbers}   ");
        }
        else if (_watch.Elapsed - _lastLine >= s_lineInterval || done == total)
        {
            _lastLine = _watch.Elapsed;
            Console.WriteLine(numbers);
        }
    }

    public void Complete()
    {
        if (_inPlace)
        {
            Console.WriteLine();
        }
    }
}
