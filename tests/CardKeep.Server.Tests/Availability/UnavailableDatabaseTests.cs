using System.Diagnostics;
using System.Security.Cryptography;
using CardKeep.Client;
using CardKeep.Client.Tokens;
using CardKeep.Protocol;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using CardKeep.Server.Tests.Harness;
using Microsoft.Data.Sqlite;

namespace CardKeep.Server.Tests.Availability;

/// <summary>A server whose database is unreachable answers 503 with Retry-After and a JSON problem, quickly, and recovers by itself.</summary>
public sealed class UnavailableDatabaseTests
{
    private static void Fast(Dictionary<string, string?> s)
    {
        s["Storage:ProbeSeconds"] = "0.2";
        s["Storage:ConnectTimeoutSeconds"] = "1";
        s["Storage:CommandTimeoutSeconds"] = "2";
        s["Storage:RetryAfterSeconds"] = "7";
    }

    /// <summary>Checks one 503: status, Retry-After, problem JSON with a reason, and how long it took.</summary>
    private static async Task AssertUnavailableAsync(TestServer server, string expectedReason)
    {
        var watch = Stopwatch.StartNew();
        using var response = await server.AdminAsync(HttpMethod.Get, "admin/users/alice/entitlements", null);
        watch.Stop();
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(7), response.Headers.RetryAfter?.Delta);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(503, problem.GetProperty("status").GetInt32());
        Assert.Contains(expectedReason, problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"503 took {watch.Elapsed}");

        using var health = await server.Http.GetAsync(new Uri(server.Url, "health"));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, health.StatusCode);
        Assert.Equal("unhealthy", (await health.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("status").GetString());
    }

    private static async Task AssertServesAgainAsync(TestServer server)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            using var response = await server.AdminAsync(HttpMethod.Get, "admin/users/alice/entitlements", null);
            if (response.StatusCode == HttpStatusCode.OK)
            {
                Assert.Contains("wiki", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
                return;
            }

            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.True(DateTime.UtcNow < deadline, "the server did not come back after the database did");
            await Task.Delay(100);
        }
    }

    [Fact]
    public async Task Sqlite_FileGone_503ThenBackWhenFileReturns()
    {
        var root = Directory.CreateTempSubdirectory("cardkeep-sqlite-gone-").FullName;
        string folder = Path.Combine(root, "db");
        await using (var server = await TestServer.StartAsync($"Data Source={Path.Combine(folder, "cardkeep.db")}", Fast))
        {
            await server.GrantAsync("alice", "wiki", ["reader"]);
            Directory.Move(folder, folder + ".away");
            SqliteConnection.ClearAllPools(); // as after a restart or a lost mount: open handles go, the path no longer resolves
            await AssertUnavailableAsync(server, "cannot be opened");
            Assert.False(Directory.Exists(folder), "the server must not re-create an empty database where the file was");
            Assert.Contains(server.Logs.Lines, l => l.Contains("answered 503", StringComparison.Ordinal) || l.Contains("answering 503", StringComparison.Ordinal));

            // A TRK1 client is told the server is unavailable (not that it refused the message).
            using var client = new Trk1Client(server.Url);
            var e = await Assert.ThrowsAsync<HttpRequestException>(() =>
                client.RegisterRawAsync(new TokenIdentity(RandomNumberGenerator.GetBytes(16), TestPki.Issuer), Trk1Suite.E, "alice", "code"));
            Assert.Equal(HttpStatusCode.ServiceUnavailable, e.StatusCode);

            Directory.Move(folder + ".away", folder);
            await AssertServesAgainAsync(server);
        }

        Directory.Delete(root, true);
    }

    [Fact]
    public async Task Postgres_ClusterStopped_503ThenBackWhenStarted()
    {
        await using var cluster = new OwnCluster();
        await cluster.InitializeAsync();
        await using var server = await TestServer.StartAsync(await cluster.CreateDatabaseAsync(), Fast);
        await server.GrantAsync("alice", "wiki", ["reader"]);

        await cluster.StopImmediateAsync();
        await AssertUnavailableAsync(server, "database");

        await cluster.StartAsync();
        await AssertServesAgainAsync(server);
    }

    [Fact]
    public async Task Postgres_HostNeverAnswers_ServerStartsAndAnswers503WithinTheConnectTimeout()
    {
        // A listener that accepts and never speaks: the PostgreSQL host is "up" but stuck.
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var accepted = new List<TcpClient>();
        var accepting = Task.Run(async () =>
        {
            while (true)
            {
                try
                {
                    accepted.Add(await silent.AcceptTcpClientAsync());
                }
                catch (Exception e) when (e is SocketException or ObjectDisposedException)
                {
                    return;
                }
            }
        });
        int port = ((IPEndPoint)silent.LocalEndpoint).Port;
        var watch = Stopwatch.StartNew();
        await using (var server = await TestServer.StartAsync($"Host=127.0.0.1;Port={port};Username=postgres;Database=none", Fast))
        {
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), $"start took {watch.Elapsed}");
            await AssertUnavailableAsync(server, "not migrated");
        }

        silent.Stop();
        await accepting;
        accepted.ForEach(c => c.Dispose());
    }

    /// <summary>A cluster of this test's own, so that stopping it disturbs no other test.</summary>
    private sealed class OwnCluster : PostgresCluster, IAsyncDisposable
    {
        ValueTask IAsyncDisposable.DisposeAsync() => new(DisposeAsync());
    }
}
