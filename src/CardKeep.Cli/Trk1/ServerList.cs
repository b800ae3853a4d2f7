using CardKeep.Client.Availability;

namespace CardKeep.Cli.Trk1;

/// <summary>
/// <c>--server URL[,URL…]</c> (or <c>CARDKEEP_SERVER</c>): one server, or a list of servers sharing one database. With
/// a list, every server's /health is measured once, requests go to the fastest healthy one and move to the next on a
/// refused connection, a timeout or a 503 (<see cref="ServerPool"/>). The first URL names the deployment: token
/// registrations are stored under it.
/// </summary>
internal sealed class ServerList : IDisposable
{
    private readonly ServerPool? _pool;

    private ServerList(Uri server, HttpClient http, ServerPool? pool)
    {
        Server = server;
        Http = http;
        _pool = pool;
    }

    /// <summary>The deployment's URL (the first of the list); requests are addressed under it.</summary>
    public Uri Server { get; }

    /// <summary>Sends to the chosen server.</summary>
    public HttpClient Http { get; }

    /// <summary>Parses the list and, for several servers, measures them.</summary>
    public static async Task<ServerList> OpenAsync(string value, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var urls = value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(Trk1Cli.ParseServer).ToArray();
        if (urls.Length == 0)
        {
            throw new UsageException("--server needs at least one URL");
        }

        if (urls.Length == 1)
        {
            return new ServerList(urls[0], new HttpClient { Timeout = timeout }, null);
        }

        var pool = new ServerPool(urls, new ServerPoolOptions { AttemptTimeout = timeout });
        await pool.ProbeAllAsync(cancellationToken).ConfigureAwait(false);
        var http = pool.CreateClient();
        http.Timeout = timeout * urls.Length;
        return new ServerList(urls[0], http, pool);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        Http.Dispose();
        _pool?.Dispose();
    }
}
