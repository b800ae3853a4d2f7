using CardKeep.Cards;
using CardKeep.Manager;

namespace CardKeep.Ui.Services;

/// <summary>
/// The cards whose private area is open: opened with the PIN, they stay open (the PIV session verified; a VSC unlocked
/// and locked against other CardKeep processes) until closed, until the card leaves its reader, or after
/// <see cref="IdleTimeout"/> without use. The PIN itself is never kept. Every card operation of the UI goes through
/// <see cref="Use{T}"/>, one at a time: an open card is used as it is, any other is opened for the call and closed.
/// </summary>
public sealed class CardSessions : IDisposable
{
    private readonly Lock _lock = new();
    private readonly CardDirectory _directory;
    private readonly Dictionary<string, OpenCard> _open = new(StringComparer.Ordinal);
    private readonly Timer _expiry;

    public CardSessions(CardDirectory directory, TimeSpan? idleTimeout = null)
    {
        ArgumentNullException.ThrowIfNull(directory);
        _directory = directory;
        IdleTimeout = idleTimeout ?? TimeSpan.FromMinutes(5);
        _expiry = new Timer(_ => CloseIdle(), null, TimeSpan.FromSeconds(15), TimeSpan.FromSeconds(15));
    }

    public TimeSpan IdleTimeout { get; }

    private sealed class OpenCard(ICardObjects card)
    {
        public ICardObjects Card { get; } = card;

        public DateTimeOffset LastUsed { get; set; } = DateTimeOffset.UtcNow;
    }

    /// <summary>True when the card's private area is open.</summary>
    public bool IsOpen(string address)
    {
        lock (_lock)
        {
            return _open.ContainsKey(address);
        }
    }

    /// <summary>
    /// Runs <paramref name="action"/> on the card: the open one when its private area is open, else one opened for this
    /// call. A card that went away or was reset under an open session is closed, and the error passed on.
    /// </summary>
    public T Use<T>(string address, Func<ICardObjects, T> action)
    {
        ArgumentNullException.ThrowIfNull(action);
        lock (_lock)
        {
            if (_open.TryGetValue(address, out var open))
            {
                open.LastUsed = DateTimeOffset.UtcNow;
                try
                {
                    return action(open.Card);
                }
                catch (CardException)
                {
                    CloseLocked(address);
                    throw;
                }
            }

            using var card = _directory.Open(address);
            return action(card);
        }
    }

    /// <summary>Opens the card's private area with <paramref name="pin"/>; a wrong PIN throws <see cref="PinException"/>.</summary>
    public void Unlock(string address, ReadOnlySpan<byte> pin)
    {
        lock (_lock)
        {
            CloseLocked(address);
            var card = _directory.Open(address);
            try
            {
                card.Unlock(pin);
            }
            catch
            {
                card.Dispose();
                throw;
            }

            _open[address] = new OpenCard(card);
        }
    }

    /// <summary>Closes the card's private area (nothing happens when it is not open).</summary>
    public void Close(string address)
    {
        lock (_lock)
        {
            CloseLocked(address);
        }
    }

    /// <summary>Closes the session of the card that was in <paramref name="reader"/>.</summary>
    public void CloseReader(string reader) => Close("reader:" + reader);

    private void CloseIdle()
    {
        lock (_lock)
        {
            foreach (string address in _open.Where(o => DateTimeOffset.UtcNow - o.Value.LastUsed > IdleTimeout).Select(o => o.Key).ToList())
            {
                CloseLocked(address);
            }
        }
    }

    private void CloseLocked(string address)
    {
        if (_open.Remove(address, out var open))
        {
            try
            {
                open.Card.Dispose();
            }
            catch (CardException)
            {
                // The card is gone already; nothing left to close.
            }
        }
    }

    public void Dispose()
    {
        _expiry.Dispose();
        lock (_lock)
        {
            foreach (string address in _open.Keys.ToList())
            {
                CloseLocked(address);
            }
        }
    }
}
