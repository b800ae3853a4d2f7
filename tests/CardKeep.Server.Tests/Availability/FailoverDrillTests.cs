using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CardKeep.Client.Availability;
using CardKeep.Server.Tests.Harness;
using Xunit.Abstractions;

namespace CardKeep.Server.Tests.Availability;

/// <summary>
/// The backup-server drill of docs/operations.md: a CardKeep server in front of a primary PostgreSQL and another in
/// front of its synchronous standby (answering 503 while read-only). Several clients write steadily through their
/// server pools; the primary (server and database) is killed, the standby promoted, the clients move over. Every
/// acknowledged write must be on the promoted database; the clients' errors and the length of the switch are reported
/// and bounded.
/// </summary>
public sealed class FailoverDrillTests(ITestOutputHelper output)
{
    private const int Clients = 4;

    private static readonly object Grant = new { roles = new[] { "reader" } };

    private static readonly ServerPoolOptions Probes = new() { ProbeInterval = TimeSpan.FromMilliseconds(200), ProbeTimeout = TimeSpan.FromSeconds(2), AttemptTimeout = TimeSpan.FromSeconds(5) };

    private static Action<Dictionary<string, string?>> Settings(string directory) => s =>
    {
        s["DataDirectory"] = directory;
        s["Storage:ProbeSeconds"] = "0.2";
        s["Storage:ConnectTimeoutSeconds"] = "2";
        s["Storage:CommandTimeoutSeconds"] = "5";
    };

    [Fact]
    public async Task PrimaryKilled_StandbyPromoted_NoAcknowledgedWriteLost_ClientErrorsBounded()
    {
        await using var databases = await ReplicatedPostgres.StartAsync();
        var shared = Directory.CreateTempSubdirectory("cardkeep-drill-").FullName; // secret.key and admin.token, as both servers must share them
        var primary = await TestServer.StartAsync(databases.Primary.ConnectionString(ReplicatedPostgres.Database), Settings(shared));
        await using var standby = await TestServer.StartAsync(databases.Standby.ConnectionString(ReplicatedPostgres.Database), Settings(shared));

        // The standby's server says why it cannot serve.
        using (var health = await standby.Http.GetAsync(new Uri(standby.Url, "health")))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, health.StatusCode);
            Assert.Contains("read-only", await health.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        using (var refused = await standby.AdminAsync(HttpMethod.Put, "admin/users/early/entitlements/wiki", Grant))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            Assert.NotNull(refused.Headers.RetryAfter);
            Assert.Contains("read-only", (await refused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString(), StringComparison.Ordinal);
        }

        var acknowledged = new ConcurrentBag<(string User, TimeSpan At)>();
        var errors = new ConcurrentBag<(int Client, TimeSpan At, string What)>();
        var clock = Stopwatch.StartNew();
        using var stop = new CancellationTokenSource();
        var pools = Enumerable.Range(0, Clients).Select(_ => new ServerPool([primary.Url, standby.Url], Probes)).ToArray();
        var writers = pools.Select((pool, client) => Task.Run(async () =>
        {
            pool.Start();
            using var http = pool.CreateClient();
            http.DefaultRequestHeaders.Authorization = new("Bearer", primary.AdminToken);
            for (int i = 0; !stop.IsCancellationRequested; i++)
            {
                string user = $"c{client}-{i}";
                try
                {
                    using var response = await http.PutAsJsonAsync(new Uri($"admin/users/{user}/entitlements/wiki", UriKind.Relative), Grant);
                    if (response.StatusCode == HttpStatusCode.OK)
                    {
                        acknowledged.Add((user, clock.Elapsed));
                        continue;
                    }

                    errors.Add((client, clock.Elapsed, $"{(int)response.StatusCode}"));
                }
                catch (HttpRequestException e)
                {
                    errors.Add((client, clock.Elapsed, e.HttpRequestError.ToString()));
                }

                await Task.Delay(100); // a client backs off a little after an error
            }
        })).ToArray();

        await WaitForAsync(() => acknowledged.Count >= 200, "steady writes through the primary");
        var killedAt = clock.Elapsed;
        int ackedBeforeKill = acknowledged.Count;
        await Task.WhenAll(primary.KillAsync(), databases.Primary.StopImmediateAsync()); // the primary host is gone
        await databases.PromoteAsync();
        var promotedAt = clock.Elapsed;
        await WaitForAsync(() => acknowledged.Count(a => a.At > promotedAt) >= 200, "steady writes through the promoted standby");
        await stop.CancelAsync();
        await Task.WhenAll(writers);
        foreach (var pool in pools)
        {
            Assert.Equal(standby.Url, pool.Current);
            pool.Dispose();
        }

        var stored = await ReplicatedPostgres.ColumnAsync(databases.Standby, "SELECT username FROM entitlements WHERE application = 'wiki'");
        var lost = acknowledged.Select(a => a.User).Where(u => !stored.Contains(u)).ToList();
        var times = acknowledged.Select(a => a.At).Order().ToArray();
        var outage = times.Zip(times.Skip(1), (a, b) => b - a).Max(); // the longest time in which no client got a write acknowledged
        string report = $"failover drill: {Clients} clients, {acknowledged.Count} acknowledged writes ({ackedBeforeKill} before the kill), " +
            $"{lost.Count} lost; {errors.Count} client errors ({string.Join(", ", errors.GroupBy(e => e.What).Select(g => $"{g.Count()}× {g.Key}"))}); " +
            $"promotion took {(promotedAt - killedAt).TotalSeconds:0.00} s; longest time without an acknowledged write {outage.TotalSeconds:0.00} s; " +
            $"errors per client at most {errors.GroupBy(e => e.Client).Select(g => g.Count()).DefaultIfEmpty(0).Max()}";
        output.WriteLine(report);
        if (Environment.GetEnvironmentVariable("CARDKEEP_TEST_ARTIFACTS") is { Length: > 0 } artifacts)
        {
            Directory.CreateDirectory(artifacts);
            await File.AppendAllTextAsync(Path.Combine(artifacts, "failover-drill.txt"), report + "\n");
        }

        Assert.Empty(lost);
        Assert.True(outage < TimeSpan.FromSeconds(20), report);
        Assert.True(errors.Count <= Clients * 200, report);
        Assert.All(errors, e => Assert.True(e.At >= killedAt, $"an error before the kill: {e.What}"));
        Directory.Delete(shared, true);
    }

    private static async Task WaitForAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for: {what}");
            await Task.Delay(50);
        }
    }
}
