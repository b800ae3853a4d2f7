using System.Text;
using System.Text.Json;
using CardKeep.Interop.Tests.Harness;
using CardKeep.VirtualCard.Store;

namespace CardKeep.Interop.Tests.PersonalEnvironment;

/// <summary>
/// <c>cardkeep env</c> end to end, every step a real process: a <c>cardkeep server</c> (SQLite) on a free port, a live
/// VSC in the private pcscd as the card (9A for the account's card sign-in, 9D for the record key), the account
/// registered with <c>cardkeep account register</c>, and the env commands over PC/SC. A small card budget: adding
/// past it evicts the least recently used from the card (all stay on the server); reading an evicted entry brings it
/// back and evicts the next.
/// </summary>
public sealed class EnvCommandTests : IAsyncLifetime
{
    private const string Pin = "123456";
    private readonly string _home = Directory.CreateTempSubdirectory("cardkeep-env-cli-").FullName;
    private LiveProcess? _server;
    private string _url = string.Empty;
    private string _budget = string.Empty;

    public async Task InitializeAsync()
    {
        string config = Path.Combine(_home, "server.json");
        await File.WriteAllTextAsync(config, JsonSerializer.Serialize(new { Accounts = new { PasswordIterations = 1000, AccessKeyIterations = 1000 } }));
        _server = LiveProcess.Start("dotnet", CardKeepCli.DllPath, "server", "--urls", "http://127.0.0.1:0", "--data-dir", Path.Combine(_home, "server"), "--config", config);
        string line = _server.WaitForLine(l => l.StartsWith("cardkeep server listening on ", StringComparison.Ordinal), TimeSpan.FromSeconds(60));
        _url = line["cardkeep server listening on ".Length..].Trim();
    }

    public Task DisposeAsync()
    {
        _server?.Dispose();
        Directory.Delete(_home, true);
        return Task.CompletedTask;
    }

    [Fact]
    public async Task SmallCard_LruEvictionAndBringBack_ThroughTheCli_CardHoldsOnlyCiphertext()
    {
        using var card = new VirtualCardOnReader();
        await card.GenerateWithCertificateAsync("9a", "ECCP256", "env 9a");
        await card.GenerateWithCertificateAsync("9d", "ECCP256", "env 9d");
        const string user = "envuser";
        var code = await OkAsync(Base(), "admin", "activation-code", "--server", _url, "--user", user, "--json");
        await OkAsync(Base(("CARDKEEP_PIN", Pin), ("CARDKEEP_RECOVERY_PASSWORD", "correct horse battery staple"), ("CARDKEEP_CHALLENGE_ANSWER", "Rex"),
            ("CARDKEEP_ACTIVATION_CODE", JsonDocument.Parse(code.StdOut).RootElement.GetProperty("code").GetString()!)),
            "account", "register", "--server", _url, "--user", user, "--card", card.Reader, "--question", "first pet?", "--full-name", "Env User", "--email", "env@example.org", "--machine-serial", "SN-ENV", "--machine-id", "env-computer", "--no-token");

        var setup = await Env(card, "setup");
        Assert.Matches(@"\d{6}(-\d{6}){7}", setup.StdOut);

        // Room on the card for three of these entries (same size each), not four.
        var sample = Enumerable.Range(1, 3).Select(i => new Client.PersonalEnvironment.CardEntry(new Client.PersonalEnvironment.EnvEntry
        {
            Id = Client.PersonalEnvironment.EnvEntry.NewId(), Kind = Client.PersonalEnvironment.EntryKind.Site, Name = $"site{i}", Url = $"https://site{i}.example.org/",
            UserName = $"login{i}", Password = $"Secret-{i}-pw", StartPage = "home", Sets = ["office"],
        }, 1, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()));
        _budget = (Client.PersonalEnvironment.EnvCard.Plan(null, sample, int.MaxValue).Bytes + 20).ToString(System.Globalization.CultureInfo.InvariantCulture);
        for (int i = 1; i <= 5; i++)
        {
            await Env(card, "add", $"site{i}", "--url", $"https://site{i}.example.org/", "--user-name", $"login{i}", "--start-page", "home", "--set", "office",
                "--card-budget", _budget, "--password", $"Secret-{i}-pw");
        }

        var list = await ListAsync(card);
        Assert.Equal(5, list.Count);
        Assert.Equal(["site3", "site4", "site5"], list.Where(e => e.OnCard).Select(e => e.Name).Order());
        var quota = JsonDocument.Parse((await Env(card, "quota", "--json")).StdOut).RootElement;
        Assert.Equal(5, quota.GetProperty("quota").GetProperty("usedEntries").GetInt64());

        var got = JsonDocument.Parse((await Env(card, "get", "site1", "--show", "--json", "--card-budget", _budget)).StdOut).RootElement;
        Assert.Equal("Secret-1-pw", got.GetProperty("password").GetString());
        Assert.NotEqual("card", got.GetProperty("source").GetString());
        Assert.Equal(["site1", "site4", "site5"], (await ListAsync(card)).Where(e => e.OnCard).Select(e => e.Name).Order());
        var again = JsonDocument.Parse((await Env(card, "get", "site4", "--show", "--json", "--card-budget", _budget)).StdOut).RootElement;
        Assert.Equal("card", again.GetProperty("source").GetString());

        var opened = await Env(card, "open", "site2", "--print", "--card-budget", _budget);
        Assert.Equal("https://site2.example.org/home", opened.StdOut.Trim());

        string envFile = Path.Combine(_home, "office.env"), bookmarks = Path.Combine(_home, "office.html");
        await Env(card, "add", "EDITOR", "--kind", "preference", "--value", "vim 'x'", "--set", "office", "--card-budget", _budget);
        await Env(card, "apply", "office", "--env-file", envFile, "--bookmarks", bookmarks, "--card-budget", _budget);
        Assert.Contains("export EDITOR='vim '\\''x'\\'''", await File.ReadAllTextAsync(envFile), StringComparison.Ordinal);
        string html = await File.ReadAllTextAsync(bookmarks);
        Assert.StartsWith("<!DOCTYPE NETSCAPE-Bookmark-file-1>", html, StringComparison.Ordinal);
        Assert.Contains("<A HREF=\"https://site3.example.org/home\">site3</A>", html, StringComparison.Ordinal);
        Assert.DoesNotContain("Secret-", html, StringComparison.Ordinal);

        var diff = await Env(card, "diff", "--json", "--card-budget", _budget);
        Assert.DoesNotContain("DAMAGED", diff.StdOut, StringComparison.Ordinal);

        // The card's objects hold ciphertext only, behind the PIN.
        var file = card.Card;
        var verified = Assert.IsType<PinResult.Verified>(file.VerifyPin(Encoding.ASCII.GetBytes(Pin)));
        using var unlock = verified.Unlock;
        byte[] objects = [.. Enumerable.Range(0, 8).SelectMany(i => file.GetPrivateObject(0x5FFF15u + (uint)i, unlock) ?? [])];
        Assert.True(objects.Length > 100);
        Assert.True(objects.AsSpan().IndexOf("Secret-"u8) < 0 && objects.AsSpan().IndexOf("site1"u8) < 0);
        Assert.Null(file.GetPublicObject(0x5FFF15));
    }

    [Fact]
    public async Task AccountReplaceCard_WithRecoveryCode_RekeysRecords_NewCardReadsAll_OldCardNothing()
    {
        using var oldCard = new VirtualCardOnReader();
        await oldCard.GenerateWithCertificateAsync("9a", "ECCP256", "old 9a");
        await oldCard.GenerateWithCertificateAsync("9d", "ECCP256", "old 9d");
        const string user = "envswap";
        var code = await OkAsync(Base(), "admin", "activation-code", "--server", _url, "--user", user, "--json");
        var account = Base(("CARDKEEP_PIN", Pin), ("CARDKEEP_RECOVERY_PASSWORD", "correct horse battery staple"), ("CARDKEEP_CHALLENGE_ANSWER", "Rex"),
            ("CARDKEEP_ACTIVATION_CODE", JsonDocument.Parse(code.StdOut).RootElement.GetProperty("code").GetString()!));
        await OkAsync(account, "account", "register", "--server", _url, "--user", user, "--card", oldCard.Reader, "--question", "first pet?",
            "--full-name", "Env User", "--email", "env@example.org", "--machine-serial", "SN-SWAP", "--machine-id", "swap-computer", "--no-token");
        var setup = await OkAsync(EnvFor(oldCard, user), "env", "setup", "--server", _url);
        string recovery = System.Text.RegularExpressions.Regex.Match(setup.StdOut, @"\d{6}(-\d{6}){7}").Value;
        await OkAsync(EnvFor(oldCard, user), "env", "add", "bank", "--url", "https://bank.example.org/", "--password", "Bank-pw-1", "--server", _url);
        await OkAsync(EnvFor(oldCard, user), "env", "add", "EDITOR", "--kind", "preference", "--value", "vim", "--server", _url);

        using var newCard = new VirtualCardOnReader();
        await newCard.GenerateWithCertificateAsync("9a", "ECCP256", "new 9a");
        await newCard.GenerateWithCertificateAsync("9d", "ECCP256", "new 9d");
        var replaced = await OkAsync(new Dictionary<string, string?>(account) { ["CARDKEEP_RECORD_RECOVERY_CODE"] = recovery, ["CARDKEEP_MGMT_KEY"] = VirtualCardOnReader.DefaultManagementKey },
            "account", "replace-card", "--server", _url, "--new-card", newCard.Reader, "--no-morph");
        Assert.Contains("records re-wrapped for the new card", replaced.StdOut, StringComparison.Ordinal);
        Assert.DoesNotContain(recovery, replaced.StdOut, StringComparison.Ordinal);

        var got = JsonDocument.Parse((await OkAsync(EnvFor(newCard, user), "env", "get", "bank", "--show", "--json", "--server", _url)).StdOut).RootElement;
        Assert.Equal("Bank-pw-1", got.GetProperty("password").GetString());
        var old = await CardKeepCli.RunAsync(["env", "list", "--server", _url], EnvFor(oldCard, user), timeout: TimeSpan.FromSeconds(180));
        Assert.NotEqual(0, old.ExitCode);
        var stale = await CardKeepCli.RunAsync(["env", "rekey", "--server", _url], new Dictionary<string, string?>(EnvFor(newCard, user)) { ["CARDKEEP_RECORD_RECOVERY_CODE"] = recovery },
            timeout: TimeSpan.FromSeconds(180));
        Assert.Equal(2, stale.ExitCode);
        Assert.Contains("recovery code is not right", stale.StdErr, StringComparison.Ordinal);
    }

    private Dictionary<string, string?> EnvFor(VirtualCardOnReader card, string user) =>
        Base(("CARDKEEP_PIN", Pin), ("CARDKEEP_MGMT_KEY", VirtualCardOnReader.DefaultManagementKey), ("CARDKEEP_USER", user), ("CARDKEEP_CARD", card.Reader),
            ("CARDKEEP_ENV_DIR", Path.Combine(_home, "env-" + user)));

    private async Task<List<(string Name, bool OnCard)>> ListAsync(VirtualCardOnReader card)
    {
        var json = JsonDocument.Parse((await Env(card, "list", "--json", "--card-budget", _budget)).StdOut).RootElement;
        return [.. json.EnumerateArray().Select(e => (e.GetProperty("name").GetString()!, e.GetProperty("onCard").GetBoolean()))];
    }

    private Task<ProcessResult> Env(VirtualCardOnReader card, params string[] args) =>
        OkAsync(Base(("CARDKEEP_PIN", Pin), ("CARDKEEP_MGMT_KEY", VirtualCardOnReader.DefaultManagementKey), ("CARDKEEP_USER", "envuser"), ("CARDKEEP_CARD", card.Reader)),
            ["env", .. args, "--server", _url]);

    private Dictionary<string, string?> Base(params (string Key, string Value)[] extra)
    {
        var env = new Dictionary<string, string?>
        {
            ["CARDKEEP_HOME"] = _home,
            ["CARDKEEP_MACHINE_DIR"] = Path.Combine(_home, "machine"),
            ["CARDKEEP_ENV_DIR"] = Path.Combine(_home, "env"),
            ["CARDKEEP_ESCROW_ITERATIONS"] = "1000",
        };
        foreach (var (key, value) in extra)
        {
            env[key] = value;
        }

        return env;
    }

    private static async Task<ProcessResult> OkAsync(Dictionary<string, string?> env, params string[] args)
    {
        var result = await CardKeepCli.RunAsync(args, env, timeout: TimeSpan.FromSeconds(180));
        Assert.True(result.ExitCode == 0, $"cardkeep {string.Join(' ', args)}\n{result}");
        return result;
    }
}
