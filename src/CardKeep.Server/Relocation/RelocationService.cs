using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using CardKeep.Server.Hosting;
using CardKeep.Server.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace CardKeep.Server.Relocation;

/// <summary>Relocation settings (section <c>Relocation</c>). Relocation is off while <see cref="Region"/> is empty.</summary>
public sealed class RelocationOptions
{
    /// <summary>The region this deployment serves (e.g. "eu").</summary>
    public string? Region { get; set; }

    /// <summary>This server's URL as clients and peers reach it (sent to the target as the source).</summary>
    public string? PublicUrl { get; set; }

    /// <summary>Client address ranges (CIDR) → region, used when the client reports none (header X-CardKeep-Region).</summary>
    public Dictionary<string, string> Ranges { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Other regions' deployments by region name.</summary>
    public Dictionary<string, RelocationPeer> Peers { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Connections counted over this many days.</summary>
    public int WindowDays { get; set; } = 14;

    /// <summary>A user moves only after at least this many connections in the window…</summary>
    public int MinConnections { get; set; } = 20;

    /// <summary>…of which at least this share came from the other region.</summary>
    public double MinShare { get; set; } = 0.6;

    /// <summary>How often the server looks for users to move and resumes interrupted moves.</summary>
    public double CheckSeconds { get; set; } = 300;
}

/// <summary>Another region's deployment.</summary>
public sealed class RelocationPeer
{
    /// <summary>Its base URL.</summary>
    public string? Url { get; set; }

    /// <summary>Its admin token (give it through CARDKEEP_Relocation__Peers__REGION__AdminToken, not a file others read).</summary>
    public string? AdminToken { get; set; }
}

/// <summary>What the source sends the target.</summary>
/// <param name="Source">The source server's URL.</param>
/// <param name="Tables">The user's rows.</param>
public sealed record RelocationImport(string Source, Dictionary<string, List<Dictionary<string, string?>>> Tables);

/// <summary>The digest of what the target stored.</summary>
/// <param name="Digest">Hex SHA-256 (see <see cref="UserRows.Digest"/>).</param>
public sealed record RelocationDigest(string Digest);

/// <summary>
/// Moves a user's rows (every table of <see cref="UserTables"/>) to another region's server without downtime:
/// (1) state <c>copying</c>: the rows are read and sent; the target replaces whatever it had for the user, marks the user
/// incoming (it answers 503 for them) and returns the digest of what it stored; (2) <c>verified</c> when the digests
/// match; (3) hand-over in one transaction with writers held off: the rows are checked unchanged (else copy again),
/// deleted here, and the redirect recorded (<c>moved</c>): from now this server answers the user with 308 to the
/// target; (4) the target is told to serve the user (<c>done</c>). Until (3) this server serves the user; every step is
/// idempotent, so an interrupted move is simply run again (the monitor resumes it); a target that stores something
/// else is told to drop its copy (rolled back). At no time do both servers serve the user, nor does neither hold the rows.
/// </summary>
public sealed class RelocationService(IServerStore store, ServerOptions options, IHttpClientFactory httpFactory, TimeProvider clock, ILogger<RelocationService> logger)
{
    /// <summary>The HttpClient name for peer calls.</summary>
    public const string HttpClientName = "relocation";

    private RelocationOptions Settings => options.Relocation;

    /// <summary>Moves <paramref name="username"/> to <paramref name="region"/>'s deployment; true when done.</summary>
    public async Task<bool> RelocateAsync(string username, string region, CancellationToken cancellationToken)
    {
        var peer = Settings.Peers.GetValueOrDefault(region) ?? throw new InvalidOperationException($"no peer configured for region '{region}'");
        var target = new Uri(peer.Url!.EndsWith('/') ? peer.Url : peer.Url + "/");
        long now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        await store.SetRelocationStateAsync(username, target.AbsoluteUri, "copying", null, now, cancellationToken).ConfigureAwait(false);
        for (int attempt = 0; attempt < 5; attempt++)
        {
            var rows = await store.ExportUserAsync(username, cancellationToken).ConfigureAwait(false);
            if (rows.Tables["users"].Count == 0)
            {
                await store.SetRelocationStateAsync(username, target.AbsoluteUri, "aborted", null, now, cancellationToken).ConfigureAwait(false);
                return false;
            }

            string digest = rows.Digest();
            using var put = Request(HttpMethod.Put, target, username, peer, new RelocationImport(Settings.PublicUrl ?? string.Empty, rows.Tables.ToDictionary(t => t.Key, t => t.Value, StringComparer.Ordinal)));
            using var response = await Http().SendAsync(put, cancellationToken).ConfigureAwait(false);
            response.EnsureSuccessStatusCode();
            var stored = await response.Content.ReadFromJsonAsync<RelocationDigest>(cancellationToken).ConfigureAwait(false);
            if (stored?.Digest != digest)
            {
                using var abort = Request(HttpMethod.Delete, target, username, peer, null);
                using var aborted = await Http().SendAsync(abort, cancellationToken).ConfigureAwait(false);
                await store.SetRelocationStateAsync(username, target.AbsoluteUri, "aborted", null, now, cancellationToken).ConfigureAwait(false);
                Log.RelocationRolledBack(logger, username, region);
                return false;
            }

            await store.SetRelocationStateAsync(username, target.AbsoluteUri, "verified", digest, now, cancellationToken).ConfigureAwait(false);
            if (await store.HandOverAsync(username, digest, target.AbsoluteUri, clock.GetUtcNow().ToUnixTimeMilliseconds(), cancellationToken).ConfigureAwait(false))
            {
                await CommitAsync(username, target, peer, cancellationToken).ConfigureAwait(false);
                Log.Relocated(logger, username, region, rows.Tables.Sum(t => t.Value.Count));
                return true;
            }
        }

        return false; // the user kept changing: stays here, state copying, tried again later
    }

    /// <summary>Finishes or repeats every interrupted move.</summary>
    public async Task ResumeAsync(CancellationToken cancellationToken)
    {
        foreach (var (user, target, state) in await store.UnfinishedRelocationsAsync(cancellationToken).ConfigureAwait(false))
        {
            var (region, peer) = Settings.Peers.FirstOrDefault(p => p.Value.Url is { } u && new Uri(u.EndsWith('/') ? u : u + "/").AbsoluteUri == target);
            if (peer is null)
            {
                continue;
            }

            if (state == "moved")
            {
                await CommitAsync(user, new Uri(target), peer, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await RelocateAsync(user, region, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Users who connected mostly from another configured region over the window, and that region.</summary>
    public async Task<IReadOnlyList<(string User, string Region)>> CandidatesAsync(CancellationToken cancellationToken)
    {
        long today = clock.GetUtcNow().ToUnixTimeSeconds() / 86_400;
        var counts = await store.RegionCountsAsync(today - Settings.WindowDays + 1, cancellationToken).ConfigureAwait(false);
        var result = new List<(string, string)>();
        foreach (var user in counts.GroupBy(c => c.User))
        {
            long total = user.Sum(c => c.Connections);
            var top = user.MaxBy(c => c.Connections);
            if (total >= Settings.MinConnections && top.Region != Settings.Region && Settings.Peers.ContainsKey(top.Region)
                && top.Connections >= Settings.MinShare * total && await store.RelocatedToAsync(user.Key, cancellationToken).ConfigureAwait(false) is null)
            {
                result.Add((user.Key, top.Region));
            }
        }

        return result;
    }

    private async Task CommitAsync(string username, Uri target, RelocationPeer peer, CancellationToken cancellationToken)
    {
        using var commit = Request(HttpMethod.Post, target, username + "/commit", peer, null);
        using var response = await Http().SendAsync(commit, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode != HttpStatusCode.NotFound)
        {
            response.EnsureSuccessStatusCode(); // 404: already committed by an earlier attempt
        }

        await store.SetRelocationStateAsync(username, target.AbsoluteUri, "done", null, clock.GetUtcNow().ToUnixTimeMilliseconds(), cancellationToken).ConfigureAwait(false);
    }

    private HttpClient Http() => httpFactory.CreateClient(HttpClientName);

    private static HttpRequestMessage Request(HttpMethod method, Uri target, string path, RelocationPeer peer, object? body)
    {
        var request = new HttpRequestMessage(method, new Uri(target, "admin/relocation/" + path));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", peer.AdminToken);
        if (body is not null)
        {
            request.Content = JsonContent.Create(body);
        }

        return request;
    }

    /// <summary>The region of a request: the client's X-CardKeep-Region header, else the configured range holding its address.</summary>
    public string? RegionOf(string? header, IPAddress? address)
    {
        if (!string.IsNullOrEmpty(header))
        {
            return Protocol.Configuration.ConfigSchema.IsSafeName(header) ? header : null;
        }

        if (address is null)
        {
            return null;
        }

        address = address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
        foreach (var (range, region) in Settings.Ranges)
        {
            if (IPNetwork.TryParse(range, out var network) && network.Contains(address))
            {
                return region;
            }
        }

        return null;
    }

    /// <summary>Days since the epoch, now.</summary>
    public long Today => clock.GetUtcNow().ToUnixTimeSeconds() / 86_400;
}

/// <summary>Every <c>Relocation:CheckSeconds</c>: resumes interrupted moves, then moves the users who connect mostly from another region.</summary>
internal sealed class RelocationMonitor(RelocationService relocation, ServerOptions options, StorageGate gate, ILogger<RelocationMonitor> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (string.IsNullOrEmpty(options.Relocation.Region))
        {
            return;
        }

        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(Math.Max(0.05, options.Relocation.CheckSeconds)));
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                if (!gate.Open)
                {
                    continue;
                }

                try
                {
                    await relocation.ResumeAsync(stoppingToken).ConfigureAwait(false);
                    foreach (var (user, region) in await relocation.CandidatesAsync(stoppingToken).ConfigureAwait(false))
                    {
                        await relocation.RelocateAsync(user, region, stoppingToken).ConfigureAwait(false);
                    }
                }
                catch (Exception e) when (e is HttpRequestException or System.Data.Common.DbException or InvalidOperationException or TaskCanceledException && !stoppingToken.IsCancellationRequested)
                {
                    Log.RelocationInterrupted(logger, e.GetType().Name, e.Message);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
