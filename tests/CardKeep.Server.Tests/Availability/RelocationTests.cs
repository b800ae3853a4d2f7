using System.Net;
using System.Net.Http.Headers;
using CardKeep.Client.Availability;
using CardKeep.Server.Storage;
using CardKeep.Server.Tests.Harness;

namespace CardKeep.Server.Tests.Availability;

/// <summary>
/// Two regional deployments (server + SQLite database each): "us" (A) and "eu" (B). A user who connects mostly from
/// "eu" is moved to B: copied, verified, handed over; A then answers 308 and the client's pool moves to B. A move
/// interrupted by an unreachable target leaves the user served by A and completes once B is back. Runs on SQLite and
/// on PostgreSQL.
/// </summary>
public abstract class RelocationTests
{
    /// <summary>A new, empty database for one regional deployment (null: SQLite in its data folder).</summary>
    protected abstract Task<string?> DatabaseAsync();

    private static readonly string[] Reader = ["reader"];

    private sealed class Region : IAsyncDisposable
    {
        public required TestServer Server { get; set; }

        public required string Directory { get; init; }

        public required int Port { get; init; }

        public required string? Database { get; init; }

        public async ValueTask DisposeAsync()
        {
            await Server.DisposeAsync();
            System.IO.Directory.Delete(Directory, true);
        }
    }

    private async Task<Region> StartAsync(string region, Region? peer = null, string? peerRegion = null)
    {
        int p = PostgresCluster.FreePort();
        string dir = System.IO.Directory.CreateTempSubdirectory("cardkeep-region-").FullName;
        string? database = await DatabaseAsync();
        var server = await TestServer.StartAsync(database, s =>
        {
            s["DataDirectory"] = dir;
            s["Urls"] = $"http://127.0.0.1:{p}";
            s["Relocation:Region"] = region;
            s["Relocation:PublicUrl"] = $"http://127.0.0.1:{p}/";
            s["Relocation:MinConnections"] = "5";
            s["Relocation:MinShare"] = "0.6";
            s["Relocation:CheckSeconds"] = "0.2";
            s["Accounts:PasswordIterations"] = "1000";
            if (peer is not null)
            {
                s[$"Relocation:Peers:{peerRegion}:Url"] = $"http://127.0.0.1:{peer.Port}/";
                s[$"Relocation:Peers:{peerRegion}:AdminToken"] = peer.Server.AdminToken;
            }
        });
        return new Region { Server = server, Directory = dir, Port = p, Database = database };
    }

    /// <summary>Admin GETs for <paramref name="user"/> as that user's client would send them, reporting a region; no redirects followed.</summary>
    private static async Task<HttpResponseMessage> GetAsync(TestServer server, string user, string? region)
    {
        using var http = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false });
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(server.Url, $"admin/users/{user}/entitlements"));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", server.AdminToken);
        if (region is not null)
        {
            request.Headers.Add("X-CardKeep-Region", region);
        }

        return await http.SendAsync(request);
    }

    private static async Task<int> RowsAsync(TestServer server, string user) => (await server.Store.ExportUserAsync(user, default)).Tables.Sum(t => t.Value.Count);

    private static async Task WaitMovedAsync(Region from, string user)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            using var response = await GetAsync(from.Server, user, null);
            if (response.StatusCode == HttpStatusCode.PermanentRedirect)
            {
                return;
            }

            Assert.Equal(HttpStatusCode.OK, response.StatusCode); // served by the old server until the hand-over
            Assert.True(DateTime.UtcNow < deadline, $"{user} was not relocated");
            await Task.Delay(100);
        }
    }

    [Fact]
    public async Task UserConnectingFromOtherRegion_MovedVerifiedRedirected_ClientFollows()
    {
        await using var eu = await StartAsync("eu");
        await using var us = await StartAsync("us", peer: eu, peerRegion: "eu");
        await us.Server.GrantAsync("alice", "wiki", Reader);
        await us.Server.GrantAsync("alice", "mail", Reader);
        await us.Server.ActivationCodeAsync("alice");
        await us.Server.GrantAsync("bob", "wiki", Reader);
        int aliceRows = await RowsAsync(us.Server, "alice");
        string digest = (await us.Server.Store.ExportUserAsync("alice", default)).Digest();

        for (int i = 0; i < 6; i++)
        {
            using var response = await GetAsync(us.Server, "alice", "eu");
            Assert.True(response.StatusCode is HttpStatusCode.OK or HttpStatusCode.PermanentRedirect);
        }

        for (int i = 0; i < 6; i++)
        {
            using var response = await GetAsync(us.Server, "bob", "us");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        await WaitMovedAsync(us, "alice");
        using (var moved = await GetAsync(us.Server, "alice", null))
        {
            Assert.Equal(new Uri(eu.Server.Url, "admin/users/alice/entitlements"), moved.Headers.Location);
        }

        // Never doubled, never split: every row of alice's (and her region counts) is in eu, none left in us.
        Assert.Equal(0, await RowsAsync(us.Server, "alice"));
        Assert.True(await RowsAsync(eu.Server, "alice") >= aliceRows);
        Assert.Equal(["mail", "wiki"], (await eu.Server.Store.ListEntitlementsAsync("alice", default)).Select(e => e.Application));
        Assert.False(await eu.Server.Store.IsIncomingAsync("alice", default));
        Assert.NotEqual(digest, (await eu.Server.Store.ExportUserAsync("alice", default)).Digest()); // region counts grew after the first look
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(us.Server, "bob", null)).StatusCode); // bob stays in us

        // A client that only knew "us" follows the redirect and keeps using "eu".
        using var pool = new ServerPool([us.Server.Url]);
        using var http = pool.CreateClient();
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", eu.Server.AdminToken);
        using var followed = await http.GetAsync(new Uri("admin/users/alice/entitlements", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, followed.StatusCode);
        Assert.Contains("wiki", await followed.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(eu.Server.Url, pool.Current);
        Assert.Contains(us.Server.Logs.Lines, l => l.Contains("Relocated alice to region eu", StringComparison.Ordinal));
    }

    /// <summary>An account sign-in as a client sends it (JSON, region header); no redirects followed.</summary>
    private static async Task<HttpResponseMessage> SignInAsync(TestServer server, string user, string? region)
    {
        using var http = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false });
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(server.Url, "v1/account/login/password"))
        {
            Content = System.Net.Http.Json.JsonContent.Create(new { username = user, password = AccountApi.Password }),
        };
        if (region is not null)
        {
            request.Headers.Add("X-CardKeep-Region", region);
        }

        return await http.SendAsync(request);
    }

    [Fact]
    public async Task AccountHolder_SigningInFromOtherRegion_MovedWithCardsAuditAndRecords_SignInRedirected()
    {
        await using var eu = await StartAsync("eu");
        await using var us = await StartAsync("us", peer: eu, peerRegion: "eu");
        using var card = new TestCard("7170");
        await new AccountApi(us.Server).RegisterAsync("carol", card, "laptop", AccountApi.NewMachineSecret());
        string bearer = await new AccountApi(us.Server).CardTokenAsync("carol", card);
        var audit = await new AccountApi(us.Server).OkAsync(HttpMethod.Get, "audit", null, bearer);
        int entries = audit.GetProperty("entries").GetArrayLength();

        // Sign-ins (user in the JSON body) and bearer calls from "eu" count for carol.
        for (int i = 0; i < 6; i++)
        {
            using var response = await SignInAsync(us.Server, "carol", "eu");
            Assert.True(response.StatusCode is HttpStatusCode.OK or HttpStatusCode.PermanentRedirect, response.StatusCode.ToString());
        }

        var deadline = DateTime.UtcNow.AddSeconds(30);
        HttpResponseMessage moved;
        while ((moved = await SignInAsync(us.Server, "carol", null)).StatusCode != HttpStatusCode.PermanentRedirect)
        {
            Assert.Equal(HttpStatusCode.OK, moved.StatusCode); // served by the old server until the hand-over
            Assert.True(DateTime.UtcNow < deadline, "carol was not relocated");
            moved.Dispose();
            await Task.Delay(100);
        }

        using (moved)
        {
            Assert.Equal(new Uri(eu.Server.Url, "v1/account/login/password"), moved.Headers.Location);
        }

        // Everything of carol's is in eu and nothing in us: her card signs in there, her audit chain is whole.
        Assert.Equal(0, await RowsAsync(us.Server, "carol"));
        var there = new AccountApi(eu.Server);
        string euBearer = await there.CardTokenAsync("carol", card);
        var movedAudit = await there.OkAsync(HttpMethod.Get, "audit", null, euBearer);
        Assert.True(movedAudit.GetProperty("chainValid").GetBoolean());
        Assert.True(movedAudit.GetProperty("entries").GetArrayLength() >= entries);
        Assert.Equal(HttpStatusCode.OK, (await SignInAsync(eu.Server, "carol", null)).StatusCode);
    }

    [Fact]
    public async Task TargetDownDuringMove_UserStaysServed_MoveResumesWhenTargetIsBack()
    {
        // eu's data folder and admin token exist, but eu is down when the move starts.
        var eu = await StartAsync("eu");
        int euPort = eu.Port;
        string euDirectory = eu.Directory;
        await using var us = await StartAsync("us", peer: eu, peerRegion: "eu");
        await eu.Server.DisposeAsync();

        await us.Server.GrantAsync("carol", "wiki", Reader);
        int rows = await RowsAsync(us.Server, "carol");
        for (int i = 0; i < 6; i++)
        {
            using var response = await GetAsync(us.Server, "carol", "eu");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!us.Server.Logs.Lines.Any(l => l.Contains("Relocation interrupted", StringComparison.Ordinal)))
        {
            Assert.True(DateTime.UtcNow < deadline, "the move was not attempted");
            await Task.Delay(100);
        }

        using (var stillHere = await GetAsync(us.Server, "carol", null))
        {
            Assert.Equal(HttpStatusCode.OK, stillHere.StatusCode); // served by us meanwhile
        }

        Assert.True(await RowsAsync(us.Server, "carol") >= rows);
        Assert.Contains(await us.Server.Store.UnfinishedRelocationsAsync(default), r => r.User == "carol" && r.State == "copying");

        eu.Server = await TestServer.StartAsync(eu.Database, s =>
        {
            s["DataDirectory"] = euDirectory;
            s["Urls"] = $"http://127.0.0.1:{euPort}";
            s["Relocation:Region"] = "eu";
        });
        await using (eu)
        {
            await WaitMovedAsync(us, "carol");
            Assert.Equal(0, await RowsAsync(us.Server, "carol"));
            Assert.True(await RowsAsync(eu.Server, "carol") >= rows);
            Assert.Empty(await us.Server.Store.UnfinishedRelocationsAsync(default));
            using var served = await GetAsync(eu.Server, "carol", null);
            Assert.Equal(HttpStatusCode.OK, served.StatusCode);
        }
    }
}

public sealed class SqliteRelocationTests : RelocationTests
{
    protected override Task<string?> DatabaseAsync() => Task.FromResult<string?>(null);
}

[Collection(PostgresGroup.Name)]
public sealed class PostgresRelocationTests(PostgresCluster cluster) : RelocationTests
{
    protected override async Task<string?> DatabaseAsync() => await cluster.CreateDatabaseAsync();
}
