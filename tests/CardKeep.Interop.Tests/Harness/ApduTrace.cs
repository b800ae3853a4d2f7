using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace CardKeep.Interop.Tests.Harness;

/// <summary>
/// A logger for the applet that keeps its debug lines "PIV CLA INS P1 P2 -> SW" (headers and status words only):
/// the trace of what a client really sent, since the private pcscd does not log APDUs.
/// </summary>
public sealed class ApduTrace : ILogger
{
    private readonly ConcurrentQueue<string> _lines = new();

    /// <summary>"CLA INS P1 P2 -> SW" for every command so far, oldest first.</summary>
    public IReadOnlyList<string> Lines => [.. _lines];

    public void Clear() => _lines.Clear();

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Debug;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        ArgumentNullException.ThrowIfNull(formatter);
        string message = formatter(state, exception);
        _lines.Enqueue(message.StartsWith("PIV ", StringComparison.Ordinal) && message.Contains(" -> ", StringComparison.Ordinal)
            ? message[4..]
            : message);
    }
}
