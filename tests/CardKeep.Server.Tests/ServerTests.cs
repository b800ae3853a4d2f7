using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using CardKeep.Cards.Piv;
using CardKeep.Client;
using CardKeep.Client.Tokens;
using CardKeep.Protocol;
using CardKeep.Protocol.Configuration;
using CardKeep.Protocol.Registration;
using CardKeep.Protocol.Sessions;
using CardKeep.Server.Sessions;
using CardKeep.Server.Storage;
using CardKeep.Server.Tests.Harness;

namespace CardKeep.Server.Tests;

/// <summary>The server over real HTTP on 127.0.0.1 with the real client; runs once per backend.</summary>
public abstract class ServerTests : IAsyncLifetime, IDisposable
{
    private readonly Tokens _tokens = new();
    private TestServer? _server;

    protected abstract Task<string?> DatabaseAsync();

    protected TestServer Server => _server!;

    protected virtual void Configure(Dictionary<string, string?> settings)
    {
    }

    public async Task InitializeAsync() => _server = await TestServer.StartAsync(await DatabaseAsync(), Configure);

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    public void Dispose()
    {
        _tokens.Dispose();
        GC.SuppressFinalize(this);
    }

    private Trk1Client Client() => new(Server.Url);

    private async Task<TokenRegistration> RegisterAsync(ITokenStore token, string user, Trk1Suite suite = Trk1Suite.E)
    {
        string code = await Server.ActivationCodeAsync(user);
        using var client = Client();
        return await client.RegisterAsync(token, Tokens.Pin, suite, user, code, new Dictionary<string, string> { ["host"] = "pc-1", ["location"] = "office" });
    }

    private static UserInfo Info(string location = "office") => new() { Host = "pc-1", Location = location, Os = "Debian 12", Client = "tests" };

    [Theory]
    [InlineData(Trk1Suite.R)]
    [InlineData(Trk1Suite.E)]
    public async Task Register_SoftwareToken_SessionAndConfigurationApplied(Trk1Suite suite)
    {
        await Server.GrantAsync("alice", "wiki", ["reader"]);
        var token = _tokens.Software();
        var registration = await RegisterAsync(token, "alice", suite);
        Assert.Equal(((char)suite).ToString(), registration.Suite);
        Assert.Equal("/users/alice", registration.AccessPath);
        Assert.Equal(TestPki.ServerId(suite), registration.ServerId);

        using var client = Client();
        using var session = await client.OpenSessionAsync(token, Tokens.Pin);
        Assert.Equal(Trk1Mode.None, session.Mode);
        var applier = new ConfigApplier(Path.Combine(_tokens.Directory, "client-" + (char)suite));
        var config = await session.ExchangeConfigAsync(Info(), applier.AppliedPolicyVersion(session.ServerId));
        var applied = applier.Apply(config, session.ServerId, Server.Url.ToString());
        Assert.Equal("alice", config.User);
        Assert.Contains("wrote profiles/wiki.json", applied.Actions);
        Assert.Contains("wrote app-servers.json", applied.Actions);
        Assert.Contains("wrote agent.json", applied.Actions);
        var profile = JsonDocument.Parse(File.ReadAllText(Path.Combine(applier.Directory, "profiles", "wiki.json"))).RootElement;
        Assert.Equal("reader", profile.GetProperty("settings").GetProperty("roles").GetString());
        Assert.Equal("dark", profile.GetProperty("settings").GetProperty("theme").GetString());
        Assert.Equal("true", JsonDocument.Parse(File.ReadAllText(Path.Combine(applier.Directory, "agent.json"))).RootElement.GetProperty("lock_on_card_removal").GetString());
    }

    [Fact]
    public async Task Register_Vsc_SskOnlyInPinProtectedObjectAndSessionWorks()
    {
        var (token, card) = _tokens.Vsc();
        await RegisterAsync(token, "bob");
        Assert.Null(card.GetPublicObject(PivDataObject.CardKeepRegistrationToken.Tag));
        Assert.Contains(PivDataObject.CardKeepRegistrationToken.Tag, card.PrivateObjectTags);
        using var client = Client();
        using var session = await client.OpenSessionAsync(token, Tokens.Pin);
        Assert.Equal("bob", session.User);
        var wrong = Encoding.UTF8.GetBytes("00000000");
        Assert.Contains("wrong PIN", Assert.Throws<TokenException>(() => token.ReadRegistrations(wrong)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Register_TwoTokens_GetDifferentSsksAndHandles()
    {
        var a = _tokens.Software("a");
        var b = _tokens.Software("b");
        var ra = await RegisterAsync(a, "carol");
        var rb = await RegisterAsync(b, "carol");
        var sa = TokenRecords.Unwrap(Tokens.Pin, ra);
        var sb = TokenRecords.Unwrap(Tokens.Pin, rb);
        Assert.NotEqual(sa, sb);
        Assert.NotEqual(ra.TokenHandle, rb.TokenHandle);
        Assert.Equal(ra.UserIdCode, rb.UserIdCode);
        Assert.Equal(2, (await Server.Store.ListTokensAsync("carol", default)).Count);
    }

    [Fact]
    public async Task EntitlementChange_ShowsAtNextSessionWithoutReRegistration()
    {
        var token = _tokens.Software();
        await RegisterAsync(token, "dave");
        await Server.GrantAsync("dave", "wiki", ["reader"]);
        var applier = new ConfigApplier(Path.Combine(_tokens.Directory, "client"));
        using var client = Client();

        async Task<ConfigDocument> NextSessionAsync()
        {
            using var session = await client.OpenSessionAsync(token, Tokens.Pin);
            var config = await session.ExchangeConfigAsync(Info(), applier.AppliedPolicyVersion(session.ServerId));
            applier.Apply(config, session.ServerId, Server.Url.ToString());
            return config;
        }

        var first = await NextSessionAsync();
        Assert.Equal(["wiki"], first.Entitlements.Select(e => e.Application));
        await Server.GrantAsync("dave", "mail", ["user"]);
        await Server.RevokeAsync("dave", "wiki");
        var second = await NextSessionAsync();
        Assert.True(second.PolicyVersion > first.PolicyVersion);
        Assert.Equal(["mail"], second.Entitlements.Select(e => e.Application));
        Assert.False(File.Exists(Path.Combine(applier.Directory, "profiles", "wiki.json")));
        Assert.True(File.Exists(Path.Combine(applier.Directory, "profiles", "mail.json")));
    }

    [Fact]
    public async Task Gateway_EntitledRequestPassesAndOthersAreRefused()
    {
        var token = _tokens.Software();
        await RegisterAsync(token, "erin");
        await Server.GrantAsync("erin", "wiki", ["editor"]);
        await Server.GrantAsync("erin", "mail", ["user"], ["branch-office"]);
        using var client = Client();
        using var session = await client.OpenSessionAsync(token, Tokens.Pin);
        await session.ExchangeConfigAsync(Info("office"), 0);

        var ok = await session.RequestAsync("wiki", "POST", "/pages/home?x=1", "hello"u8.ToArray(), "text/plain");
        Assert.Equal(200, ok.Status);
        Assert.Equal("wiki POST /pages/home?x=1 user=erin roles=editor body=hello", Encoding.UTF8.GetString(Convert.FromBase64String(ok.Body!)));

        var wrongPlace = await session.RequestAsync("mail", "GET", "/inbox");
        Assert.Equal(403, wrongPlace.Status);
        var unknown = await session.RequestAsync("payroll", "GET", "/");
        Assert.Equal(403, unknown.Status);
        var escape = await session.RequestAsync("wiki", "GET", "/../admin");
        Assert.Equal(400, escape.Status);

        await Server.RevokeAsync("erin", "wiki");
        var revoked = await session.RequestAsync("wiki", "GET", "/pages/home");
        Assert.Equal(403, revoked.Status);
        Assert.Equal("not entitled", revoked.Error);
    }

    [Fact]
    public async Task Gateway_WithoutSession_GetsGenericError()
    {
        var (status, body) = await Server.PostAsync("trk1/gateway", RandomNumberGenerator.GetBytes(100));
        Assert.Equal(400, status);
        Assert.Equal(Trk1Wire.ErrorMessage.ToArray(), body);
    }

    [Fact]
    public async Task Registration_ReplayedReg2AndReg4_AreRefused()
    {
        var identity = new TokenIdentity(RandomNumberGenerator.GetBytes(16), TestPki.Issuer);
        string code = await Server.ActivationCodeAsync("frank");
        using var rc = new RegistrationClient(identity.IssuerCertificate, TimeProvider.System, SystemTrk1Random.Instance);
        rc.ProcessHello((await Server.PostAsync("trk1/registration/hello?suite=E", [])).Body);
        var reg2 = rc.CreateRequest(new RegistrationIdentity(identity.Serial, "frank", code, new Dictionary<string, string>()));
        var (status3, reg3) = await Server.PostAsync("trk1/registration", reg2);
        Assert.Equal(200, status3);
        AssertGenericError(await Server.PostAsync("trk1/registration", reg2));
        var reg4 = rc.ProcessResponse(reg3);
        Assert.Equal(200, (await Server.PostAsync("trk1/registration", reg4)).Status);
        AssertGenericError(await Server.PostAsync("trk1/registration", reg4));
    }

    [Fact]
    public async Task Registration_EveryByteOfReg2Flipped_RefusedAndCodeStillUsable()
    {
        var identity = new TokenIdentity(RandomNumberGenerator.GetBytes(16), TestPki.Issuer);
        string code = await Server.ActivationCodeAsync("gina");
        int length = 0;
        for (int i = 0; length == 0 || i < length; i++)
        {
            using var rc = new RegistrationClient(identity.IssuerCertificate, TimeProvider.System, SystemTrk1Random.Instance);
            rc.ProcessHello((await Server.PostAsync("trk1/registration/hello?suite=E", [])).Body);
            var reg2 = rc.CreateRequest(new RegistrationIdentity(identity.Serial, "gina", code, new Dictionary<string, string>()));
            length = reg2.Length;
            reg2[i] ^= 0x80;
            AssertGenericError(await Server.PostAsync("trk1/registration", reg2));
        }

        using var client = Client();
        using var result = await client.RegisterRawAsync(identity, Trk1Suite.E, "gina", code);
        Assert.Equal(32, result.Ssk.Length);
    }

    [Fact]
    public async Task Registration_WrongFinC_StoresNothingAndKeepsCode()
    {
        var identity = new TokenIdentity(RandomNumberGenerator.GetBytes(16), TestPki.Issuer);
        string code = await Server.ActivationCodeAsync("hank");
        using var rc = new RegistrationClient(identity.IssuerCertificate, TimeProvider.System, SystemTrk1Random.Instance);
        rc.ProcessHello((await Server.PostAsync("trk1/registration/hello?suite=R", [])).Body);
        var reg3 = (await Server.PostAsync("trk1/registration", rc.CreateRequest(new RegistrationIdentity(identity.Serial, "hank", code, new Dictionary<string, string>())))).Body;
        var reg4 = rc.ProcessResponse(reg3);
        reg4[^1] ^= 1;
        Assert.Equal(400, (await Server.PostAsync("trk1/registration", reg4)).Status);
        Assert.Empty(await Server.Store.ListTokensAsync("hank", default));
        Assert.Null((await Server.Store.FindActivationCodeAsync(CardKeep.Server.Registration.ActivationCodes.Hash(
            Server.Services.GetService(typeof(CardKeep.Server.Hosting.ServerSecrets)) is CardKeep.Server.Hosting.ServerSecrets s ? s.ActivationKey : [], code), default))!.UsedAt);
    }

    public static TheoryData<string> BadAuthorizations => new() { "reused", "wrong", "other-user", "non-canonical", "blocked-serial" };

    private static void AssertGenericError((int Status, byte[] Body) answer)
    {
        Assert.Equal(400, answer.Status);
        Assert.Equal(Trk1Wire.ErrorMessage.ToArray(), answer.Body);
    }

    [Theory]
    [MemberData(nameof(BadAuthorizations))]
    public async Task Registration_BadActivationOrName_IsRefused(string kind)
    {
        var token = _tokens.Software();
        string code = await Server.ActivationCodeAsync("ivan");
        if (kind == "reused")
        {
            await RegisterWithAsync(_tokens.Software("first"), "ivan", code);
        }

        if (kind == "blocked-serial")
        {
            string serial = Convert.ToHexString(token.ReadIdentity().Serial);
            using var blocked = await Server.AdminAsync(HttpMethod.Post, $"admin/token-serials/{serial}/block", null);
            Assert.Equal(HttpStatusCode.NoContent, blocked.StatusCode);
        }

        var (user, presented) = kind switch
        {
            "wrong" => ("ivan", "AAAA-BBBB-CCCC-DDDD-EEEE-FFFF"),
            "other-user" => ("judy", code),
            "non-canonical" => ("Ivan", code),
            _ => ("ivan", code),
        };
        var e = await Assert.ThrowsAsync<Trk1Exception>(() => RegisterWithAsync(token, user, presented));
        Assert.Equal(Trk1Failure.PeerError, e.Failure);
        Assert.Empty(token.ReadRegistrations(Tokens.Pin));
    }

    private async Task RegisterWithAsync(ITokenStore token, string user, string code)
    {
        using var client = Client();
        await client.RegisterAsync(token, Tokens.Pin, Trk1Suite.E, user, code);
    }

    [Fact]
    public async Task Session_UnknownTokenAndWrongMac_GetTheSameAnswer()
    {
        var token = _tokens.Software();
        var registration = await RegisterAsync(token, "kate");
        var ssk = TokenRecords.Unwrap(Tokens.Pin, registration);
        var known = new TokenCredential(registration.ServerId, registration.TokenHandle, RandomNumberGenerator.GetBytes(32), Trk1Suite.E);
        var unknown = new TokenCredential(registration.ServerId, RandomNumberGenerator.GetBytes(16), ssk, Trk1Suite.E);
        for (int i = 0; i < 2; i++)
        {
            // Two rounds (the lock threshold is 3), alternating: the answers are byte-for-byte the same.
            foreach (var credential in new[] { known, unknown })
            {
                using var sc = new SessionClient(credential, false, TimeProvider.System, SystemTrk1Random.Instance);
                var s2 = sc.ProcessChallenge((await Server.PostAsync("trk1/session/challenge?suite=E", [])).Body);
                AssertGenericError(await Server.PostAsync("trk1/session", s2));
            }
        }

        Assert.DoesNotContain(Server.Logs.Lines, l => l.Contains(Convert.ToHexString(ssk), StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task Session_WrongMacsReachThreshold_TokenLockedEvenForRightKey()
    {
        var token = _tokens.Software();
        var registration = await RegisterAsync(token, "liam");
        var bad = new TokenCredential(registration.ServerId, registration.TokenHandle, RandomNumberGenerator.GetBytes(32), Trk1Suite.E);
        using var client = Client();
        for (int i = 0; i < 3; i++)
        {
            await Assert.ThrowsAsync<Trk1Exception>(() => client.OpenSessionAsync(bad, "liam"));
        }

        for (int wait = 0; wait < 100 && (await Server.Store.GetTokenAsync(registration.TokenHandle, default))!.Status != TokenStatus.Locked; wait++)
        {
            await Task.Delay(50);
        }

        Assert.Equal(TokenStatus.Locked, (await Server.Store.GetTokenAsync(registration.TokenHandle, default))!.Status);
        await Assert.ThrowsAsync<Trk1Exception>(() => client.OpenSessionAsync(token, Tokens.Pin));
    }

    [Fact]
    public async Task Session_ReplayedS2AndSplicedRecords_AreRefused()
    {
        var token = _tokens.Software();
        var registration = await RegisterAsync(token, "mona");
        var ssk = TokenRecords.Unwrap(Tokens.Pin, registration);
        var credential = new TokenCredential(registration.ServerId, registration.TokenHandle, ssk, Trk1Suite.E);
        using var sc = new SessionClient(credential, false, TimeProvider.System, SystemTrk1Random.Instance);
        var s2 = sc.ProcessChallenge((await Server.PostAsync("trk1/session/challenge?suite=E", [])).Body);
        var (status, s3) = await Server.PostAsync("trk1/session", s2);
        Assert.Equal(200, status);
        AssertGenericError(await Server.PostAsync("trk1/session", s2));

        using var keys = sc.ProcessServerFinished(s3);
        using var channel = RecordChannel.ForClient(keys, sc.Sid.Span, Trk1Suite.E, Trk1Mode.None);
        var s4 = channel.Seal(Trk1MessageType.UserInfo, ConfigSchema.Serialize(Info()));
        Assert.Equal(200, (await Server.PostAsync("trk1/session", s4)).Status);
        AssertGenericError(await Server.PostAsync("trk1/session", s4));

        // A record from another session: the server ends neither session's keys to the other.
        using var client = Client();
        using var other = await client.OpenSessionAsync(token, Tokens.Pin);
        var spliced = channel.Seal(Trk1MessageType.GatewayRequest, "{}"u8);
        other.ServerId.CopyTo(spliced, 0);
        Assert.Equal(400, (await Server.PostAsync("trk1/gateway", spliced)).Status);
    }

    [Fact]
    public async Task Logs_AfterRegistrationAndSession_HoldNoSecrets()
    {
        var token = _tokens.Software();
        string code = await Server.ActivationCodeAsync("nina");
        using var client = Client();
        var registration = await client.RegisterAsync(token, Tokens.Pin, Trk1Suite.R, "nina", code);
        using var session = await client.OpenSessionAsync(token, Tokens.Pin);
        var ssk = TokenRecords.Unwrap(Tokens.Pin, registration);
        string logs = Server.Logs.All;
        Assert.Contains("Registered user nina", logs, StringComparison.Ordinal);
        Assert.Contains("Session established for nina", logs, StringComparison.Ordinal);
        Assert.DoesNotContain(code, logs, StringComparison.Ordinal);
        Assert.DoesNotContain(code.Replace("-", string.Empty, StringComparison.Ordinal), logs, StringComparison.Ordinal);
        Assert.DoesNotContain(Convert.ToHexString(ssk), logs, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(Convert.ToBase64String(ssk), logs, StringComparison.Ordinal);
        Assert.DoesNotContain(Server.AdminToken, logs, StringComparison.Ordinal);
        Assert.DoesNotContain("13572468", logs, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HealthOpenApiAndAdmin_Answer()
    {
        using var health = await Server.Http.GetAsync(new Uri(Server.Url, "health"));
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal("healthy", JsonDocument.Parse(await health.Content.ReadAsStringAsync()).RootElement.GetProperty("status").GetString());
        string openApi = await Server.Http.GetStringAsync(new Uri(Server.Url, "openapi/v1.json"));
        Assert.Contains("/trk1/registration/hello", openApi, StringComparison.Ordinal);
        Assert.Contains("/admin/users/{user}/entitlements/{application}", openApi, StringComparison.Ordinal);
        using var unauthorised = await Server.AdminAsync(HttpMethod.Post, "admin/activation-codes", new { user = "olga" }, token: "nope");
        Assert.Equal(HttpStatusCode.Unauthorized, unauthorised.StatusCode);
        using var badName = await Server.AdminAsync(HttpMethod.Post, "admin/activation-codes", new { user = "Olga" });
        Assert.Equal(HttpStatusCode.BadRequest, badName.StatusCode);
        using var unknownApp = await Server.AdminAsync(HttpMethod.Put, "admin/users/olga/entitlements/payroll", new { roles = Array.Empty<string>() });
        Assert.Equal(HttpStatusCode.BadRequest, unknownApp.StatusCode);
    }

    [Fact]
    public async Task Sessions_Concurrent_AllSucceed()
    {
        var token = _tokens.Software();
        var registration = await RegisterAsync(token, "pete");
        var ssk = TokenRecords.Unwrap(Tokens.Pin, registration);
        var credential = new TokenCredential(registration.ServerId, registration.TokenHandle, ssk, Trk1Suite.E);
        using var client = Client();
        var sessions = await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => client.OpenSessionAsync(credential, "pete")));
        foreach (var s in sessions)
        {
            Assert.Equal(403, (await s.RequestAsync("none", "GET", "/")).Status);
            s.Dispose();
        }
    }
}

public sealed class SqliteServerTests : ServerTests
{
    protected override Task<string?> DatabaseAsync() => Task.FromResult<string?>(null);
}

[Collection(PostgresGroup.Name)]
public sealed class PostgresServerTests(PostgresCluster cluster) : ServerTests
{
    protected override async Task<string?> DatabaseAsync() => await cluster.CreateDatabaseAsync();
}
