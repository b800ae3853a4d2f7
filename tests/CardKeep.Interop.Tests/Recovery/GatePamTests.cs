using System.Security.Cryptography;
using System.Text.RegularExpressions;
using CardKeep.Client.Recovery;
using CardKeep.Interop.Tests.Harness;

namespace CardKeep.Interop.Tests.Recovery;

/// <summary>
/// <c>cardkeep gate</c> as a login: a pam_exec service (<c>auth required pam_exec.so expose_authtok stdout quiet …
/// gate --pam</c>) in <c>/etc/pam.d</c>, driven by <c>pamtester</c>, with a live VSC (9A and 9E keys made by
/// yubico-piv-tool) as the registered card and the machine store in a test folder (<c>--machine-dir</c>).
/// The gate is pinned to the test's readers: other tests' cards share this pcscd. The kit's printable page is rendered
/// by Debian's Chromium (Playwright) and its QR code read back with <c>zbarimg</c> (zbar-tools).
/// </summary>
public sealed partial class GatePamTests : IDisposable
{
    private readonly VirtualCardOnReader _vsc = new();
    private readonly string _dir = Directory.CreateTempSubdirectory("cardkeep-gate-interop-").FullName;
    private readonly List<string> _services = [];

    public void Dispose()
    {
        foreach (string service in _services)
        {
            File.Delete(Path.Combine("/etc/pam.d", service));
        }

        _vsc.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private string MachineDir => Path.Combine(_dir, "my-computer");

    [Fact]
    public async Task PamExecGate_CardAllows_NoCardDenies_AccessKeyAllowsOnceAndRotates_DamagedStoreFailsClosed()
    {
        using var alice = await TestUser.CreateAsync();
        string accessKey = await BindAsync(alice.Name, withCardAuthentication: true);
        string login = WriteService(_vsc.Reader);

        var withCard = await PamtesterAsync(login, alice.Name, "\n");
        Assert.True(withCard.ExitCode == 0, withCard.ToString());
        Assert.Contains("successfully authenticated", withCard.All, StringComparison.Ordinal);
        Assert.Contains("registered card (9E card-authentication challenge): allowed", withCard.All, StringComparison.Ordinal);

        _vsc.Eject();
        var noCard = await PamtesterAsync(login, alice.Name, "\n");
        Assert.NotEqual(0, noCard.ExitCode);
        Assert.DoesNotContain("successfully authenticated", noCard.All, StringComparison.Ordinal);
        Assert.Contains("no access key or emergency kit was given", noCard.All, StringComparison.Ordinal);

        var withKey = await PamtesterAsync(login, alice.Name, accessKey + "\n");
        Assert.True(withKey.ExitCode == 0, withKey.ToString());
        Assert.Contains("successfully authenticated", withKey.All, StringComparison.Ordinal);
        Assert.Contains("get a new card", withKey.All, StringComparison.Ordinal);
        string newKey = NewKey(withKey.All);
        Assert.NotEqual(accessKey, newKey);

        var reused = await PamtesterAsync(login, alice.Name, accessKey + "\n");
        Assert.NotEqual(0, reused.ExitCode);
        Assert.Contains("already used", reused.All, StringComparison.Ordinal);
        Assert.DoesNotContain(accessKey, reused.All, StringComparison.Ordinal);

        var status = await GateCliAsync(["gate", "status", "--json", "--machine-dir", MachineDir]);
        Assert.Contains("\"cardLost\": true", status.StdOut, StringComparison.Ordinal);
        Assert.DoesNotContain(newKey, status.All, StringComparison.Ordinal);

        // The rotated key works, once.
        var second = await PamtesterAsync(login, alice.Name, newKey.Replace('-', ' ') + "\n");
        Assert.True(second.ExitCode == 0, second.ToString());
        string third = NewKey(second.All);

        // The card found again opens the computer and clears the "card lost" state.
        _vsc.ReopenAndInsert();
        var back = await PamtesterAsync(login, alice.Name, "\n");
        Assert.True(back.ExitCode == 0, back.ToString());
        Assert.Contains("the registered card is back", back.All, StringComparison.Ordinal);
        Assert.Contains("\"cardLost\": false", (await GateCliAsync(["gate", "status", "--json", "--machine-dir", MachineDir])).StdOut, StringComparison.Ordinal);

        // Another user is not the gate's business: it lets the PAM stack go on.
        var other = await GateCliAsync(["gate", "--user", "someone-else", "--machine-dir", MachineDir]);
        Assert.True(other.ExitCode == 0, other.ToString());
        Assert.Contains("not applied", other.StdOut, StringComparison.Ordinal);

        // Damage one byte of the store: the gate fails closed for the administrator, even with the right key.
        string binding = Path.Combine(MachineDir, MachineStore.BindingFileName);
        byte[] bytes = await File.ReadAllBytesAsync(binding);
        bytes[^5] ^= 0x40;
        await File.WriteAllBytesAsync(binding, bytes);
        var damaged = await PamtesterAsync(login, alice.Name, third + "\n");
        Assert.NotEqual(0, damaged.ExitCode);
        Assert.DoesNotContain("successfully authenticated", damaged.All, StringComparison.Ordinal);
        Assert.Contains("the machine store is damaged; ask the administrator", damaged.All, StringComparison.Ordinal);
        var direct = await GateCliAsync(["gate", "--user", alice.Name, "--machine-dir", MachineDir, "--reader", _vsc.Reader],
            new Dictionary<string, string?> { ["CARDKEEP_ACCESS_KEY"] = third });
        Assert.Equal(3, direct.ExitCode);
        Assert.Contains("fails closed", direct.StdErr, StringComparison.Ordinal);
        Assert.Contains("failed its integrity check", direct.StdErr, StringComparison.Ordinal);

        // A store others may read is refused the same way.
        File.SetUnixFileMode(binding, File.GetUnixFileMode(binding) | UnixFileMode.OtherRead);
        var unsafeStore = await GateCliAsync(["gate", "--user", alice.Name, "--machine-dir", MachineDir, "--reader", _vsc.Reader]);
        Assert.Equal(3, unsafeStore.ExitCode);
        Assert.Contains("others may read or change it", unsafeStore.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PamExecGate_AnotherCardOrACopiedSerial_IsDenied()
    {
        using var alice = await TestUser.CreateAsync();
        await BindAsync(alice.Name, withCardAuthentication: true);
        using var other = new VirtualCardOnReader();
        await other.GenerateWithCertificateAsync("9a", "ECCP256", "mallory 9a");
        await other.GenerateWithCertificateAsync("9e", "ECCP256", "mallory 9e");

        var foreign = await PamtesterAsync(WriteService(other.Reader), alice.Name, "\n");
        Assert.NotEqual(0, foreign.ExitCode);
        Assert.DoesNotContain("successfully authenticated", foreign.All, StringComparison.Ordinal);
        Assert.Contains("is not " + alice.Name + "'s registered card", foreign.All, StringComparison.Ordinal);

        // The registered card re-keyed in 9E (same serial, same 9A): the challenge fails.
        await _vsc.GenerateWithCertificateAsync("9e", "ECCP256", "new 9e");
        var rekeyed = await PamtesterAsync(WriteService(_vsc.Reader), alice.Name, "\n");
        Assert.NotEqual(0, rekeyed.ExitCode);
        Assert.Contains("the 9E challenge was not signed by the registered key", rekeyed.All, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PamExecGate_WrongAccessKeys_LockOut_RightKeyRefusedDuringTheLock_AcceptedAfter()
    {
        using var alice = await TestUser.CreateAsync();
        string accessKey = await BindAsync(alice.Name, withCardAuthentication: false);
        new MachineStore(MachineDir).Update(b => b with { Policy = new GatePolicy { FailureDelayMilliseconds = 100, LockAfterFailures = 3, LockoutSeconds = 6 } });
        _vsc.Eject();
        string login = WriteService(_vsc.Reader);
        string wrongKey = string.Join('-', Enumerable.Repeat("000011", 8));

        for (int attempt = 1; attempt <= 3; attempt++)
        {
            var wrong = await PamtesterAsync(login, alice.Name, wrongKey + "\n");
            Assert.NotEqual(0, wrong.ExitCode);
            Assert.Contains(attempt < 3 ? $"{attempt} of 3 attempts" : "locked for 6 s", wrong.All, StringComparison.Ordinal);
        }

        var clock = System.Diagnostics.Stopwatch.StartNew();
        var locked = await PamtesterAsync(login, alice.Name, accessKey + "\n");
        Assert.NotEqual(0, locked.ExitCode);
        Assert.Contains("locked until", locked.All, StringComparison.Ordinal);

        await Task.Delay(TimeSpan.FromSeconds(6.5) - clock.Elapsed is { Ticks: > 0 } wait ? wait : TimeSpan.Zero);
        var after = await PamtesterAsync(login, alice.Name, accessKey + "\n");
        Assert.True(after.ExitCode == 0, after.ToString());
        NewKey(after.All);
    }

    [Fact]
    public async Task EmergencyKit_MadeWithTheCard_OpensThroughPamWithItsPassphraseOnly()
    {
        using var alice = await TestUser.CreateAsync();
        await BindAsync(alice.Name, withCardAuthentication: true);
        string kit = Path.Combine(_dir, "kit.json"), page = Path.Combine(_dir, "kit.html");
        var passphrase = new Dictionary<string, string?> { ["CARDKEEP_KIT_PASSPHRASE"] = "purple elephant 42" };

        var created = await GateCliAsync(["gate", "kit", "create", "--out", kit, "--html", page, "--machine-dir", MachineDir, "--reader", _vsc.Reader], passphrase);
        Assert.True(created.ExitCode == 0, created.ToString());
        string html = await File.ReadAllTextAsync(page);
        Assert.Contains("<svg", html, StringComparison.Ordinal);
        Assert.DoesNotContain("purple elephant", html + await File.ReadAllTextAsync(kit), StringComparison.Ordinal);

        // The printed page's QR code, rendered by Chromium and read back by zbarimg, is the kit itself.
        string scanned = await ScanKitPageAsync(page);
        Assert.Equal((await File.ReadAllTextAsync(kit)).Trim(), scanned);

        _vsc.Eject();
        string scannedKit = Path.Combine(_dir, "scanned.json");
        await File.WriteAllTextAsync(scannedKit, scanned);
        var fromQr = await GateCliAsync(["gate", "--user", alice.Name, "--kit", scannedKit, "--machine-dir", MachineDir, "--reader", _vsc.Reader], passphrase);
        Assert.True(fromQr.ExitCode == 0, fromQr.ToString());
        Assert.Contains("Emergency kit accepted", fromQr.StdOut, StringComparison.Ordinal);

        string service = WriteService(_vsc.Reader, $"--kit {kit}");
        var wrong = await PamtesterAsync(service, alice.Name, "purple elephant 43\n");
        Assert.NotEqual(0, wrong.ExitCode);
        Assert.Contains("passphrase is wrong", wrong.All, StringComparison.Ordinal);

        var right = await PamtesterAsync(service, alice.Name, "purple elephant 42\n");
        Assert.True(right.ExitCode == 0, right.ToString());
        Assert.Contains("Emergency kit accepted", right.All, StringComparison.Ordinal);

        // Without the card, a new kit needs the access key; the old kit then stops working.
        var noProof = await GateCliAsync(["gate", "kit", "create", "--out", kit + "2", "--machine-dir", MachineDir, "--reader", _vsc.Reader], passphrase);
        Assert.Equal(2, noProof.ExitCode);
        Assert.Contains("give the access key", noProof.StdErr, StringComparison.Ordinal);
    }

    /// <summary>Opens the kit page in headless Chromium, screenshots its QR code and decodes it with zbarimg.</summary>
    private async Task<string> ScanKitPageAsync(string page)
    {
        string png = Path.Combine(_dir, "kit-qr.png");
        await using (var chromium = await HeadlessChromium.LaunchAsync())
        {
            var tab = await chromium.PageAsync();
            await tab.GotoAsync(new Uri(page).AbsoluteUri);
            Assert.Contains("CardKeep emergency kit", await tab.TitleAsync(), StringComparison.Ordinal);
            await tab.Locator(".qr svg").ScreenshotAsync(new() { Path = png });
            await HeadlessChromium.ScreenshotAsync(tab, "emergency-kit");
        }

        var decoded = await ProcessRunner.RunAsync("zbarimg", ["--raw", "-q", png]);
        Assert.True(decoded.ExitCode == 0, "zbarimg could not read the kit's QR code\n" + decoded);
        return decoded.StdOut.Trim();
    }

    /// <summary><c>cardkeep gate bind</c> for the test's card (9A, and 9E when asked); returns the access key it printed.</summary>
    private async Task<string> BindAsync(string user, bool withCardAuthentication)
    {
        await _vsc.GenerateWithCertificateAsync("9a", "ECCP256", user + " 9a");
        if (withCardAuthentication)
        {
            await _vsc.GenerateWithCertificateAsync("9e", "ECCP256", user + " 9e");
        }

        var bound = await GateCliAsync(["gate", "bind", "--user", user, "--reader", _vsc.Reader, "--machine-dir", MachineDir, "--machine-serial", "TEST-1"]);
        Assert.True(bound.ExitCode == 0, bound.ToString());
        Assert.Contains(withCardAuthentication ? "9E key: proven by challenge" : "no 9E key", bound.StdOut, StringComparison.Ordinal);
        return AccessKeyLine().Match(bound.StdOut) is { Success: true } m ? m.Groups["key"].Value : throw new InvalidOperationException(bound.ToString());
    }

    private string WriteService(string reader, string extra = "")
    {
        string service = "cardkeep-gate-test-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));
        // In a PAM file an argument with spaces is written in square brackets.
        File.WriteAllText(Path.Combine("/etc/pam.d", service),
            $"auth required pam_exec.so expose_authtok stdout quiet /usr/bin/dotnet {CardKeepCli.DllPath} gate --pam --machine-dir {MachineDir} --reader [{reader}] {extra}\n" +
            "account required pam_permit.so\n");
        _services.Add(service);
        return service;
    }

    private static Task<ProcessResult> PamtesterAsync(string service, string user, string stdin) =>
        ProcessRunner.RunAsync("pamtester", [service, user, "authenticate"], stdin: stdin, timeout: TimeSpan.FromSeconds(60));

    private static Task<ProcessResult> GateCliAsync(string[] args, IDictionary<string, string?>? environment = null) =>
        CardKeepCli.RunAsync(args, environment, stdin: "", timeout: TimeSpan.FromSeconds(60));

    private static string NewKey(string output) =>
        NewKeyLine().Match(output) is { Success: true } m ? m.Groups["key"].Value : throw new InvalidOperationException("no new access key printed:\n" + output);

    [GeneratedRegex(@"ACCESS KEY \(shown once, write it down\): (?<key>[0-9-]{55})")]
    private static partial Regex AccessKeyLine();

    [GeneratedRegex(@"YOUR NEW ACCESS KEY \(shown once, write it down now\): (?<key>[0-9-]{55})")]
    private static partial Regex NewKeyLine();
}
