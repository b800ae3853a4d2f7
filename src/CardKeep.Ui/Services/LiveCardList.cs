using CardKeep.Cards.PcSc;
using CardKeep.Manager;

namespace CardKeep.Ui.Services;

/// <summary>
/// The list of every card CardKeep can reach (<see cref="CardDirectory.List"/>), kept current without polling: a
/// <see cref="CardMonitor"/> reports cards put into and taken out of readers, and a <see cref="FileSystemWatcher"/> on
/// the VSC store folder reports VSCs created, changed, imported or deleted. A reader card is described (PIV serial,
/// label) once when it arrives, not on every change, so an open PIV session is not disturbed by listing.
/// </summary>
public sealed class LiveCardList : IDisposable
{
    private static readonly TimeSpan _storeSettle = TimeSpan.FromMilliseconds(150);
    private readonly Lock _lock = new();
    private readonly CardDirectory _directory;
    private readonly CardMonitor _monitor = new();
    private readonly Dictionary<string, CardEntry> _readers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _readerGeneration = new(StringComparer.Ordinal);
    private readonly Timer _storeTimer;
    private FileSystemWatcher? _watcher;
    private IReadOnlyList<CardEntry> _vscs = [];
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _version;
    private string? _pcscProblem;

    public LiveCardList(CardDirectory directory)
    {
        ArgumentNullException.ThrowIfNull(directory);
        _directory = directory;
        _storeTimer = new Timer(_ => RefreshVscs());
    }

    /// <summary>Raised (on a worker thread) when the card in a reader is removed; the argument is the reader name.</summary>
    public event EventHandler<string>? ReaderCardRemoved;

    /// <summary>Counts changes; <see cref="WaitForChangeAsync"/> waits for it to pass a value.</summary>
    public long Version => Interlocked.Read(ref _version);

    /// <summary>Why reader cards cannot be listed (pcscd not running), or null.</summary>
    public string? PcscProblem
    {
        get
        {
            lock (_lock)
            {
                return _pcscProblem;
            }
        }
    }

    /// <summary>Reader cards (by reader name), then VSCs (by file name).</summary>
    public IReadOnlyList<CardEntry> Current
    {
        get
        {
            lock (_lock)
            {
                return [.. _readers.OrderBy(r => r.Key, StringComparer.Ordinal).Select(r => r.Value), .. _vscs];
            }
        }
    }

    public void Start()
    {
        string folder = _directory.Store.DirectoryPath;
        Directory.CreateDirectory(folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        RefreshVscs();
        _watcher = new FileSystemWatcher(folder)
        {
            NotifyFilter = NotifyFilters.FileName | NotifyFilters.LastWrite | NotifyFilters.Size,
            IncludeSubdirectories = false,
        };
        _watcher.Created += OnStoreChanged;
        _watcher.Changed += OnStoreChanged;
        _watcher.Deleted += OnStoreChanged;
        _watcher.Renamed += OnStoreChanged;
        _watcher.EnableRaisingEvents = true;

        _monitor.Changed += OnCardEvent;
        _monitor.Failed += (_, e) => SetPcscProblem("pcscd is not running: cards in readers are not listed (" + e.Message + ")");
        _monitor.Ready += (_, _) => SetPcscProblem(null);
        _monitor.Start(reportPresent: true);
    }

    /// <summary>Completes when <see cref="Version"/> differs from <paramref name="seen"/> (or the token is cancelled).</summary>
    public Task WaitForChangeAsync(long seen, CancellationToken cancellationToken)
    {
        Task changed;
        lock (_lock)
        {
            if (Version != seen)
            {
                return Task.CompletedTask;
            }

            changed = _changed.Task;
        }

        return changed.WaitAsync(cancellationToken);
    }

    /// <summary>Reads the store again now (after an action of the UI itself changed it).</summary>
    public void RefreshVscs()
    {
        IReadOnlyList<CardEntry> vscs;
        try
        {
            vscs = _directory.List(includeReaders: false);
        }
        catch (IOException)
        {
            // A file went away while it was read; the watcher reports it and the next refresh sees the folder settled.
            return;
        }

        lock (_lock)
        {
            if (vscs.SequenceEqual(_vscs))
            {
                return;
            }

            _vscs = vscs;
            BumpLocked();
        }
    }

    private void OnStoreChanged(object sender, FileSystemEventArgs e)
    {
        // Lock files and atomic-write temporaries come and go too; a short settle time folds a save into one refresh.
        if (e.Name is { } name && name.EndsWith(".lock", StringComparison.Ordinal))
        {
            return;
        }

        _storeTimer.Change(_storeSettle, Timeout.InfiniteTimeSpan);
    }

    private void OnCardEvent(object? sender, CardEvent e)
    {
        int generation;
        lock (_lock)
        {
            generation = _readerGeneration[e.Reader] = _readerGeneration.GetValueOrDefault(e.Reader) + 1;
            if (e.Kind is CardEventKind.CardRemoved or CardEventKind.ReaderDetached && _readers.Remove(e.Reader))
            {
                BumpLocked();
            }
        }

        if (e.Kind is CardEventKind.CardRemoved or CardEventKind.ReaderDetached)
        {
            ReaderCardRemoved?.Invoke(this, e.Reader);
            return;
        }

        if (e.Kind == CardEventKind.CardInserted)
        {
            // Describing talks to the card: off the monitor thread, and dropped if the card left meanwhile.
            _ = Task.Run(() =>
            {
                var entry = CardDirectory.DescribeReader(e.Reader);
                lock (_lock)
                {
                    if (entry is not null && _readerGeneration.GetValueOrDefault(e.Reader) == generation)
                    {
                        _readers[e.Reader] = entry;
                        BumpLocked();
                    }
                }
            });
        }
    }

    private void SetPcscProblem(string? problem)
    {
        lock (_lock)
        {
            if (_pcscProblem != problem)
            {
                _pcscProblem = problem;
                if (problem is not null)
                {
                    _readers.Clear();
                }

                BumpLocked();
            }
        }
    }

    private void BumpLocked()
    {
        Interlocked.Increment(ref _version);
        var done = _changed;
        _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        done.SetResult();
    }

    public void Dispose()
    {
        _monitor.Dispose();
        _watcher?.Dispose();
        _storeTimer.Dispose();
    }
}
