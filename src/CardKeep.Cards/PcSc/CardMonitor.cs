namespace CardKeep.Cards.PcSc;

public enum CardEventKind
{
    CardInserted,
    CardRemoved,
    ReaderAttached,
    ReaderDetached,
}

/// <summary>One change seen by <see cref="CardMonitor"/>. <see cref="Atr"/> is empty for removals and reader events.</summary>
public sealed record CardEvent(CardEventKind Kind, string Reader, ReadOnlyMemory<byte> Atr, DateTimeOffset At)
{
    public string AtrHex => Convert.ToHexString(Atr.Span);
}

/// <summary>
/// Watches every PC/SC reader on its own context and thread and raises <see cref="Changed"/> for card
/// insertions and removals and for readers that come and go. Blocking waits are ended with SCardCancel, so
/// <see cref="Dispose"/> (or cancelling the token given to <see cref="Start"/>) returns promptly.
/// When pcscd goes away the monitor reports <see cref="Failed"/> and keeps trying to reconnect once a second.
/// </summary>
public sealed class CardMonitor : IDisposable
{
    private readonly Lock _lock = new();
    private readonly CancellationTokenSource _stop = new();
    private Thread? _thread;
    private PcscContext? _context;

    /// <summary>Raised on the monitor thread for every change. Handlers must not block for long.</summary>
    public event EventHandler<CardEvent>? Changed;

    /// <summary>Raised on the monitor thread when pcscd cannot be reached; the monitor keeps retrying.</summary>
    public event EventHandler<PcscException>? Failed;

    /// <summary>Raised once the monitor has read the initial state of every reader.</summary>
    public event EventHandler? Ready;

    /// <summary>
    /// Starts watching. With <paramref name="reportPresent"/>, cards already in readers are reported as
    /// insertions first.
    /// </summary>
    public void Start(bool reportPresent = true, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            if (_thread is not null)
            {
                throw new InvalidOperationException("the monitor is already running");
            }

            cancellationToken.Register(Stop);
            _thread = new Thread(() => Run(reportPresent)) { IsBackground = true, Name = "cardkeep-pcsc-monitor" };
            _thread.Start();
        }
    }

    public void Stop()
    {
        _stop.Cancel();
        lock (_lock)
        {
            _context?.Cancel();
        }
    }

    private void Run(bool reportPresent)
    {
        bool first = true;
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                using var context = PcscContext.Establish();
                lock (_lock)
                {
                    _context = context;
                }

                if (_stop.IsCancellationRequested)
                {
                    return;
                }

                Watch(context, reportPresent && first);
                first = false;
            }
            catch (PcscCancelledException)
            {
                return;
            }
            catch (PcscException e)
            {
                if (_stop.IsCancellationRequested)
                {
                    return;
                }

                Failed?.Invoke(this, e);
                _stop.Token.WaitHandle.WaitOne(TimeSpan.FromSeconds(1));
            }
            finally
            {
                lock (_lock)
                {
                    _context = null;
                }
            }
        }
    }

    private void Watch(PcscContext context, bool reportPresent)
    {
        var names = new List<string>(context.ListReaders()) { NativeMethods.PnpNotification };
        var known = names.Select(_ => ReaderStates.Unaware).ToList();
        var present = new Dictionary<string, bool>(StringComparer.Ordinal);

        var initial = context.WaitForChange(names, known, TimeSpan.Zero) ?? [];
        for (int i = 0; i < initial.Count; i++)
        {
            known[i] = initial[i].State & ~ReaderStates.Changed;
            if (i < names.Count - 1)
            {
                present[names[i]] = initial[i].CardPresent;
                if (reportPresent && initial[i].CardPresent)
                {
                    Raise(CardEventKind.CardInserted, names[i], initial[i].Atr);
                }
            }
        }

        Ready?.Invoke(this, EventArgs.Empty);
        while (!_stop.IsCancellationRequested)
        {
            var statuses = context.WaitForChange(names, known, Timeout.InfiniteTimeSpan);
            if (statuses is null)
            {
                continue;
            }

            bool readersChanged = false;
            for (int i = 0; i < statuses.Count; i++)
            {
                var status = statuses[i];
                known[i] = status.State & ~ReaderStates.Changed;
                if (i == statuses.Count - 1)
                {
                    readersChanged |= (status.State & ReaderStates.Changed) != 0;
                    continue;
                }

                if ((status.State & (ReaderStates.Unknown | ReaderStates.Unavailable)) != 0)
                {
                    readersChanged = true;
                    continue;
                }

                bool was = present.GetValueOrDefault(status.Name);
                if (status.CardPresent != was)
                {
                    present[status.Name] = status.CardPresent;
                    Raise(status.CardPresent ? CardEventKind.CardInserted : CardEventKind.CardRemoved, status.Name, status.CardPresent ? status.Atr : ReadOnlyMemory<byte>.Empty);
                }
            }

            if (readersChanged)
            {
                var now = context.ListReaders();
                foreach (var gone in names.Take(names.Count - 1).Except(now).ToList())
                {
                    if (present.Remove(gone, out bool hadCard) && hadCard)
                    {
                        Raise(CardEventKind.CardRemoved, gone, ReadOnlyMemory<byte>.Empty);
                    }

                    Raise(CardEventKind.ReaderDetached, gone, ReadOnlyMemory<byte>.Empty);
                }

                var added = now.Except(names).ToList();
                foreach (var reader in added)
                {
                    Raise(CardEventKind.ReaderAttached, reader, ReadOnlyMemory<byte>.Empty);
                }

                var pnp = known[^1];
                var oldKnown = names.Zip(known).ToDictionary(p => p.First, p => p.Second, StringComparer.Ordinal);
                names = [.. now, NativeMethods.PnpNotification];
                known = [.. now.Select(r => added.Contains(r) ? ReaderStates.Unaware : oldKnown.GetValueOrDefault(r)), pnp];
            }
        }
    }

    private void Raise(CardEventKind kind, string reader, ReadOnlyMemory<byte> atr) =>
        Changed?.Invoke(this, new CardEvent(kind, reader, atr, DateTimeOffset.UtcNow));

    public void Dispose()
    {
        Stop();
        Thread? thread;
        lock (_lock)
        {
            thread = _thread;
        }

        thread?.Join(TimeSpan.FromSeconds(5));
        _stop.Dispose();
    }
}
