using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using CardKeep.Interop.Tests.Harness;
using CardKeep.VirtualCard.Store;

namespace CardKeep.Interop.Tests.Recovery;

/// <summary>
/// The lost-card drill of issue 7, every step a real process: a <c>cardkeep server</c> on a free port (SQLite in its
/// data folder), live VSCs in the private pcscd as the cards, two machine stores as "my computer" and "another
/// computer", the real agent, and <c>pamtester</c> with a <c>pam_exec</c> service running <c>cardkeep gate</c> as the
/// login. register → the gate allows the card → card ejected → the gate denies → recovery from the other computer →
/// the gate allows the access key → the used key no longer works → replace card with a second VSC → morph → the new
/// card carries the data objects and the rights, the gate allows it, and the old card is refused by the gate, the
/// server and the agent. Plus brute force through the CLI: wrong recovery passwords lock the account; the right one is
/// refused during the lockout and works after it.
/// </summary>
public sealed partial class LostCardDrillTests : IAsyncLifetime
{
    private const string IssuerPassphrase = "issuer passphrase for tests";
    private const string Password = "correct horse battery staple";
    private const string Answer = "Rex the dog";
    private const string Pin = "123456";
    private const string NewPin = "24681357";
    private const string Notes = "locker 42, code on the back of the calendar";
    private const string Urls = "https://wiki.example.org/start\nhttps://mail.example.org/";
    private readonly string _home = Directory.CreateTempSubdirectory("cardkeep-drill-").FullName;
    private LiveProcess? _server;
    private string _url = string.Empty;

    public async Task InitializeAsync()
    {
        await OkAsync(Env(), "issuer", "init");
        await OkAsync(Env(), "issuer", "sign-server", "--name", "127.0.0.1");
        _server = await StartServerAsync(lockAfterFailures: 3);
    }

    public Task DisposeAsync()
    {
        _server?.Dispose();
        Directory.Delete(_home, true);
        return Task.CompletedTask;
    }

    [Fact]
    public async Task LostCard_RecoverReplaceMorph_OldCardRefusedEverywhere()
    {
        using var user = await TestUser.CreateAsync();
        using var agent = await RunningAgent.StartAsync();
        using var oldCard = new VirtualCardOnReader();
        string myComputer = Path.Combine(_home, "my-computer");
        string otherComputer = Path.Combine(_home, "another-computer");
        string account = user.Name;

        // The card: 9A (sign-in, agent) and 9E (the gate's PIN-less challenge) keys, a TRK1 trust anchor, data objects.
        await oldCard.GenerateWithCertificateAsync("9a", "ECCP256", account + " 9a");
        await oldCard.GenerateWithCertificateAsync("9e", "ECCP256", account + " 9e");
        await OkAsync(Env(), "token", "provision", "--reader", oldCard.Reader);
        await OkAsync(Env(("CARDKEEP_PIN", Pin)), "card", "put", "reader:" + oldCard.Reader, "notes", "--text", Notes);
        await OkAsync(Env(), "card", "put", "reader:" + oldCard.Reader, "url", "--text", Urls);
        await OkAsync(Env(), "admin", "entitle", "--server", _url, "--user", account, "--app", "wiki", "--role", "reader");
        Assert.Equal(0, (await agent.CliAsync(user, ["agent", "enroll-card", "--reader", oldCard.Reader], new Dictionary<string, string?> { ["CARDKEEP_PIN"] = Pin })).ExitCode);

        // Register: account, card, this computer. The access key is printed once.
        var registered = await OkAsync(Mine(myComputer, ("CARDKEEP_PIN", Pin), ("CARDKEEP_ACTIVATION_CODE", await ActivationCodeAsync(account))),
            "account", "register", "--server", _url, "--user", account, "--card", oldCard.Reader, "--question", "first pet?",
            "--full-name", "Drill User", "--email", "drill@example.org", "--machine-serial", "SN-DRILL-1", "--machine-id", "my-computer");
        string firstKey = AccessKeyIn(registered.StdOut);
        Assert.Contains("TRK1: the card's token is registered", registered.StdOut, StringComparison.Ordinal);
        Assert.DoesNotContain(Password, registered.All, StringComparison.Ordinal);
        await OkAsync(Mine(myComputer, ("CARDKEEP_PIN", Pin)), "account", "backup-card", oldCard.Reader);
        var oldSession = await OkAsync(Env(("CARDKEEP_PIN", Pin)), "token", "session", "--server", _url, "--reader", oldCard.Reader);
        Assert.Contains("as " + account, oldSession.StdOut, StringComparison.Ordinal);

        string service = PamServiceName();
        try
        {
            // The gate: the registered card opens the computer; without it, nothing does.
            await AssertGateAsync(service, myComputer, oldCard.Reader, account, stdin: "\n", allowed: true, "the registered card");
            oldCard.Eject();
            await AssertGateAsync(service, myComputer, oldCard.Reader, account, stdin: "\n", allowed: false, "no card, no key");

            // Another computer: the recovery password (and answer) gets an access key for my computer.
            var recovered = await OkAsync(Theirs(otherComputer), "account", "recover", "--server", _url, "--user", account, "--machine", "my-computer");
            string recoveryKey = AccessKeyIn(recovered.StdOut);
            Assert.NotEqual(firstKey, recoveryKey);
            Assert.False(Directory.Exists(otherComputer) && Directory.EnumerateFileSystemEntries(otherComputer).Any(), "the other computer keeps no binding");

            // My computer: the access key opens it once; the used key then opens nothing.
            await AssertGateAsync(service, myComputer, oldCard.Reader, account, stdin: recoveryKey + "\n", allowed: true, "the recovered access key");
            await AssertGateAsync(service, myComputer, oldCard.Reader, account, stdin: recoveryKey + "\n", allowed: false, "the used access key");

            // A new card: a second VSC with its own keys and PIN; replacement, then morph.
            using var newCard = new VirtualCardOnReader();
            await newCard.GenerateWithCertificateAsync("9a", "ECCP256", account + " new 9a");
            await newCard.GenerateWithCertificateAsync("9e", "ECCP256", account + " new 9e");
            Assert.Equal(0, (await newCard.PivToolAsync("-a", "change-pin", "-P", Pin, "-N", NewPin)).ExitCode);
            // A replacement that cannot finish (the backup's PIN is wrong) stops before anything changed.
            var refused = await RunAsync(Mine(myComputer, ("CARDKEEP_PIN", NewPin), ("CARDKEEP_BACKUP_PIN", "999999"), ("CARDKEEP_AGENT_API", agent.ApiSocketPath)),
                "account", "replace-card", "--new-card", newCard.Reader);
            Assert.True(refused.ExitCode == 1, refused.ToString());
            Assert.Contains("backup's PIN", refused.StdErr, StringComparison.Ordinal);
            Assert.DoesNotContain("999999", refused.All, StringComparison.Ordinal);
            var unchanged = JsonDocument.Parse((await OkAsync(Mine(myComputer), "account", "cards", "--json")).StdOut).RootElement;
            Assert.Equal("active", Assert.Single(unchanged.EnumerateArray()).GetProperty("state").GetString());

            var replaced = await OkAsync(Mine(myComputer, ("CARDKEEP_PIN", NewPin), ("CARDKEEP_BACKUP_PIN", Pin), ("CARDKEEP_AGENT_API", agent.ApiSocketPath)),
                "account", "replace-card", "--new-card", newCard.Reader);
            Assert.Contains("the old card is revoked (1 TRK1 token(s) revoked)", replaced.StdOut, StringComparison.Ordinal);
            Assert.Contains("morph: ", replaced.StdOut, StringComparison.Ordinal);
            Assert.Contains("TRK1: the card's token is registered", replaced.StdOut, StringComparison.Ordinal);
            Assert.Contains($"agent: card {newCard.Card.Serial} enrolled for {account}", replaced.StdOut, StringComparison.Ordinal);
            string newKey = AccessKeyIn(replaced.StdOut);
            Assert.DoesNotContain(NewPin, replaced.All, StringComparison.Ordinal);

            // The data moved: the URL list (public) and the notes (PIN-protected) are on the new card.
            Assert.Equal(Urls, Encoding.UTF8.GetString(newCard.Card.GetPublicObject(0x5FFF10) ?? []));
            var verified = Assert.IsType<PinResult.Verified>(newCard.Card.VerifyPin(Encoding.ASCII.GetBytes(NewPin)));
            using (var unlock = verified.Unlock)
            {
                Assert.Equal(Notes, Encoding.UTF8.GetString(newCard.Card.GetPrivateObject(0x5FFF12, unlock) ?? []));
            }

            // The rights moved: the new card's token opens a session and gets the entitlements.
            var config = JsonDocument.Parse((await OkAsync(Env(("CARDKEEP_PIN", NewPin)), "token", "config", "--server", _url, "--reader", newCard.Reader,
                "--client-dir", Path.Combine(_home, "client"), "--json")).StdOut).RootElement;
            Assert.Contains("wiki", config.GetProperty("entitlements").EnumerateArray().Select(e => e.GetProperty("application").GetString()));

            // The gate opens with the new card, and with the key the replacement issued.
            await AssertGateAsync(service, myComputer, newCard.Reader, account, stdin: "\n", allowed: true, "the new card");
            newCard.Eject();
            await AssertGateAsync(service, myComputer, newCard.Reader, account, stdin: newKey + "\n", allowed: true, "the replacement's access key");

            // The old card is found again: the gate, the server and the agent all refuse it.
            oldCard.ReopenAndInsert();
            await AssertGateAsync(service, myComputer, oldCard.Reader, account, stdin: "\n", allowed: false, "the old card");
            var oldSignIn = await RunAsync(Mine(myComputer, ("CARDKEEP_PIN", Pin)), "account", "cards", "--card", oldCard.Reader);
            Assert.True(oldSignIn.ExitCode == 1, oldSignIn.ToString());
            Assert.Contains("sign-in failed", oldSignIn.StdErr, StringComparison.Ordinal);
            var oldToken = await RunAsync(Env(("CARDKEEP_PIN", Pin)), "token", "session", "--server", _url, "--reader", oldCard.Reader);
            Assert.True(oldToken.ExitCode == 1, oldToken.ToString());
            var oldLogin = await agent.CliAsync(user, ["login", "--reader", oldCard.Reader], new Dictionary<string, string?> { ["CARDKEEP_PIN"] = Pin });
            Assert.True(oldLogin.ExitCode != 0, oldLogin + agent.Log);
            Assert.Contains("not enrolled", oldLogin.StdErr, StringComparison.Ordinal);

            // What the server knows, and the audit log the card holder reads (hash chain verified).
            var cards = JsonDocument.Parse((await OkAsync(Mine(myComputer), "account", "cards", "--json")).StdOut).RootElement;
            var states = cards.EnumerateArray().ToDictionary(c => c.GetProperty("serial").GetString()!, c => c.GetProperty("state").GetString());
            Assert.Equal("revoked", states[oldCard.Card.Serial.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            Assert.Equal("active", states[newCard.Card.Serial.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            var audit = await OkAsync(Mine(myComputer), "account", "audit");
            Assert.Contains("hash chain verifies (checked by the server and recomputed here)", audit.StdOut, StringComparison.Ordinal);
            foreach (string kind in new[] { "registered", "escrow-uploaded", "recovered", "card-replaced" })
            {
                Assert.Contains(kind, audit.StdOut, StringComparison.Ordinal);
            }

            Assert.DoesNotContain(recoveryKey, audit.StdOut, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(Path.Combine("/etc/pam.d", service));
        }
    }

    [Fact]
    public async Task LostCard_ReportedLost_IsRefusedAtOnceByGateServerTokenAndAgent()
    {
        using var user = await TestUser.CreateAsync();
        using var agent = await RunningAgent.StartAsync();
        using var card = new VirtualCardOnReader();
        string myComputer = Path.Combine(_home, "lost-computer");
        await card.GenerateWithCertificateAsync("9a", "ECCP256", user.Name + " 9a");
        await card.GenerateWithCertificateAsync("9e", "ECCP256", user.Name + " 9e");
        await OkAsync(Env(), "token", "provision", "--reader", card.Reader);
        Assert.Equal(0, (await agent.CliAsync(user, ["agent", "enroll-card", "--reader", card.Reader], new Dictionary<string, string?> { ["CARDKEEP_PIN"] = Pin })).ExitCode);
        var registered = await OkAsync(Mine(myComputer, ("CARDKEEP_PIN", Pin), ("CARDKEEP_ACTIVATION_CODE", await ActivationCodeAsync(user.Name))),
            "account", "register", "--server", _url, "--user", user.Name, "--card", card.Reader, "--question", "first pet?",
            "--full-name", "Lost Card", "--email", "lost@example.org", "--machine-serial", "SN-LOST", "--machine-id", "lost-pc");
        string accessKey = AccessKeyIn(registered.StdOut);
        string service = PamServiceName();
        try
        {
            await AssertGateAsync(service, myComputer, card.Reader, user.Name, stdin: "\n", allowed: true, "the card before it was reported");

            // Reported lost (the card may be in a thief's hands, still in a reader): dead everywhere at once.
            var revoked = await OkAsync(Mine(myComputer, ("CARDKEEP_AGENT_API", agent.ApiSocketPath)), "account", "revoke-card");
            Assert.Contains($"card {card.Card.Serial} is revoked", revoked.StdOut, StringComparison.Ordinal);
            Assert.Contains($"agent: card {card.Card.Serial} withdrawn", revoked.StdOut, StringComparison.Ordinal);
            await AssertGateAsync(service, myComputer, card.Reader, user.Name, stdin: "\n", allowed: false, "the reported card");
            var signIn = await RunAsync(Mine(myComputer, ("CARDKEEP_PIN", Pin)), "account", "cards", "--card", card.Reader);
            Assert.True(signIn.ExitCode == 1 && signIn.StdErr.Contains("sign-in failed", StringComparison.Ordinal), signIn.ToString());
            var session = await RunAsync(Env(("CARDKEEP_PIN", Pin)), "token", "session", "--server", _url, "--reader", card.Reader);
            Assert.True(session.ExitCode == 1, session.ToString());
            var login = await agent.CliAsync(user, ["login", "--reader", card.Reader], new Dictionary<string, string?> { ["CARDKEEP_PIN"] = Pin });
            Assert.True(login.ExitCode != 0 && login.StdErr.Contains("not enrolled", StringComparison.Ordinal), login.ToString());

            // The access key is rotated (the registration's key might have been seen): the old one is cancelled, and the
            // computer opens with the new one although the card is dead.
            string rotated = AccessKeyIn((await OkAsync(Mine(myComputer), "account", "access-key", "rotate")).StdOut);
            Assert.NotEqual(accessKey, rotated);
            await AssertGateAsync(service, myComputer, card.Reader, user.Name, stdin: accessKey + "\n", allowed: false, "the key before the rotation");
            await AssertGateAsync(service, myComputer, card.Reader, user.Name, stdin: rotated + "\n", allowed: true, "the rotated key after the report");
        }
        finally
        {
            File.Delete(Path.Combine("/etc/pam.d", service));
        }
    }

    [Fact]
    public async Task LostCard_ReportedFromAnotherComputer_GateHereRefusesIt_AsTheServerSays()
    {
        using var user = await TestUser.CreateAsync();
        using var card = new VirtualCardOnReader();
        string myComputer = Path.Combine(_home, "elsewhere-computer");
        await card.GenerateWithCertificateAsync("9a", "ECCP256", user.Name + " 9a");
        await card.GenerateWithCertificateAsync("9e", "ECCP256", user.Name + " 9e");
        await OkAsync(Mine(myComputer, ("CARDKEEP_PIN", Pin), ("CARDKEEP_ACTIVATION_CODE", await ActivationCodeAsync(user.Name))),
            "account", "register", "--server", _url, "--user", user.Name, "--card", card.Reader, "--question", "first pet?",
            "--full-name", "Elsewhere", "--email", "elsewhere@example.org", "--machine-serial", "SN-ELSE", "--machine-id", "else-pc", "--no-token");
        string service = PamServiceName();
        try
        {
            await AssertGateAsync(service, myComputer, card.Reader, user.Name, stdin: "\n", allowed: true, "the card before it was reported");

            // Reported lost on another computer: this computer's binding still names the card, but the server says no.
            string serial = card.Card.Serial.ToString(System.Globalization.CultureInfo.InvariantCulture);
            await OkAsync(Theirs(Path.Combine(_home, "elsewhere-other")), "account", "revoke-card", serial, "--server", _url, "--user", user.Name);
            await AssertGateAsync(service, myComputer, card.Reader, user.Name, stdin: "\n", allowed: false, "the card reported lost elsewhere");
            var direct = await RunAsync(Mine(myComputer), "gate", "--user", user.Name, "--reader", card.Reader);
            Assert.True(direct.ExitCode == 1, direct.ToString());
            Assert.Contains($"card {serial} is revoked on the recovery server", direct.StdOut, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(Path.Combine("/etc/pam.d", service));
        }
    }

    [Fact]
    public async Task ForgottenCard_TemporaryCard_CarriesDataAndRights_OriginalStaysValid()
    {
        using var original = new VirtualCardOnReader();
        string myComputer = Path.Combine(_home, "forgetful-computer");
        await original.GenerateWithCertificateAsync("9a", "ECCP256", "forgetful 9a");
        await original.GenerateWithCertificateAsync("9e", "ECCP256", "forgetful 9e");
        await OkAsync(Env(), "token", "provision", "--reader", original.Reader);
        await OkAsync(Env(), "card", "put", "reader:" + original.Reader, "url", "--text", Urls);
        await OkAsync(Env(), "admin", "entitle", "--server", _url, "--user", "forgetful", "--app", "wiki");
        await OkAsync(Mine(myComputer, ("CARDKEEP_PIN", Pin), ("CARDKEEP_ACTIVATION_CODE", await ActivationCodeAsync("forgetful"))),
            "account", "register", "--server", _url, "--user", "forgetful", "--card", original.Reader, "--question", "first pet?",
            "--full-name", "Forgetful", "--email", "forgetful@example.org", "--machine-serial", "SN-TEMP", "--machine-id", "temp-pc");
        await OkAsync(Mine(myComputer, ("CARDKEEP_PIN", Pin)), "account", "backup-card", original.Reader);
        original.Eject();

        // Left at home: a temporary card for a few hours, the original is not revoked.
        using var temporary = new VirtualCardOnReader();
        await temporary.GenerateWithCertificateAsync("9a", "ECCP256", "temporary 9a");
        var issued = await OkAsync(Mine(myComputer, ("CARDKEEP_PIN", Pin), ("CARDKEEP_BACKUP_PIN", Pin), ("CARDKEEP_AGENT_API", Path.Combine(_home, "no-agent.sock"))),
            "account", "replace-card", "--new-card", temporary.Reader, "--temporary", "--hours", "2");
        Assert.Contains($"temporary card {temporary.Card.Serial} is active until", issued.StdOut, StringComparison.Ordinal);
        Assert.Contains($"the gate accepts temporary card {temporary.Card.Serial} until", issued.StdOut, StringComparison.Ordinal);
        Assert.Equal(Urls, Encoding.UTF8.GetString(temporary.Card.GetPublicObject(0x5FFF10) ?? []));
        var config = JsonDocument.Parse((await OkAsync(Env(("CARDKEEP_PIN", Pin)), "token", "config", "--server", _url, "--reader", temporary.Reader,
            "--client-dir", Path.Combine(_home, "temp-client"), "--json")).StdOut).RootElement;
        Assert.Contains("wiki", config.GetProperty("entitlements").EnumerateArray().Select(e => e.GetProperty("application").GetString()));

        // The temporary card opens the computer until it expires (the server is asked too: it is active there).
        var opened = await OkAsync(Mine(myComputer), "gate", "--user", "forgetful", "--reader", temporary.Reader);
        Assert.Contains($"is forgetful's temporary card until", opened.StdOut, StringComparison.Ordinal);

        // Back home: the original still signs in, opens the computer's gate binding, and its token still works.
        temporary.Eject();
        original.ReopenAndInsert();
        var cards = JsonDocument.Parse((await OkAsync(Mine(myComputer, ("CARDKEEP_PIN", Pin)), "account", "cards", "--card", original.Reader, "--json")).StdOut).RootElement;
        var byKind = cards.EnumerateArray().ToDictionary(c => c.GetProperty("serial").GetString()!, c => (Kind: c.GetProperty("kind").GetString(), State: c.GetProperty("state").GetString()));
        Assert.Equal(("primary", "active"), byKind[original.Card.Serial.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        Assert.Equal("temporary", byKind[temporary.Card.Serial.ToString(System.Globalization.CultureInfo.InvariantCulture)].Kind);
        await OkAsync(Env(("CARDKEEP_PIN", Pin)), "token", "session", "--server", _url, "--reader", original.Reader);
        var status = await OkAsync(Mine(myComputer), "gate", "status", "--json");
        Assert.Contains(original.Card.Serial.ToString(System.Globalization.CultureInfo.InvariantCulture), status.StdOut, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BruteForce_WrongPasswordsAndAccessKeys_Lock_RightOneRefusedUntilLockoutEnds()
    {
        using var user = await TestUser.CreateAsync();
        using var card = new VirtualCardOnReader();
        await card.GenerateWithCertificateAsync("9a", "ECCP256", "brute 9a");
        string machine = Path.Combine(_home, "brute-machine");
        await OkAsync(Mine(machine, ("CARDKEEP_PIN", Pin), ("CARDKEEP_ACTIVATION_CODE", await ActivationCodeAsync("brute"))),
            "account", "register", "--server", _url, "--user", "brute", "--card", card.Reader, "--question", "first pet?",
            "--full-name", "Brute Force", "--email", "brute@example.org", "--machine-serial", "SN-BRUTE", "--machine-id", "brute-pc",
            "--local-user", user.Name, "--no-token");
        card.Eject();

        // Recovery passwords: three wrong ones lock the account (this server: LockAfterFailures 3, LockoutMinutes 1).
        string other = Path.Combine(_home, "brute-other");
        for (int i = 1; i <= 3; i++)
        {
            var wrong = await RunAsync(Theirs(other, ("CARDKEEP_RECOVERY_PASSWORD", $"wrong password number {i}")),
                "account", "recover", "--server", _url, "--user", "brute", "--machine", "brute-pc");
            Assert.True(wrong.ExitCode == 1, wrong.ToString());
            Assert.Contains("sign-in failed", wrong.StdErr, StringComparison.Ordinal);
            Assert.DoesNotContain($"wrong password number {i}", wrong.All, StringComparison.Ordinal);
        }

        // Locked: the right password is refused now, with a clear message and no access key.
        var locked = await RunAsync(Theirs(other), "account", "recover", "--server", _url, "--user", "brute", "--machine", "brute-pc");
        Assert.True(locked.ExitCode == 1, locked.ToString());
        Assert.Contains("locked", locked.StdErr, StringComparison.Ordinal);
        Assert.DoesNotMatch(AccessKeyPattern(), locked.StdOut);

        // An unknown account answers the same way as a wrong password: nothing tells whether it exists.
        var unknown = await RunAsync(Theirs(other), "account", "recover", "--server", _url, "--user", "nobody-here", "--machine", "x");
        Assert.Equal(1, unknown.ExitCode);
        Assert.Contains("sign-in failed", unknown.StdErr, StringComparison.Ordinal);

        // After the lockout the right password works again: an access key only the server knows yet.
        await Task.Delay(TimeSpan.FromSeconds(62));
        string recovered = AccessKeyIn((await OkAsync(Theirs(other), "account", "recover", "--server", _url, "--user", "brute", "--machine", "brute-pc")).StdOut);

        // Access keys at the login: well-formed but wrong keys go to the server, which locks after three; the right key
        // is then refused too, and opens the computer once the lockout is over.
        string service = PamServiceName();
        try
        {
            for (int i = 0; i < 3; i++)
            {
                using var random = RandomNumberGenerator.Create();
                using var guess = Protocol.Recovery.AccessKey.Generate(random);
                await AssertGateAsync(service, machine, card.Reader, user.Name, stdin: guess + "\n", allowed: false, $"wrong access key {i + 1}");
            }

            await AssertGateAsync(service, machine, card.Reader, user.Name, stdin: recovered + "\n", allowed: false, "the right access key during the lockout");
            await Task.Delay(TimeSpan.FromSeconds(62));
            await AssertGateAsync(service, machine, card.Reader, user.Name, stdin: recovered + "\n", allowed: true, "the right access key after the lockout");
        }
        finally
        {
            File.Delete(Path.Combine("/etc/pam.d", service));
        }

        var audit = await OkAsync(Mine(machine), "account", "audit");
        Assert.Contains("lockout", audit.StdOut, StringComparison.Ordinal);
        Assert.Contains("access-key-used", audit.StdOut, StringComparison.Ordinal);
    }

    private async Task<LiveProcess> StartServerAsync(int lockAfterFailures)
    {
        string config = Path.Combine(_home, "server.json");
        await File.WriteAllTextAsync(config, JsonSerializer.Serialize(new
        {
            Applications = new Dictionary<string, object> { ["wiki"] = new { Upstream = "http://127.0.0.1:9", Description = "Wiki" } },
            Accounts = new { PasswordIterations = 1000, AccessKeyIterations = 1000, LockAfterFailures = lockAfterFailures, LockoutMinutes = 1 },
        }));
        var server = LiveProcess.Start("dotnet", CardKeepCli.DllPath, "server", "--urls", "http://127.0.0.1:0", "--data-dir", Path.Combine(_home, "server"), "--config", config);
        string line = server.WaitForLine(l => l.StartsWith("cardkeep server listening on ", StringComparison.Ordinal), TimeSpan.FromSeconds(60));
        _url = line["cardkeep server listening on ".Length..].Trim();
        return server;
    }

    /// <summary>A fresh PAM service name (its file in /etc/pam.d is written by <see cref="AssertGateAsync"/>, deleted by the test).</summary>
    private static string PamServiceName() => "cardkeep-drill-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));

    /// <summary>
    /// Logs <paramref name="user"/> in through <c>pamtester</c>: the service's auth is <c>cardkeep gate --pam</c> on
    /// <paramref name="machineDir"/>, pinned to <paramref name="reader"/> (the test's own slot: the gate never touches
    /// the cards other tests have in the other readers), the typed secret on stdin (pam_exec expose_authtok).
    /// </summary>
    private static async Task AssertGateAsync(string service, string machineDir, string reader, string user, string stdin, bool allowed, string what)
    {
        // In a PAM file an argument with spaces is written in square brackets.
        await File.WriteAllTextAsync(Path.Combine("/etc/pam.d", service),
            $"auth required pam_exec.so expose_authtok /usr/bin/dotnet {CardKeepCli.DllPath} gate --pam --machine-dir {machineDir} --reader [{reader}]\n" +
            "account required pam_permit.so\n");
        var result = await ProcessRunner.RunAsync("pamtester", [service, user, "authenticate"], stdin: stdin);
        bool ok = result.ExitCode == 0 && result.All.Contains("successfully authenticated", StringComparison.Ordinal);
        Assert.True(ok == allowed, $"gate with {what}: expected {(allowed ? "allowed" : "denied")}\n{result}");
    }

    private static string AccessKeyIn(string output) =>
        AccessKeyPattern().Match(output) is { Success: true } m ? m.Value : throw new Xunit.Sdk.XunitException("no access key in:\n" + output);

    [GeneratedRegex(@"\b\d{6}(-\d{6}){7}\b")]
    private static partial Regex AccessKeyPattern();

    private Dictionary<string, string?> Env(params (string Key, string Value)[] extra)
    {
        var env = new Dictionary<string, string?> { ["CARDKEEP_HOME"] = _home, ["CARDKEEP_ISSUER_PASSPHRASE"] = IssuerPassphrase };
        foreach (var (key, value) in extra)
        {
            env[key] = value;
        }

        return env;
    }

    /// <summary>"My computer": its machine store, and the account secrets the user types.</summary>
    private Dictionary<string, string?> Mine(string machineDir, params (string Key, string Value)[] extra) =>
        Env([("CARDKEEP_MACHINE_DIR", machineDir), ("CARDKEEP_RECOVERY_PASSWORD", Password), ("CARDKEEP_CHALLENGE_ANSWER", Answer),
            ("CARDKEEP_ESCROW_ITERATIONS", "1000"), .. extra]);

    /// <summary>"Another computer": its own data folder and machine store, no card.</summary>
    private Dictionary<string, string?> Theirs(string folder, params (string Key, string Value)[] extra)
    {
        var env = Mine(folder, extra);
        env["CARDKEEP_HOME"] = folder + "-home";
        return env;
    }

    private async Task<string> ActivationCodeAsync(string user)
    {
        var result = await OkAsync(Env(), "admin", "activation-code", "--server", _url, "--user", user, "--json");
        return JsonDocument.Parse(result.StdOut).RootElement.GetProperty("code").GetString()!;
    }

    private static async Task<ProcessResult> RunAsync(Dictionary<string, string?> env, params string[] args) =>
        await CardKeepCli.RunAsync(args, env, timeout: TimeSpan.FromSeconds(180));

    private static async Task<ProcessResult> OkAsync(Dictionary<string, string?> env, params string[] args)
    {
        var result = await RunAsync(env, args);
        Assert.True(result.ExitCode == 0, $"cardkeep {string.Join(' ', args)}\n{result}");
        return result;
    }
}
