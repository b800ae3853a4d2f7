using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using CardKeep.Interop.Tests.Harness;
using Xunit.Abstractions;
using static CardKeep.Interop.Tests.Agent.AgentClients;

namespace CardKeep.Interop.Tests.Agent;

/// <summary>
/// Card sessions: a live virtual card (PIV applet through vpcd and the private pcscd) with a 9A P-256 and a 9C RSA-2048
/// key made by yubico-piv-tool, enrolled and logged in through cardkeep, used by OpenSSH's tools; then pulled out.
/// Logins name the reader: without it the agent looks at every reader with a card for the user's, and other tests'
/// cards (some of which assert the exact commands they receive) share this pcscd.
/// </summary>
public sealed class AgentCardTests(ITestOutputHelper output) : IDisposable
{
    private static readonly Dictionary<string, string?> _pin = new() { ["CARDKEEP_PIN"] = "123456" };
    private readonly VirtualCardOnReader _vsc = new();

    public void Dispose() => _vsc.Dispose();

    [Fact]
    public async Task CardSession_SshToolsUseCardKeysAndRemovalEndsTheSessionWithinOneSecond()
    {
        await _vsc.GenerateWithCertificateAsync("9a", "ECCP256", "alice 9a");
        await _vsc.GenerateWithCertificateAsync("9c", "RSA2048", "alice 9c");
        using var alice = await TestUser.CreateAsync();
        using var bob = await TestUser.CreateAsync();
        using var agent = await RunningAgent.StartAsync();
        var enrolled = await agent.CliAsync(alice, ["agent", "enroll-card", "--reader", _vsc.Reader], _pin);
        Assert.True(enrolled.ExitCode == 0, enrolled + agent.Log);
        Assert.Contains($"enrolled card {_vsc.Card.Serial}", enrolled.StdOut, StringComparison.Ordinal);
        var login = await agent.CliAsync(alice, ["login", "--reader", _vsc.Reader], _pin);
        Assert.True(login.ExitCode == 0, login + agent.Log);
        Assert.Contains($"logged in with card {_vsc.Card.Serial}", login.StdOut, StringComparison.Ordinal);

        var listed = await agent.AsUserAsync(alice, "ssh-add", ["-l"]);
        Assert.True(listed.ExitCode == 0, listed + agent.Log);
        Assert.Contains("PIV PIV Authentication (9A)", listed.StdOut, StringComparison.Ordinal);
        Assert.Contains("(ECDSA)", listed.StdOut, StringComparison.Ordinal);
        Assert.Contains("2048 SHA256:", listed.StdOut, StringComparison.Ordinal);
        Assert.Contains("(RSA)", listed.StdOut, StringComparison.Ordinal);
        var keys = await PublicKeysAsync(agent, alice);
        Assert.Equal(2, keys.Length);

        string folder = alice.Folder("card");
        var paths = keys.Select((line, i) => WritePublicKey(alice, folder, $"card{i}.pub", line)).ToList();
        foreach (string path in paths)
        {
            // ssh-add -T: flags 0, so the RSA card key answers ssh-rsa (SHA-1 DigestInfo padded on the host).
            var test = await agent.AsUserAsync(alice, "ssh-add", ["-T", path]);
            Assert.True(test.ExitCode == 0, test + agent.Log);
            // ssh-keygen -Y: RSA signs with rsa-sha2-512 (flags 4).
            await SignAndVerifyAsync(agent, alice, folder, path);
        }

        using var sshd = await ThrowawaySshd.StartAsync(string.Join('\n', keys) + "\n");
        foreach (string path in paths)
        {
            var ssh = await SshLoginAsync(agent, alice, sshd, folder, path);
            Assert.True(ssh.ExitCode == 0, ssh + "\n--- sshd\n" + sshd.Log + "\n--- agent\n" + agent.Log);
            Assert.Equal("LOGIN-OK", ssh.StdOut.Trim());
        }

        Assert.Contains("(Card)", await agent.LogContainingAsync("(Card)"), StringComparison.Ordinal);

        // Bob gets nothing of Alice's card.
        Assert.Contains("The agent has no identities.", (await agent.AsUserAsync(bob, "ssh-add", ["-l"])).All, StringComparison.Ordinal);
        foreach (string line in keys)
        {
            Assert.Equal(5, await RawSignAsync(agent, bob, line.Split(' ')[1]));
        }

        // Pull the card: its identities leave every connection within a second.
        var clock = Stopwatch.StartNew();
        _vsc.Eject();
        while ((await PublicKeysAsync(agent, alice)).Length > 0)
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), "card keys still listed 5 s after the removal\n" + agent.Log);
            await Task.Delay(20);
        }

        clock.Stop();
        output.WriteLine($"card keys gone from ssh-add -L {clock.ElapsedMilliseconds} ms after the card left vpcd");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), $"card keys gone only after {clock.ElapsedMilliseconds} ms");
        var refused = await SshLoginAsync(agent, alice, sshd, folder, paths[0]);
        Assert.NotEqual(0, refused.ExitCode);
        Assert.NotEqual(0, (await agent.AsUserAsync(alice, "ssh-add", ["-T", paths[0]])).ExitCode);

        // The store says so, and the hook ran with the user, the session and the reader.
        var store = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(agent.StateDirectory, "sessions.json")))!;
        var session = store["sessions"]!.AsArray().Single(s => s!["userName"]!.GetValue<string>() == alice.Name)!;
        Assert.Equal("card-removed", session["endReason"]!.GetValue<string>());
        Assert.True(session["card"]!.GetValue<bool>());
        Assert.Equal(_vsc.Card.Serial.ToString(System.Globalization.CultureInfo.InvariantCulture), session["cardSerial"]!.GetValue<string>());
        Assert.Equal(_vsc.Reader, session["reader"]!.GetValue<string>());
        await WaitForAsync(() => File.Exists(agent.HookLog), agent.Log);
        Assert.Equal($"{alice.Name} {session["id"]!.GetValue<string>()} {_vsc.Reader}", (await File.ReadAllTextAsync(agent.HookLog)).Trim());

        // Re-insert and log in again: the keys are back.
        _vsc.ReopenAndInsert();
        Assert.Empty(await PublicKeysAsync(agent, alice));
        Assert.Equal(0, (await agent.CliAsync(alice, ["login", "--reader", _vsc.Reader], _pin)).ExitCode);
        Assert.Equal(2, (await PublicKeysAsync(agent, alice)).Length);
        Assert.DoesNotContain("123456", agent.Log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CardLogin_WrongPinOrAnotherUsersCard_IsRefused()
    {
        await _vsc.GenerateWithCertificateAsync("9a", "ECCP256", "alice 9a");
        using var alice = await TestUser.CreateAsync();
        using var bob = await TestUser.CreateAsync();
        using var agent = await RunningAgent.StartAsync();
        Assert.Equal(0, (await agent.CliAsync(alice, ["agent", "enroll-card", "--reader", _vsc.Reader], _pin)).ExitCode);

        var wrong = await agent.CliAsync(alice, ["login", "--reader", _vsc.Reader], new Dictionary<string, string?> { ["CARDKEEP_PIN"] = "000000" });
        Assert.Equal(1, wrong.ExitCode);
        Assert.Contains("wrong PIN (2 tries left)", wrong.StdErr, StringComparison.Ordinal);
        Assert.Empty(await PublicKeysAsync(agent, alice));

        // The card is Alice's: Bob cannot enroll it, and has nothing to log in with.
        var bobEnroll = await agent.CliAsync(bob, ["agent", "enroll-card", "--reader", _vsc.Reader], _pin);
        Assert.NotEqual(0, bobEnroll.ExitCode);
        Assert.Contains("enrolled for another user", bobEnroll.StdErr, StringComparison.Ordinal);
        Assert.NotEqual(0, (await agent.CliAsync(bob, ["login", "--pin", "123456"])).ExitCode);

        // A card whose 9A key changed since enrollment fails the challenge.
        await _vsc.GenerateWithCertificateAsync("9a", "ECCP256", "replaced 9a");
        var replaced = await agent.CliAsync(alice, ["login", "--reader", _vsc.Reader], _pin);
        Assert.Equal(1, replaced.ExitCode);
        Assert.Contains("not the enrolled card", replaced.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Pamtester_PamExecWithCardAndPin_AuthenticatesRightPinAndRefusesWrongPin()
    {
        await _vsc.GenerateWithCertificateAsync("9a", "ECCP256", "alice 9a");
        using var alice = await TestUser.CreateAsync();
        using var agent = await RunningAgent.StartAsync();
        Assert.Equal(0, (await agent.CliAsync(alice, ["agent", "enroll-card", "--reader", _vsc.Reader], _pin)).ExitCode);
        string service = "cardkeep-test-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));
        string file = Path.Combine("/etc/pam.d", service);
        // In a PAM file an argument with spaces is written in square brackets.
        await File.WriteAllTextAsync(file,
            $"auth required pam_exec.so expose_authtok quiet /usr/bin/dotnet {CardKeepCli.DllPath} pam-auth --api-socket {agent.ApiSocketPath} --reader [{_vsc.Reader}]\n" +
            "account required pam_permit.so\n");
        try
        {
            var right = await ProcessRunner.RunAsync("pamtester", [service, alice.Name, "authenticate"], stdin: "123456\n");
            Assert.True(right.ExitCode == 0, right + agent.Log);
            Assert.Contains("pamtester: successfully authenticated", right.All, StringComparison.Ordinal);
            Assert.Single(await PublicKeysAsync(agent, alice));
            var status = await agent.CliAsync(alice, ["agent", "status", "--json"]);
            Assert.Contains("\"card\": true", status.StdOut, StringComparison.Ordinal);

            var wrong = await ProcessRunner.RunAsync("pamtester", [service, alice.Name, "authenticate"], stdin: "999999\n");
            Assert.NotEqual(0, wrong.ExitCode);
            Assert.DoesNotContain("successfully authenticated", wrong.All, StringComparison.Ordinal);
            Assert.Contains("wrong PIN", await agent.LogContainingAsync("wrong PIN"), StringComparison.Ordinal);
            Assert.DoesNotContain("999999", agent.Log, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }

    private static async Task WaitForAsync(Func<bool> condition, string context)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out\n" + context);
            await Task.Delay(50);
        }
    }
}
