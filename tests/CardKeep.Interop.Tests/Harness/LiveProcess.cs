using System.Collections.Concurrent;
using System.Diagnostics;

namespace CardKeep.Interop.Tests.Harness;

/// <summary>A long-running child (e.g. <c>cardkeep monitor</c>) whose output lines are read as they come.</summary>
public sealed class LiveProcess : IDisposable
{
    private readonly Process _process;
    private readonly BlockingCollection<string> _lines = [];
    private readonly List<string> _seen = [];

    private LiveProcess(Process process)
    {
        _process = process;
        _process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                _lines.Add(e.Data);
            }
        };
        _process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (_seen)
                {
                    _seen.Add("stderr: " + e.Data);
                }
            }
        };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public static LiveProcess Start(string fileName, params string[] args) => Start(fileName, args, null);

    public static LiveProcess Start(string fileName, IEnumerable<string> args, IDictionary<string, string?>? environment)
    {
        var info = new ProcessStartInfo(fileName) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in args)
        {
            info.ArgumentList.Add(a);
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string?>())
        {
            info.Environment[key] = value;
        }

        return new LiveProcess(Process.Start(info) ?? throw new InvalidOperationException($"could not start {fileName}"));
    }

    /// <summary>Returns the first line (from now on) that satisfies <paramref name="match"/>, or throws after <paramref name="timeout"/>.</summary>
    public string WaitForLine(Func<string, bool> match, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero || !_lines.TryTake(out string? line, left))
            {
                lock (_seen)
                {
                    throw new TimeoutException($"no matching line within {timeout.TotalSeconds} s; output so far:\n{string.Join('\n', _seen)}");
                }
            }

            lock (_seen)
            {
                _seen.Add(line);
            }

            if (match(line))
            {
                return line;
            }
        }
    }

    /// <summary>Kills the process at once (SIGKILL), as a crash or an out-of-memory kill would.</summary>
    public void Kill()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }

        _process.Dispose();
        _lines.Dispose();
    }
}
