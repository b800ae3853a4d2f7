using System.Collections.Concurrent;

namespace CardKeep.Server.Hosting;

/// <summary>
/// Server nonces and half-finished exchanges by sid (spec §2.5): bounded, expiring, and each entry is taken out on
/// first use, so a replayed message finds nothing. Expired entries are swept every few seconds (and disposed).
/// </summary>
/// <typeparam name="T">The state kept.</typeparam>
public sealed class PendingCache<T> : IDisposable
    where T : class
{
    private readonly ConcurrentDictionary<string, (T Value, DateTimeOffset Expires)> _entries = new(StringComparer.Ordinal);
    private readonly TimeProvider _clock;
    private readonly int _capacity;
    private readonly ITimer _sweeper;

    /// <summary>Creates a cache holding at most <paramref name="capacity"/> entries.</summary>
    public PendingCache(TimeProvider clock, int capacity)
    {
        _clock = clock ?? throw new ArgumentNullException(nameof(clock));
        _capacity = capacity;
        _sweeper = clock.CreateTimer(_ => Sweep(), null, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(5));
    }

    /// <summary>Entries held.</summary>
    public int Count => _entries.Count;

    /// <summary>Adds; false when full (the caller refuses the request).</summary>
    public bool TryAdd(ReadOnlySpan<byte> sid, T value, DateTimeOffset expires)
    {
        if (_entries.Count >= _capacity)
        {
            Sweep();
            if (_entries.Count >= _capacity)
            {
                return false;
            }
        }

        return _entries.TryAdd(Convert.ToHexString(sid), (value, expires));
    }

    /// <summary>Removes and returns the entry for <paramref name="sid"/>, or null when absent or expired.</summary>
    public T? TryTake(ReadOnlySpan<byte> sid)
    {
        if (!_entries.TryRemove(Convert.ToHexString(sid), out var entry))
        {
            return null;
        }

        if (_clock.GetUtcNow() >= entry.Expires)
        {
            Release(entry.Value);
            return null;
        }

        return entry.Value;
    }

    /// <summary>Returns the entry without removing it, or null when absent or expired.</summary>
    public T? Peek(ReadOnlySpan<byte> sid)
    {
        string key = Convert.ToHexString(sid);
        if (!_entries.TryGetValue(key, out var entry))
        {
            return null;
        }

        if (_clock.GetUtcNow() >= entry.Expires)
        {
            if (_entries.TryRemove(key, out var removed))
            {
                Release(removed.Value);
            }

            return null;
        }

        return entry.Value;
    }

    /// <summary>Moves an entry's expiry (sessions: idle timeout).</summary>
    public void Touch(ReadOnlySpan<byte> sid, DateTimeOffset expires)
    {
        string key = Convert.ToHexString(sid);
        if (_entries.TryGetValue(key, out var entry))
        {
            _entries.TryUpdate(key, (entry.Value, expires), entry);
        }
    }

    /// <summary>Removes (and disposes) an entry.</summary>
    public void Remove(ReadOnlySpan<byte> sid)
    {
        if (_entries.TryRemove(Convert.ToHexString(sid), out var entry))
        {
            Release(entry.Value);
        }
    }

    private void Sweep()
    {
        var now = _clock.GetUtcNow();
        foreach (var (key, entry) in _entries)
        {
            if (now >= entry.Expires && _entries.TryRemove(key, out var removed))
            {
                Release(removed.Value);
            }
        }
    }

    private static void Release(T value) => (value as IDisposable)?.Dispose();

    /// <inheritdoc/>
    public void Dispose()
    {
        _sweeper.Dispose();
        foreach (var key in _entries.Keys)
        {
            if (_entries.TryRemove(key, out var entry))
            {
                Release(entry.Value);
            }
        }
    }
}
