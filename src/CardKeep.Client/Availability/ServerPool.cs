using System.Diagnostics;
using System.Net;

namespace CardKeep.Client.Availability;

/// <summary>How a <see cref="ServerPool"/> measures and chooses.</summary>
public sealed record ServerPoolOptions
{
    /// <summary>How often the background loop probes every server's /health.</summary>
    public TimeSpan ProbeInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>A probe slower than this counts as a failure.</summary>
    public TimeSpan ProbeTimeout { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>One attempt of a request on one server gives up after this (then the next server is tried, for idempotent methods).</summary>
    public TimeSpan AttemptTimeout { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>Weight of a new response-time sample in the smoothed value (exponentially weighted moving average).</summary>
    public double Smoothing { get; init; } = 0.3;

    /// <summary>Another healthy server replaces the current one only when it is faster by this fraction (no flapping between equals).</summary>
    public double SwitchMargin { get; init; } = 0.2;

    /// <summary>…and by at least this much.</summary>
    public TimeSpan SwitchMinimum { get; init; } = TimeSpan.FromMilliseconds(2);
}

/// <summary>What the pool knows about one server.</summary>
/// <param name="Url">Base URL.</param>
/// <param name="Healthy">The last probe or request succeeded (a 503, a refused connection or a timeout make it unhealthy).</param>
/// <param name="ResponseTime">Smoothed /health response time; null before the first successful probe.</param>
/// <param name="LastError">Why it was last marked unhealthy.</param>
public sealed record ServerState(Uri Url, bool Healthy, TimeSpan? ResponseTime, string? LastError);

/// <summary>
/// A list of CardKeep servers that share one database (a primary and standbys, or several servers in front of one
/// PostgreSQL). Measures each server's /health response time (smoothed), sends requests to the fastest healthy one,
/// moves to the next on failure (connection refused, timeout, 503), keeps probing the others in the background and
/// returns to a better one once it has recovered. Requests go through <see cref="CreateHandler"/>: they are addressed to
/// any server of the list (the first, by convention) and the handler sends them to the chosen one.
/// </summary>
public sealed class ServerPool : IDisposable
{
    private readonly Lock _lock = new();
    private Entry[] _entries;
    private readonly HttpClient _probe;
    private readonly CancellationTokenSource _stop = new();
    private Task? _loop;
    private int _current;

    /// <summary>Creates the pool (no probe yet: call <see cref="ProbeAllAsync"/> or <see cref="Start"/>).</summary>
    public ServerPool(IEnumerable<Uri> servers, ServerPoolOptions? options = null, HttpMessageHandler? probeHandler = null)
    {
        ArgumentNullException.ThrowIfNull(servers);
        _entries = servers.Select(u => new Entry(Normalize(u))).ToArray();
        if (_entries.Length == 0)
        {
            throw new ArgumentException("a server pool needs at least one server", nameof(servers));
        }

        Options = options ?? new ServerPoolOptions();
        _probe = probeHandler is null ? new HttpClient() : new HttpClient(probeHandler, disposeHandler: false);
        _probe.Timeout = Timeout.InfiniteTimeSpan;
    }

    /// <summary>Settings.</summary>
    public ServerPoolOptions Options { get; }

    /// <summary>The servers, in list order.</summary>
    public IReadOnlyList<Uri> Servers => _entries.Select(e => e.Url).ToArray();

    /// <summary>The server requests go to now.</summary>
    public Uri Current
    {
        get
        {
            lock (_lock)
            {
                return _entries[_current].Url;
            }
        }
    }

    /// <summary>How many times the current server changed.</summary>
    public int Switches { get; private set; }

    /// <summary>Raised (on the thread that decided) when the current server changes: old, new.</summary>
    public event EventHandler<(Uri From, Uri To)>? Switched;

    /// <summary>A snapshot of every server's state, in list order.</summary>
    public IReadOnlyList<ServerState> States()
    {
        lock (_lock)
        {
            return _entries.Select(e => new ServerState(e.Url, e.Healthy, e.Smoothed, e.LastError)).ToArray();
        }
    }

    /// <summary>Probes every server at once and chooses.</summary>
    public async Task ProbeAllAsync(CancellationToken cancellationToken = default)
    {
        await Task.WhenAll(_entries.Select(e => ProbeAsync(e, cancellationToken))).ConfigureAwait(false);
        Choose();
    }

    /// <summary>Starts the background probe loop (every <see cref="ServerPoolOptions.ProbeInterval"/>).</summary>
    public void Start()
    {
        _loop ??= Task.Run(async () =>
        {
            using var timer = new PeriodicTimer(Options.ProbeInterval);
            do
            {
                try
                {
                    await ProbeAllAsync(_stop.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (_stop.IsCancellationRequested)
                {
                    return;
                }
            }
            while (await WaitAsync(timer).ConfigureAwait(false));
        });
    }

    private async Task<bool> WaitAsync(PeriodicTimer timer)
    {
        try
        {
            return await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>A handler that sends each request to the chosen server and fails over (wrap it in an HttpClient, give it to Trk1Client).</summary>
    public HttpMessageHandler CreateHandler(HttpMessageHandler? inner = null) => new ServerPoolHandler(this, inner ?? new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(2), AllowAutoRedirect = false });

    /// <summary>An HttpClient over <see cref="CreateHandler"/> whose BaseAddress is the first server.</summary>
    public HttpClient CreateClient() => new(CreateHandler()) { BaseAddress = _entries[0].Url, Timeout = Timeout.InfiniteTimeSpan };

    /// <summary>The servers to try for one request: the current one, then the other healthy ones by response time, then the rest.</summary>
    internal IReadOnlyList<Uri> Candidates()
    {
        lock (_lock)
        {
            var current = _entries[_current];
            return new[] { current }.Concat(_entries.Where(e => e != current).OrderBy(e => e.Healthy ? 0 : 1).ThenBy(e => e.Smoothed ?? TimeSpan.MaxValue))
                .Select(e => e.Url).ToArray();
        }
    }

    /// <summary>Marks <paramref name="server"/> unhealthy (a request failed there) and moves on.</summary>
    internal void ReportFailure(Uri server, string reason)
    {
        lock (_lock)
        {
            var entry = _entries.FirstOrDefault(e => e.Url == server);
            if (entry is null)
            {
                return;
            }

            entry.Healthy = false;
            entry.LastError = reason;
        }

        Choose();
    }

    /// <summary>
    /// A server answered that this user's records moved to <paramref name="server"/> (308 with CardKeep-Relocated):
    /// adds it to the list if new and makes it the current one.
    /// </summary>
    public void Relocate(Uri server)
    {
        var url = Normalize(server);
        (Uri From, Uri To)? change;
        lock (_lock)
        {
            var entry = _entries.FirstOrDefault(e => e.Url == url);
            if (entry is null)
            {
                entry = new Entry(url);
                _entries = [entry, .. _entries];
            }

            entry.Healthy = true;
            var from = _entries[_current].Url;
            _current = Array.IndexOf(_entries, entry);
            change = from == url ? null : (from, url);
            if (change is not null)
            {
                Switches++;
            }
        }

        if (change is { } c)
        {
            Switched?.Invoke(this, c);
        }
    }

    /// <summary>The server of the list whose base URL <paramref name="uri"/> is under; null if none.</summary>
    internal Uri? Owner(Uri uri)
    {
        lock (_lock)
        {
            return _entries.Select(e => e.Url).FirstOrDefault(u => u.IsBaseOf(uri));
        }
    }

    private async Task ProbeAsync(Entry entry, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Options.ProbeTimeout);
        var watch = Stopwatch.StartNew();
        string? error;
        try
        {
            using var response = await _probe.GetAsync(new Uri(entry.Url, "health"), HttpCompletionOption.ResponseContentRead, timeout.Token).ConfigureAwait(false);
            error = response.IsSuccessStatusCode ? null : $"/health answered {(int)response.StatusCode}";
        }
        catch (HttpRequestException e)
        {
            error = e.HttpRequestError == HttpRequestError.ConnectionError ? "connection failed" : e.Message;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            error = "timed out";
        }

        var elapsed = watch.Elapsed;
        lock (_lock)
        {
            entry.Healthy = error is null;
            entry.LastError = error;
            if (error is null)
            {
                entry.Smoothed = entry.Smoothed is { } old ? (Options.Smoothing * elapsed) + ((1 - Options.Smoothing) * old) : elapsed;
            }
        }
    }

    private void Choose()
    {
        (Uri From, Uri To)? change = null;
        lock (_lock)
        {
            var current = _entries[_current];
            var best = _entries.Where(e => e.Healthy && e.Smoothed is not null).OrderBy(e => e.Smoothed).FirstOrDefault()
                ?? _entries.FirstOrDefault(e => e.Healthy);
            if (best is not null && best != current)
            {
                bool better = !current.Healthy || current.Smoothed is null
                    || (best.Smoothed is { } b && b < (current.Smoothed.Value * (1 - Options.SwitchMargin)) && current.Smoothed.Value - b >= Options.SwitchMinimum);
                if (better)
                {
                    _current = Array.IndexOf(_entries, best);
                    Switches++;
                    change = (current.Url, best.Url);
                }
            }
        }

        if (change is { } c)
        {
            Switched?.Invoke(this, c);
        }
    }

    private static Uri Normalize(Uri uri)
    {
        ArgumentNullException.ThrowIfNull(uri);
        if (!uri.IsAbsoluteUri || uri.Scheme is not ("http" or "https"))
        {
            throw new ArgumentException($"'{uri}' is not an http(s) URL", nameof(uri));
        }

        return uri.AbsoluteUri.EndsWith('/') ? uri : new Uri(uri.AbsoluteUri + "/");
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _stop.Cancel();
        try
        {
            _loop?.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
        }

        _stop.Dispose();
        _probe.Dispose();
    }

    private sealed class Entry(Uri url)
    {
        public Uri Url { get; } = url;

        public bool Healthy { get; set; } = true;

        public TimeSpan? Smoothed { get; set; }

        public string? LastError { get; set; }
    }
}

/// <summary>
/// Sends each request to the pool's current server (the request's URL must be under one of the pool's servers; its
/// path relative to that server is kept). On a refused or failed connection, or a 503, it marks the server unhealthy
/// and tries the next one — the request never reached a database there. After a timeout it tries the next one only for
/// idempotent methods (GET, HEAD, PUT, DELETE, OPTIONS). When every server failed, the last answer (or error) stands.
/// A 308 with <c>CardKeep-Relocated</c> (the user's records moved to another regional server) adds that server to the
/// pool, makes it current and sends the request there.
/// </summary>
internal sealed class ServerPoolHandler(ServerPool pool, HttpMessageHandler inner) : DelegatingHandler(inner)
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var owner = request.RequestUri is { } uri ? pool.Owner(uri) : null;
        if (owner is null)
        {
            throw new InvalidOperationException($"{request.RequestUri} is not under any server of the pool");
        }

        string relative = owner.MakeRelativeUri(request.RequestUri!).OriginalString;
        byte[]? body = request.Content is null ? null : await request.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        bool idempotent = request.Method == HttpMethod.Get || request.Method == HttpMethod.Head || request.Method == HttpMethod.Put
            || request.Method == HttpMethod.Delete || request.Method == HttpMethod.Options;
        Exception? lastError = null;
        HttpResponseMessage? lastResponse = null;
        var candidates = new Queue<Uri>(pool.Candidates());
        int relocations = 0;
        while (candidates.TryDequeue(out var server))
        {
            using var attempt = Copy(request, new Uri(server, relative), body);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(pool.Options.AttemptTimeout);
            try
            {
                var response = await base.SendAsync(attempt, timeout.Token).ConfigureAwait(false);
                if (response.StatusCode == HttpStatusCode.PermanentRedirect && response.Headers.TryGetValues("CardKeep-Relocated", out var moved)
                    && Uri.TryCreate(moved.First(), UriKind.Absolute, out var movedTo) && relocations++ < 2)
                {
                    pool.Relocate(movedTo); // this user's records now live there: go there from now on
                    response.Dispose();
                    candidates = new Queue<Uri>(pool.Candidates());
                    continue;
                }

                if (response.StatusCode != HttpStatusCode.ServiceUnavailable)
                {
                    return response;
                }

                pool.ReportFailure(server, "503 from the server");
                lastResponse?.Dispose();
                lastResponse = response;
                lastError = null;
            }
            catch (HttpRequestException e)
            {
                pool.ReportFailure(server, e.HttpRequestError == HttpRequestError.ConnectionError ? "connection failed" : e.Message);
                lastError = e;
                if (e.HttpRequestError != HttpRequestError.ConnectionError && !idempotent)
                {
                    break; // the request may have reached the server: sending it again elsewhere could do it twice
                }
            }
            catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
            {
                pool.ReportFailure(server, "timed out");
                lastError = new TimeoutException($"{server} did not answer within {pool.Options.AttemptTimeout.TotalSeconds:0.#} s", e);
                if (!idempotent)
                {
                    break;
                }
            }
        }

        if (lastResponse is not null && lastError is null)
        {
            return lastResponse;
        }

        lastResponse?.Dispose();
        throw lastError is HttpRequestException http ? http : new HttpRequestException(lastError?.Message ?? "no server answered", lastError);
    }

    private static HttpRequestMessage Copy(HttpRequestMessage request, Uri target, byte[]? body)
    {
        var copy = new HttpRequestMessage(request.Method, target) { Version = request.Version, VersionPolicy = request.VersionPolicy };
        foreach (var header in request.Headers)
        {
            copy.Headers.TryAddWithoutValidation(header.Key, header.Value);
        }

        if (body is not null)
        {
            copy.Content = new ByteArrayContent(body);
            foreach (var header in request.Content!.Headers)
            {
                copy.Content.Headers.TryAddWithoutValidation(header.Key, header.Value);
            }
        }

        return copy;
    }
}
