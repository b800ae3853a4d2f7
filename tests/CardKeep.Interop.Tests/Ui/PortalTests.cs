using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text.Json;
using CardKeep.Interop.Tests.Harness;
using CardKeep.Protocol.Recovery;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace CardKeep.Interop.Tests.Ui;

/// <summary>
/// The card holder's portal (/portal of <c>cardkeep server</c>) as a person uses it: a real server process on 127.0.0.1
/// with SQLite, an account registered through the account API (the card's 9A key is a software P-256 key here: the portal
/// never talks to a card; the lost-card drill covers real cards), and headless Chromium through Playwright.
/// </summary>
public sealed class PortalTests : IAsyncLifetime, IDisposable
{
    private const string Password = "correct horse battery staple";
    private readonly string _home = Directory.CreateTempSubdirectory("cardkeep-portal-").FullName;
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(60) };
    private LiveProcess? _server;
    private string _url = string.Empty;

    public async Task InitializeAsync()
    {
        var env = new Dictionary<string, string?>
        {
            ["CARDKEEP_HOME"] = _home,
            ["CARDKEEP_Accounts__PasswordIterations"] = "1000",
            ["CARDKEEP_Accounts__AccessKeyIterations"] = "1000",
            ["CARDKEEP_Accounts__LockAfterFailures"] = "3",
        };
        _server = LiveProcess.Start("dotnet", [CardKeepCli.DllPath, "server", "--urls", "http://127.0.0.1:0", "--data-dir", Path.Combine(_home, "server")], env);
        string line = _server.WaitForLine(l => l.StartsWith("cardkeep server listening on ", StringComparison.Ordinal), TimeSpan.FromSeconds(60));
        _url = line["cardkeep server listening on ".Length..].Trim();
        await Task.CompletedTask;
    }

    public Task DisposeAsync()
    {
        _server?.Dispose();
        Directory.Delete(_home, true);
        return Task.CompletedTask;
    }

    public void Dispose() => _http.Dispose();

    private async Task<string> ActivationCodeAsync(string user)
    {
        var result = await CardKeepCli.RunAsync(["admin", "activation-code", "--server", _url, "--user", user, "--json"],
            new Dictionary<string, string?> { ["CARDKEEP_HOME"] = _home }, timeout: TimeSpan.FromSeconds(60));
        Assert.True(result.ExitCode == 0, result.ToString());
        return JsonDocument.Parse(result.StdOut).RootElement.GetProperty("code").GetString()!;
    }

    private async Task<JsonElement> PostAsync(string path, object body, HttpStatusCode expected = HttpStatusCode.OK)
    {
        using var response = await _http.PostAsJsonAsync(_url + path, body);
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == expected, $"{path}: {(int)response.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    /// <summary>Registers USER with a software "card" (serial, P-256 9A key) and one machine; returns the card serial.</summary>
    private async Task<string> RegisterAsync(string user, ECDsa cardKey)
    {
        string serial = "9" + RandomNumberGenerator.GetInt32(10_000_000, 99_999_999).ToString(System.Globalization.CultureInfo.InvariantCulture);
        var challenge = await PostAsync("/v1/account/challenge", new { username = user, cardSerial = serial, purpose = "register" });
        byte[] nonce = challenge.GetProperty("nonce").GetBytesFromBase64();
        byte[] signature = cardKey.SignData(CardProof.Message(CardProofPurpose.Register, user, serial, nonce), HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);
        var registered = await PostAsync("/v1/account/register", new
        {
            activationCode = await ActivationCodeAsync(user),
            username = user,
            password = Password,
            question = "Name of the street you grew up in?",
            answer = "Acacia Avenue",
            fullName = "Alice <b>Liddell</b>",
            email = "alice@example.org",
            machine = new { id = "desk-1", serial = "PF2TEST", secret = RandomNumberGenerator.GetBytes(32) },
            card = new { serial, publicKey = cardKey.ExportSubjectPublicKeyInfo(), nonce, signature },
        }, HttpStatusCode.Created);
        Assert.True(AccessKey.TryParse(registered.GetProperty("accessKey").GetString(), out var key, out _));
        key!.Dispose();
        return serial;
    }

    [Fact]
    public async Task Portal_SignIn_Cards_AccessKey_ReportLost_Audit_SignOut()
    {
        using var cardKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        string serial = await RegisterAsync("alice", cardKey);
        await using var chromium = await HeadlessChromium.LaunchAsync();
        var page = await chromium.PageAsync();

        // Wrong password: a generic refusal, nothing about whether the account exists.
        await page.GotoAsync(_url + "/portal/");
        await page.FillAsync("#username", "alice");
        await page.FillAsync("#password", "not the password at all");
        await page.ClickAsync("button[type=submit]");
        await Expect(page.Locator("p.error")).ToContainTextAsync("Sign-in failed");
        await page.FillAsync("#username", "nobody-here");
        await page.FillAsync("#password", "not the password at all");
        await page.ClickAsync("button[type=submit]");
        await Expect(page.Locator("p.error")).ToContainTextAsync("Sign-in failed");

        // Right password: the account page with the card, the machine and the audit log (HTML in the name is text).
        await page.FillAsync("#username", "alice");
        await page.FillAsync("#password", Password);
        await page.FillAsync("#answer", "  acacia   AVENUE ");
        await page.ClickAsync("button[type=submit]");
        await Expect(page).ToHaveURLAsync(_url + "/portal/account");
        await Expect(page.Locator("#profile")).ToContainTextAsync("Alice <b>Liddell</b>");
        var cardRow = page.Locator($"#cards tr[data-serial='{serial}']");
        await Expect(cardRow.Locator("td.state-active")).ToHaveTextAsync("active");
        await Expect(page.Locator("#chain")).ToContainTextAsync("verifies");
        await Expect(page.Locator("#audit tr.audit-registered")).ToHaveCountAsync(1);
        await Expect(page.Locator("#env-entries")).ToHaveTextAsync("0");
        await Expect(page.Locator("#env-quota")).ToContainTextAsync("0 of ");
        string quotaBefore = (await page.Locator("#env-quota").TextContentAsync())!;
        await page.Locator("#quota-offer button").ClickAsync();
        await Expect(page.Locator("p.notice[role=status]")).ToContainTextAsync("Your quota is now");
        Assert.NotEqual(quotaBefore, await page.Locator("#env-quota").TextContentAsync());
        await HeadlessChromium.ScreenshotAsync(page, "portal-account");

        // A new access key for the machine: shown once, in the access-key format, and audited.
        await page.Locator("#machines button", new() { HasText = "New access key" }).ClickAsync();
        string shown = (await page.Locator("#access-key").TextContentAsync())!.Trim();
        Assert.True(AccessKey.TryParse(shown, out var issued, out string error), error);
        issued!.Dispose();
        await page.GotoAsync(_url + "/portal/account");
        await Expect(page.Locator("#audit tr.audit-access-key-rotated")).ToHaveCountAsync(1);

        // Report lost needs the confirmation box; then the card is revoked and the card can no longer sign in.
        await cardRow.Locator("button.danger").ClickAsync();
        await Expect(page.Locator("p.error")).ToContainTextAsync("confirm");
        await page.Locator($"#cards tr[data-serial='{serial}'] input[name=confirm]").CheckAsync();
        await page.Locator($"#cards tr[data-serial='{serial}'] button.danger").ClickAsync();
        await Expect(page.Locator("p.notice").First).ToContainTextAsync("revoked");
        await Expect(page.Locator($"#cards tr[data-serial='{serial}'] td.state-revoked")).ToHaveTextAsync("revoked");
        await Expect(page.Locator("#audit tr.audit-card-revoked")).ToHaveCountAsync(1);
        await Expect(page.Locator("#replace pre")).ToContainTextAsync("cardkeep account replace-card --server " + _url + " --user alice");
        var challenge = await PostAsync("/v1/account/challenge", new { username = "alice", cardSerial = serial, purpose = "login" });
        byte[] nonce = challenge.GetProperty("nonce").GetBytesFromBase64();
        byte[] signature = cardKey.SignData(CardProof.Message(CardProofPurpose.Login, "alice", serial, nonce), HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);
        await PostAsync("/v1/account/login/card", new { username = "alice", cardSerial = serial, nonce, signature }, HttpStatusCode.Unauthorized);
        await HeadlessChromium.ScreenshotAsync(page, "portal-reported-lost");

        // Sign out ends the session: the account page sends the browser back to sign-in.
        await page.Locator("header button").ClickAsync();
        await Expect(page.Locator("p.notice")).ToContainTextAsync("signed out");
        await page.GotoAsync(_url + "/portal/account");
        await Expect(page.Locator("#password")).ToBeVisibleAsync();
    }

    [Fact]
    public async Task Portal_PostsWithoutFormTokenOrFromOtherSites_Refused_AndLockoutShown()
    {
        using var cardKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        await RegisterAsync("bob", cardKey);
        using var handler = new HttpClientHandler { AllowAutoRedirect = false, UseCookies = true };
        using var browserless = new HttpClient(handler) { BaseAddress = new Uri(_url) };
        using (var signIn = await browserless.PostAsync("/portal/sign-in", new FormUrlEncodedContent(new Dictionary<string, string> { ["username"] = "bob", ["password"] = Password })))
        {
            Assert.Equal(HttpStatusCode.Redirect, signIn.StatusCode);
            string cookie = string.Join(";", signIn.Headers.GetValues("Set-Cookie"));
            Assert.Contains("httponly", cookie, StringComparison.OrdinalIgnoreCase);
            Assert.Contains("samesite=strict", cookie, StringComparison.OrdinalIgnoreCase);
        }

        using (var account = await browserless.GetAsync("/portal/account"))
        {
            Assert.Equal(HttpStatusCode.OK, account.StatusCode);
            Assert.Equal("no-store", account.Headers.CacheControl?.ToString());
            Assert.Contains("default-src 'none'", account.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
        }

        // Without the session's form token, and from another site, a state change is refused.
        using (var forged = await browserless.PostAsync("/portal/access-key", new FormUrlEncodedContent(new Dictionary<string, string> { ["machineId"] = "desk-1", ["csrf"] = "forged" })))
        {
            Assert.Equal(HttpStatusCode.Forbidden, forged.StatusCode);
        }

        using (var crossSite = new HttpRequestMessage(HttpMethod.Post, "/portal/sign-in"))
        {
            crossSite.Headers.Add("Sec-Fetch-Site", "cross-site");
            crossSite.Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["username"] = "bob", ["password"] = Password });
            using var response = await browserless.SendAsync(crossSite);
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        }

        // Three wrong passwords lock the account: the right one is then refused too, with a wait in the page.
        await using var chromium = await HeadlessChromium.LaunchAsync();
        var page = await chromium.PageAsync();
        for (int i = 0; i < 4; i++)
        {
            await page.GotoAsync(_url + "/portal/");
            await page.FillAsync("#username", "bob");
            await page.FillAsync("#password", i < 3 ? $"wrong password {i}" : Password);
            await page.ClickAsync("button[type=submit]");
            await Expect(page.Locator("p.error")).ToContainTextAsync("Sign-in failed");
        }

        await Expect(page.Locator("p.error")).ToContainTextAsync("try again in");
    }
}
