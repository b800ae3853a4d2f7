using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using CardKeep.Client;
using CardKeep.Client.Tokens;
using CardKeep.Protocol;
using CardKeep.Protocol.Recovery;
using CardKeep.Server.Accounts;
using CardKeep.Server.Storage;
using CardKeep.Server.Tests.Harness;
using Microsoft.Extensions.DependencyInjection;

namespace CardKeep.Server.Tests;

/// <summary>Accounts, access keys, recovery, replacement and audit over real HTTP on 127.0.0.1; runs once per backend.</summary>
public abstract class AccountTests : IAsyncLifetime, IDisposable
{
    private readonly Tokens _tokens = new();
    private readonly List<TestCard> _cards = [];
    private TestServer? _server;
    private string? _database;

    protected ManualClock Clock { get; } = new(DateTimeOffset.UtcNow);

    protected FailingParticipant Participant { get; } = new();

    protected TestServer Server => _server!;

    protected AccountApi Api => new(Server);

    protected abstract Task<string?> DatabaseAsync();

    /// <summary>Runs raw SQL on the server's database (to tamper with it).</summary>
    protected abstract Task ExecuteSqlAsync(TestServer server, string? database, string sql);

    public async Task InitializeAsync()
    {
        _database = await DatabaseAsync();
        _server = await TestServer.StartAsync(_database, s =>
        {
            s["Accounts:PasswordIterations"] = "1000";
            s["Accounts:AccessKeyIterations"] = "100";
            s["Accounts:LockAfterFailures"] = "3";
            s["Accounts:LockoutMinutes"] = "15";
            s["Accounts:EscrowMaxBytes"] = "4096";
        }, services =>
        {
            services.AddSingleton<TimeProvider>(Clock);
            services.AddSingleton<ICardReplacementParticipant>(Participant);
        });
    }

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
        foreach (var card in _cards)
        {
            card.Dispose();
        }

        GC.SuppressFinalize(this);
    }

    private TestCard Card(string serial, string kind = "p256")
    {
        var card = new TestCard(serial, kind);
        _cards.Add(card);
        return card;
    }

    /// <summary>A TRK1 software token carrying <paramref name="card"/>'s token serial, registered for <paramref name="username"/> with <paramref name="code"/>.</summary>
    private async Task<SoftwareToken> Trk1TokenAsync(Trk1Client client, TestCard card, string username, string code)
    {
        var token = SoftwareToken.Create(Path.Combine(_tokens.Directory, card.Serial + ".json"), new TokenIdentity(card.TokenSerial, TestPki.Issuer));
        await client.RegisterAsync(token, Tokens.Pin, Trk1Suite.E, username, code);
        return token;
    }

    private static string Code(JsonElement body) => body.GetProperty("tokenActivationCode").GetString()!;

    private static string Key(JsonElement body) => body.GetProperty("accessKey").GetString()!;

    [Theory]
    [InlineData("p256")]
    [InlineData("p384")]
    [InlineData("rsa")]
    public async Task Register_ThenCardLogin_CardsMachineAndAuditShown(string kind)
    {
        var card = Card("1000" + kind, kind);
        var secret = AccountApi.NewMachineSecret();
        var registered = await Api.RegisterAsync("alice", card, "pc-1", secret);
        Assert.Equal("alice", registered.GetProperty("username").GetString());
        Assert.True(AccessKey.TryParse(Key(registered), out var parsed, out _));
        parsed!.Dispose();
        Assert.True(await Api.ValidAsync("alice", "pc-1", secret, Key(registered)));

        string token = await Api.CardTokenAsync("alice", card);
        var me = await Api.OkAsync(HttpMethod.Get, "me", bearer: token);
        Assert.Equal("First pet?", me.GetProperty("question").GetString());
        Assert.Equal("card", me.GetProperty("scope").GetString());
        Assert.Equal("pc-1", me.GetProperty("machines")[0].GetProperty("id").GetString());
        var cards = await Api.OkAsync(HttpMethod.Get, "cards", bearer: token);
        Assert.Equal(card.Serial, cards[0].GetProperty("serial").GetString());
        Assert.Equal("active", cards[0].GetProperty("state").GetString());
        Assert.Equal("primary", cards[0].GetProperty("kind").GetString());
        var audit = await Api.OkAsync(HttpMethod.Get, "audit", bearer: token);
        Assert.True(audit.GetProperty("chainValid").GetBoolean());
        Assert.Equal(["registered", "access-key-issued", "access-key-used"], audit.GetProperty("entries").EnumerateArray().Select(e => e.GetProperty("kind").GetString()));

        // The returned one-time code registers a TRK1 token for the account.
        using var client = new Trk1Client(Server.Url);
        await client.RegisterAsync(_tokens.Software(), Tokens.Pin, Trk1Suite.E, "alice", registered.GetProperty("tokenActivationCode").GetString()!);
        Assert.Single(await Server.Store.ListTokensAsync("alice", default));

        // Nothing secret reaches the logs.
        Assert.DoesNotContain(AccountApi.Password, Server.Logs.All, StringComparison.Ordinal);
        Assert.DoesNotContain(Key(registered), Server.Logs.All, StringComparison.Ordinal);
        Assert.DoesNotContain(token, Server.Logs.All, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Register_BadCodeProofOrInput_RefusedAndNothingStored()
    {
        var card = Card("2000");
        var secret = AccountApi.NewMachineSecret();
        string otherUsersCode = await Server.ActivationCodeAsync("mallory");
        var (wrong, wrongBody, r1) = await Api.SendAsync(HttpMethod.Post, "register", await Api.RegisterBodyAsync("bob", card, "pc", secret, "AAAA-BBBB-CCCC-DDDD-EEEE-FFFF"));
        var (other, otherBody, r2) = await Api.SendAsync(HttpMethod.Post, "register", await Api.RegisterBodyAsync("bob", card, "pc", secret, otherUsersCode));
        r1.Dispose();
        r2.Dispose();
        Assert.Equal(HttpStatusCode.Forbidden, wrong);
        Assert.Equal(wrongBody.ToString(), otherBody.ToString());
        Assert.Equal("registration refused", wrongBody.GetProperty("title").GetString());

        // A proof signed by another key is refused the same way.
        var body = JsonSerializer.SerializeToElement(await Api.RegisterBodyAsync("bob", card, "pc", secret));
        using var impostor = new TestCard(card.Serial);
        var tampered = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(body.GetRawText())!;
        var cardPart = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(tampered["card"].GetRawText())!;
        cardPart["publicKey"] = JsonSerializer.SerializeToElement(impostor.PublicKey);
        tampered["card"] = JsonSerializer.SerializeToElement(cardPart);
        var (badProof, badProofBody, r3) = await Api.SendAsync(HttpMethod.Post, "register", tampered);
        r3.Dispose();
        Assert.Equal(HttpStatusCode.Forbidden, badProof);
        Assert.Equal(wrongBody.ToString(), badProofBody.ToString());

        var (shortPassword, shortBody, r4) = await Api.SendAsync(HttpMethod.Post, "register", new { activationCode = "x", username = "bob", password = "short" });
        r4.Dispose();
        Assert.Equal(HttpStatusCode.BadRequest, shortPassword);
        Assert.Contains("at least 12", shortBody.GetProperty("title").GetString(), StringComparison.Ordinal);
        Assert.Null(await Server.Store.GetAccountAsync("bob", default));

        await Api.RegisterAsync("bob", card, "pc", secret);
        var (again, _, r5) = await Api.SendAsync(HttpMethod.Post, "register", await Api.RegisterBodyAsync("bob", Card("2001"), "pc", secret));
        r5.Dispose();
        Assert.Equal(HttpStatusCode.Conflict, again);
    }

    [Fact]
    public async Task PasswordLogin_UnknownUserAndWrongPasswordAndWrongAnswer_Indistinguishable()
    {
        await Api.RegisterAsync("carol", Card("3000"), "pc", AccountApi.NewMachineSecret());
        var answers = new List<(HttpStatusCode, string)>();
        foreach (var body in new object[]
        {
            new { username = "nobody", password = AccountApi.Password },
            new { username = "carol", password = "wrong password!!" },
            new { username = "carol", password = AccountApi.Password, answer = "Felix" },
        })
        {
            var (status, json, response) = await Api.SendAsync(HttpMethod.Post, "login/password", body);
            response.Dispose();
            answers.Add((status, json.ToString()));
        }

        Assert.All(answers, a => Assert.Equal(answers[0], a));
        Assert.Equal(HttpStatusCode.Unauthorized, answers[0].Item1);
        Clock.Advance(TimeSpan.FromMinutes(16)); // three failures from one address locked it
        var ok = await Api.OkAsync(HttpMethod.Post, "login/password", new { username = "carol", password = AccountApi.Password, answer = "rex THE dog" });
        Assert.Equal("recovery", ok.GetProperty("scope").GetString());
    }

    [Fact]
    public async Task Recover_IssuesNewKey_UsedKeyRefusedAfterRotationAndAfterGrace()
    {
        var secret = AccountApi.NewMachineSecret();
        var first = Key(await Api.RegisterAsync("dave", Card("4000"), "home-pc", secret));
        var recovered = await Api.OkAsync(HttpMethod.Post, "recover", new { username = "dave", password = AccountApi.Password, answer = "rex the dog", machineId = "home-pc" });
        string second = Key(recovered);
        Assert.NotEqual(first, second);
        Assert.Equal("recovery", recovered.GetProperty("scope").GetString());
        Assert.False(await Api.ValidAsync("dave", "home-pc", secret, first));
        Assert.True(await Api.ValidAsync("dave", "home-pc", secret, second));
        Assert.True(await Api.ValidAsync("dave", "home-pc", secret, second)); // within the grace time (a login retry)

        var rotated = await Api.OkAsync(HttpMethod.Post, "access-key/rotate", new { username = "dave", machineId = "home-pc", machineSecret = secret });
        string third = Key(rotated);
        Assert.False(await Api.ValidAsync("dave", "home-pc", secret, second));
        Assert.True(await Api.ValidAsync("dave", "home-pc", secret, third));
        Clock.Advance(TimeSpan.FromMinutes(16));
        Assert.False(await Api.ValidAsync("dave", "home-pc", secret, third));

        // Rotation with a bearer; a wrong machine secret is refused.
        string token = await Api.PasswordTokenAsync("dave");
        string fourth = Key(await Api.OkAsync(HttpMethod.Post, "access-key/rotate", new { machineId = "home-pc" }, token));
        Assert.True(await Api.ValidAsync("dave", "home-pc", secret, fourth));
        var (status, _, response) = await Api.SendAsync(HttpMethod.Post, "access-key/verify", new { username = "dave", machineId = "home-pc", machineSecret = AccountApi.NewMachineSecret(), accessKey = fourth });
        response.Dispose();
        Assert.Equal(HttpStatusCode.Unauthorized, status);
        var (unknown, _, r2) = await Api.SendAsync(HttpMethod.Post, "recover", new { username = "dave", password = AccountApi.Password, machineId = "other-pc" });
        r2.Dispose();
        Assert.Equal(HttpStatusCode.NotFound, unknown);

        var kinds = (await Api.OkAsync(HttpMethod.Get, "audit", bearer: token)).GetProperty("entries").EnumerateArray().Select(e => e.GetProperty("kind").GetString()).ToList();
        Assert.Contains("recovered", kinds);
        Assert.Contains("access-key-rotated", kinds);
        Assert.Contains("access-key-used", kinds);
    }

    [Fact]
    public async Task RecoveryPassword_BruteForce_LockedOutRightOneRefusedThenWorks()
    {
        await Api.RegisterAsync("erin", Card("5000"), "pc", AccountApi.NewMachineSecret());
        var body = new { username = "erin", password = "not the password", machineId = "pc" };
        string? lastBody = null;
        for (int i = 0; i < 3; i++)
        {
            var (status, json, response) = await Api.SendAsync(HttpMethod.Post, "recover", body);
            response.Dispose();
            Assert.Equal(HttpStatusCode.Unauthorized, status);
            lastBody = json.ToString();
        }

        var (locked, lockedBody, lockedResponse) = await Api.SendAsync(HttpMethod.Post, "recover", new { username = "erin", password = AccountApi.Password, machineId = "pc" });
        Assert.Equal(HttpStatusCode.Unauthorized, locked);
        Assert.Equal(lastBody, lockedBody.ToString());
        Assert.NotNull(lockedResponse.Headers.RetryAfter?.Delta);
        Assert.InRange(lockedResponse.Headers.RetryAfter!.Delta!.Value.TotalMinutes, 14, 15.01);
        lockedResponse.Dispose();
        Assert.Contains(Server.Logs.Lines, l => l.Contains("account lockout user:erin:password", StringComparison.Ordinal));

        Clock.Advance(TimeSpan.FromMinutes(16));
        var ok = await Api.OkAsync(HttpMethod.Post, "recover", new { username = "erin", password = AccountApi.Password, machineId = "pc" });
        var audit = await Api.OkAsync(HttpMethod.Get, "audit", bearer: ok.GetProperty("token").GetString());
        Assert.Contains(audit.GetProperty("entries").EnumerateArray(), e => e.GetProperty("kind").GetString() == "signin-failed-lockout");
        Assert.True(audit.GetProperty("chainValid").GetBoolean());
    }

    [Fact]
    public async Task SourceAddress_GuessesAcrossAccounts_LockTheAddress()
    {
        await Api.RegisterAsync("fred", Card("6000"), "pc", AccountApi.NewMachineSecret());
        foreach (var user in new[] { "u1", "u2", "u3" })
        {
            var (status, _, response) = await Api.SendAsync(HttpMethod.Post, "login/password", new { username = user, password = "guess guess guess" });
            response.Dispose();
            Assert.Equal(HttpStatusCode.Unauthorized, status);
        }

        var (refused, _, r) = await Api.SendAsync(HttpMethod.Post, "login/password", new { username = "fred", password = AccountApi.Password });
        Assert.Equal(HttpStatusCode.Unauthorized, refused);
        Assert.NotNull(r.Headers.RetryAfter);
        r.Dispose();
        Clock.Advance(TimeSpan.FromMinutes(16));
        await Api.PasswordTokenAsync("fred");
    }

    [Fact]
    public async Task AccessKey_BruteForce_LockedOutRightOneRefusedThenWorks()
    {
        var secret = AccountApi.NewMachineSecret();
        string key = Key(await Api.RegisterAsync("gina", Card("7000"), "pc", secret));
        using var rng = RandomNumberGenerator.Create();
        for (int i = 0; i < 3; i++)
        {
            using var guess = AccessKey.Generate(rng);
            Assert.False(await Api.ValidAsync("gina", "pc", secret, guess.ToString()));
        }

        var (valid, response) = await Api.VerifyAsync("gina", "pc", secret, key);
        Assert.False(valid);
        Assert.NotNull(response.Headers.RetryAfter);
        response.Dispose();
        Clock.Advance(TimeSpan.FromMinutes(16));
        Assert.True(await Api.ValidAsync("gina", "pc", secret, key));

        var (status, body, bad) = await Api.SendAsync(HttpMethod.Post, "access-key/verify", new { username = "gina", machineId = "pc", machineSecret = secret, accessKey = key[..^1] + (key[^1] == '0' ? '1' : '0') });
        bad.Dispose();
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("group 8", body.GetProperty("title").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReplaceCard_OldCardRevokedEverywhere_NewCardWorks()
    {
        var secret = AccountApi.NewMachineSecret();
        var oldCard = Card("8000");
        var registered = await Api.RegisterAsync("hank", oldCard, "pc", secret);
        string oldKey = Key(registered);
        using var client = new Trk1Client(Server.Url);
        var oldToken = await Trk1TokenAsync(client, oldCard, "hank", Code(registered));
        (await client.OpenSessionAsync(oldToken, Tokens.Pin)).Dispose();
        string oldBearer = await Api.CardTokenAsync("hank", oldCard);

        string recovery = Key(await Api.OkAsync(HttpMethod.Post, "recover", new { username = "hank", password = AccountApi.Password, machineId = "pc" }));
        string portal = await Api.PasswordTokenAsync("hank");
        var newCard = Card("8001");
        var replaced = await Api.OkAsync(HttpMethod.Post, "replace-card", new { newCard = await Api.ProofAsync(newCard, "hank", CardProofPurpose.Replace), machineId = "pc" }, portal);
        Assert.Equal("8000", replaced.GetProperty("previousCardSerial").GetString());
        Assert.Equal(1, replaced.GetProperty("revokedTokens").GetInt32());

        // The old card: card sign-in, its bearer, its TRK1 token and the old keys are refused.
        Assert.Equal(HttpStatusCode.Unauthorized, (await Api.CardLoginAsync("hank", oldCard)).Status);
        var (oldSession, _, r) = await Api.SendAsync(HttpMethod.Get, "me", bearer: oldBearer);
        r.Dispose();
        Assert.Equal(HttpStatusCode.Unauthorized, oldSession);
        await Assert.ThrowsAsync<Trk1Exception>(() => client.OpenSessionAsync(oldToken, Tokens.Pin));
        Assert.True(await Server.Store.IsSerialBlockedAsync(oldCard.TokenSerial, default));
        Assert.False(await Api.ValidAsync("hank", "pc", secret, oldKey));
        Assert.False(await Api.ValidAsync("hank", "pc", secret, recovery));

        // The new card: sign-in, new access key, TRK1 registration with the returned code.
        string newBearer = await Api.CardTokenAsync("hank", newCard);
        Assert.True(await Api.ValidAsync("hank", "pc", secret, Key(replaced)));
        var newToken = await Trk1TokenAsync(client, newCard, "hank", Code(replaced));
        (await client.OpenSessionAsync(newToken, Tokens.Pin)).Dispose();
        var cards = await Api.OkAsync(HttpMethod.Get, "cards", bearer: newBearer);
        Assert.Equal([("8000", "revoked"), ("8001", "active")], cards.EnumerateArray().Select(c => (c.GetProperty("serial").GetString(), c.GetProperty("state").GetString())));
        Assert.Equal("8001", cards[0].GetProperty("replacedBy").GetString());
        var audit = await Api.OkAsync(HttpMethod.Get, "audit", bearer: newBearer);
        Assert.Contains(audit.GetProperty("entries").EnumerateArray(), e => e.GetProperty("kind").GetString() == "card-replaced");
        Assert.True(audit.GetProperty("chainValid").GetBoolean());
        Assert.Equal(1, Participant.Calls);
    }

    [Fact]
    public async Task ReplaceCard_FailureMidway_NothingChanges()
    {
        var secret = AccountApi.NewMachineSecret();
        var oldCard = Card("9000");
        var registered = await Api.RegisterAsync("ivan", oldCard, "pc", secret);
        using var client = new Trk1Client(Server.Url);
        var oldToken = await Trk1TokenAsync(client, oldCard, "ivan", Code(registered));
        string bearer = await Api.CardTokenAsync("ivan", oldCard);
        long auditBefore = (await Server.Store.ListAuditAsync("ivan", default)).Count;

        Participant.Fail = true;
        var newCard = Card("9001");
        var (status, _, response) = await Api.SendAsync(HttpMethod.Post, "replace-card", new { newCard = await Api.ProofAsync(newCard, "ivan", CardProofPurpose.Replace), machineId = "pc" }, bearer);
        response.Dispose();
        Assert.Equal(HttpStatusCode.InternalServerError, status);

        Assert.Equal(1, Participant.Calls);
        Assert.Null(await Server.Store.GetCardAsync("9001", default));
        Assert.Equal(AccountCardValues.Active, (await Server.Store.GetCardAsync("9000", default))!.Status);
        Assert.All(await Server.Store.ListTokensAsync("ivan", default), t => Assert.Equal(TokenStatus.Active, t.Status));
        Assert.False(await Server.Store.IsSerialBlockedAsync(oldCard.TokenSerial, default));
        Assert.True(await Api.ValidAsync("ivan", "pc", secret, Key(registered)));
        Assert.Equal(auditBefore + 1, (await Server.Store.ListAuditAsync("ivan", default)).Count); // + the access-key-used of the line above
        (await client.OpenSessionAsync(oldToken, Tokens.Pin)).Dispose();
        await Api.OkAsync(HttpMethod.Get, "me", bearer: bearer);

        Participant.Fail = false;
        await Api.OkAsync(HttpMethod.Post, "replace-card", new { newCard = await Api.ProofAsync(newCard, "ivan", CardProofPurpose.Replace), machineId = "pc" }, bearer);
        Assert.Equal(AccountCardValues.Revoked, (await Server.Store.GetCardAsync("9000", default))!.Status);
    }

    [Fact]
    public async Task TemporaryCard_WorksUntilExpiry_OriginalKeepsWorking()
    {
        var original = Card("10000");
        var registered = await Api.RegisterAsync("judy", original, "pc", AccountApi.NewMachineSecret());
        string bearer = await Api.CardTokenAsync("judy", original);
        var temporary = Card("10001");
        var (tooLong, _, r) = await Api.SendAsync(HttpMethod.Post, "replace-card", new { newCard = await Api.ProofAsync(temporary, "judy", CardProofPurpose.Replace), temporary = true, hours = 100 }, bearer);
        r.Dispose();
        Assert.Equal(HttpStatusCode.BadRequest, tooLong);
        var added = await Api.OkAsync(HttpMethod.Post, "replace-card", new { newCard = await Api.ProofAsync(temporary, "judy", CardProofPurpose.Replace), temporary = true, hours = 2 }, bearer);
        Assert.True(added.GetProperty("temporary").GetBoolean());
        Assert.Equal(JsonValueKind.Null, added.GetProperty("previousCardSerial").ValueKind);

        string temporaryBearer = await Api.CardTokenAsync("judy", temporary);
        var (notAllowed, _, r1) = await Api.SendAsync(HttpMethod.Post, "cards/10000/revoke", bearer: temporaryBearer);
        r1.Dispose();
        Assert.Equal(HttpStatusCode.Forbidden, notAllowed);
        await Api.CardTokenAsync("judy", original);
        using var client = new Trk1Client(Server.Url, clock: Clock);
        var temporaryToken = await Trk1TokenAsync(client, temporary, "judy", Code(added));
        (await client.OpenSessionAsync(temporaryToken, Tokens.Pin)).Dispose();
        var originalToken = await Trk1TokenAsync(client, original, "judy", Code(registered));
        Clock.Advance(TimeSpan.FromHours(3));
        await Assert.ThrowsAsync<Trk1Exception>(() => client.OpenSessionAsync(temporaryToken, Tokens.Pin));
        (await client.OpenSessionAsync(originalToken, Tokens.Pin)).Dispose();
        Assert.Equal(HttpStatusCode.Unauthorized, (await Api.CardLoginAsync("judy", temporary)).Status);
        var (expiredSession, _, r2) = await Api.SendAsync(HttpMethod.Get, "cards", bearer: temporaryBearer);
        r2.Dispose();
        Assert.Equal(HttpStatusCode.Unauthorized, expiredSession);
        string again = await Api.CardTokenAsync("judy", original);
        var cards = await Api.OkAsync(HttpMethod.Get, "cards", bearer: again);
        Assert.Equal([("10000", "active"), ("10001", "expired")], cards.EnumerateArray().Select(c => (c.GetProperty("serial").GetString(), c.GetProperty("state").GetString())));
    }

    [Fact]
    public async Task Audit_EditedOrRemovedRow_ChainInvalid()
    {
        var card = Card("11000");
        var secret = AccountApi.NewMachineSecret();
        string key = Key(await Api.RegisterAsync("kate", card, "pc", secret));
        Assert.True(await Api.ValidAsync("kate", "pc", secret, key));
        string bearer = await Api.CardTokenAsync("kate", card);
        Assert.True((await Api.OkAsync(HttpMethod.Get, "audit", bearer: bearer)).GetProperty("chainValid").GetBoolean());

        await ExecuteSqlAsync(Server, _database, "UPDATE account_audit SET details = '{\"machineId\":\"elsewhere\"}' WHERE username = 'kate' AND seq = 2");
        Assert.False((await Api.OkAsync(HttpMethod.Get, "audit", bearer: bearer)).GetProperty("chainValid").GetBoolean());
        Assert.False(AuditChain.Verify(await Server.Store.ListAuditAsync("kate", default), 3, (await Server.Store.ListAuditAsync("kate", default))[^1].Hash));

        // Removing the newest row (no later link to break) is caught by the head kept in the account row.
        var other = Card("11001");
        string key2 = Key(await Api.RegisterAsync("lena", other, "pc", secret));
        Assert.True(await Api.ValidAsync("lena", "pc", secret, key2));
        await ExecuteSqlAsync(Server, _database, "DELETE FROM account_audit WHERE username = 'lena' AND seq = 3");
        Assert.False((await Api.OkAsync(HttpMethod.Get, "audit", bearer: await Api.CardTokenAsync("lena", other))).GetProperty("chainValid").GetBoolean());
    }

    [Fact]
    public async Task Escrow_PutGetAndLimits()
    {
        var card = Card("12000");
        await Api.RegisterAsync("mike", card, "pc", AccountApi.NewMachineSecret());
        string bearer = await Api.PasswordTokenAsync("mike");
        var blob = RandomNumberGenerator.GetBytes(3000);

        async Task<HttpStatusCode> PutAsync(byte[] bytes, string? token)
        {
            using var request = new HttpRequestMessage(HttpMethod.Put, new Uri(Server.Url, "v1/account/escrow")) { Content = new ByteArrayContent(bytes) };
            if (token is not null)
            {
                request.Headers.Authorization = new("Bearer", token);
            }

            using var response = await Server.Http.SendAsync(request);
            return response.StatusCode;
        }

        using (var none = new HttpRequestMessage(HttpMethod.Get, new Uri(Server.Url, "v1/account/escrow")))
        {
            none.Headers.Authorization = new("Bearer", bearer);
            using var missing = await Server.Http.SendAsync(none);
            Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        }

        Assert.Equal(HttpStatusCode.OK, await PutAsync(blob, bearer));
        Assert.Equal(HttpStatusCode.Unauthorized, await PutAsync(blob, null));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, await PutAsync(new byte[5000], bearer));
        using var get = new HttpRequestMessage(HttpMethod.Get, new Uri(Server.Url, "v1/account/escrow"));
        get.Headers.Authorization = new("Bearer", await Api.CardTokenAsync("mike", card));
        using var got = await Server.Http.SendAsync(get);
        Assert.Equal(blob, await got.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task Challenge_ReplayedOrForAnotherPurpose_Refused()
    {
        var card = Card("13000");
        await Api.RegisterAsync("nina", card, "pc", AccountApi.NewMachineSecret());
        var nonce = await Api.NonceAsync("nina", card.Serial, CardProofPurpose.Login);
        var body = new { username = "nina", cardSerial = card.Serial, nonce, signature = card.Sign(CardProofPurpose.Login, "nina", nonce) };
        Assert.Equal("card", (await Api.OkAsync(HttpMethod.Post, "login/card", body)).GetProperty("scope").GetString());
        var (replay, _, r) = await Api.SendAsync(HttpMethod.Post, "login/card", body);
        r.Dispose();
        Assert.Equal(HttpStatusCode.Unauthorized, replay);

        var registerNonce = await Api.NonceAsync("nina", card.Serial, CardProofPurpose.Register);
        var (wrongPurpose, _, r2) = await Api.SendAsync(HttpMethod.Post, "login/card", new { username = "nina", cardSerial = card.Serial, nonce = registerNonce, signature = card.Sign(CardProofPurpose.Login, "nina", registerNonce) });
        r2.Dispose();
        Assert.Equal(HttpStatusCode.Unauthorized, wrongPurpose);

        var late = await Api.NonceAsync("nina", card.Serial, CardProofPurpose.Login);
        Clock.Advance(TimeSpan.FromMinutes(3));
        var (expired, _, r3) = await Api.SendAsync(HttpMethod.Post, "login/card", new { username = "nina", cardSerial = card.Serial, nonce = late, signature = card.Sign(CardProofPurpose.Login, "nina", late) });
        r3.Dispose();
        Assert.Equal(HttpStatusCode.Unauthorized, expired);
    }

    [Fact]
    public async Task RevokeCard_LostCardDeadAtOnce_ReplacementStillWorks()
    {
        var secret = AccountApi.NewMachineSecret();
        var lost = Card("14000");
        var registered = await Api.RegisterAsync("olga", lost, "pc", secret);
        using var client = new Trk1Client(Server.Url);
        var token = await Trk1TokenAsync(client, lost, "olga", Code(registered));
        string cardBearer = await Api.CardTokenAsync("olga", lost);
        string portal = await Api.PasswordTokenAsync("olga");

        var revoked = await Api.OkAsync(HttpMethod.Post, "cards/14000/revoke", bearer: portal);
        Assert.Equal("revoked", revoked.GetProperty("state").GetString());
        Assert.Equal(HttpStatusCode.Unauthorized, (await Api.CardLoginAsync("olga", lost)).Status);
        var (old, _, r) = await Api.SendAsync(HttpMethod.Get, "me", bearer: cardBearer);
        r.Dispose();
        Assert.Equal(HttpStatusCode.Unauthorized, old);
        await Assert.ThrowsAsync<Trk1Exception>(() => client.OpenSessionAsync(token, Tokens.Pin));
        var (again, _, r2) = await Api.SendAsync(HttpMethod.Post, "cards/14000/revoke", bearer: portal);
        r2.Dispose();
        Assert.Equal(HttpStatusCode.NotFound, again);

        var replaced = await Api.OkAsync(HttpMethod.Post, "replace-card", new { newCard = await Api.ProofAsync(Card("14001"), "olga", CardProofPurpose.Replace), machineId = "pc" }, portal);
        Assert.Equal(JsonValueKind.Null, replaced.GetProperty("previousCardSerial").ValueKind);
        Assert.True(await Api.ValidAsync("olga", "pc", secret, Key(replaced)));
        var kinds = (await Api.OkAsync(HttpMethod.Get, "audit", bearer: portal)).GetProperty("entries").EnumerateArray().Select(e => e.GetProperty("kind").GetString());
        Assert.Contains("card-revoked", kinds);
    }

    [Fact]
    public async Task OpenApi_DescribesTheAccountApi()
    {
        string openApi = await Server.Http.GetStringAsync(new Uri(Server.Url, "openapi/v1.json"));
        foreach (var path in new[] { "/v1/account/register", "/v1/account/recover", "/v1/account/access-key/verify", "/v1/account/replace-card", "/v1/account/audit", "/v1/account/escrow" })
        {
            Assert.Contains($"\"{path}\"", openApi, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task MalformedJson_ClearProblem()
    {
        using var content = new StringContent("{\"username\": 12, ", System.Text.Encoding.UTF8, "application/json");
        using var response = await Server.Http.PostAsync(new Uri(Server.Url, "v1/account/login/password"), content);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        string body = await response.Content.ReadAsStringAsync();
        Assert.Contains("\"status\":400", body, StringComparison.Ordinal);
        using var notBase64 = JsonContent.Create(new { username = "x", machineId = "pc", machineSecret = "***", accessKey = "1" });
        using var second = await Server.Http.PostAsync(new Uri(Server.Url, "v1/account/access-key/verify"), notBase64);
        Assert.Equal(HttpStatusCode.BadRequest, second.StatusCode);
        Assert.Contains("\"status\":400", await second.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    /// <summary>A replacement participant that can be told to fail (the extension point, and the failure injected midway).</summary>
    protected sealed class FailingParticipant : ICardReplacementParticipant
    {
        public bool Fail { get; set; }

        public int Calls { get; private set; }

        public async Task OnCardReplacedAsync(CardReplacementContext context, CancellationToken cancellationToken)
        {
            Calls++;
            // Reads inside the replacement's transaction: the new card is already there.
            var rows = await context.Transaction.QueryAsync("SELECT status FROM account_cards WHERE card_serial = @s", r => r.GetString(0), cancellationToken, ("s", context.NewCard.Serial));
            Assert.Equal([AccountCardValues.Active], rows);
            if (Fail)
            {
                throw new InvalidOperationException("injected failure");
            }
        }
    }
}

public sealed class SqliteAccountTests : AccountTests
{
    protected override Task<string?> DatabaseAsync() => Task.FromResult<string?>(null);

    protected override async Task ExecuteSqlAsync(TestServer server, string? database, string sql)
    {
        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection("Data Source=" + Path.Combine(server.Directory, "cardkeep.db"));
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        Assert.Equal(1, await command.ExecuteNonQueryAsync());
    }
}

[Collection(PostgresGroup.Name)]
public sealed class PostgresAccountTests(PostgresCluster cluster) : AccountTests
{
    protected override async Task<string?> DatabaseAsync() => await cluster.CreateDatabaseAsync();

    protected override async Task ExecuteSqlAsync(TestServer server, string? database, string sql)
    {
        await using var connection = new Npgsql.NpgsqlConnection(database);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        Assert.Equal(1, await command.ExecuteNonQueryAsync());
    }
}
