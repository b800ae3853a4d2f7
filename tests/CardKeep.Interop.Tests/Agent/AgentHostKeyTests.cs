using CardKeep.Interop.Tests.Harness;
using static CardKeep.Interop.Tests.Agent.AgentClients;

namespace CardKeep.Interop.Tests.Agent;

/// <summary>Host sessions (no card): the host key store through cardkeep, used by OpenSSH's own ssh-add, ssh-keygen and ssh.</summary>
public sealed class AgentHostKeyTests
{
    private static readonly Dictionary<string, string?> _passphrase = new() { ["CARDKEEP_PASSPHRASE"] = "correct horse" };

    [Fact]
    public async Task HostSession_SshAddKeygenAndSsh_UseTheHostKeysAndASecondUserGetsNothing()
    {
        using var alice = await TestUser.CreateAsync();
        using var bob = await TestUser.CreateAsync();
        using var agent = await RunningAgent.StartAsync();
        foreach (string type in new[] { "ecdsa-p256", "rsa-2048", "ed25519", "ecdsa-p384" })
        {
            var made = await agent.CliAsync(alice, ["hostkey", "new", "--type", type, "--comment", "host-" + type], _passphrase);
            Assert.True(made.ExitCode == 0, made + agent.Log);
        }

        // Not logged in yet: the store is sealed, nothing is offered.
        Assert.Empty(await PublicKeysAsync(agent, alice));
        var login = await agent.CliAsync(alice, ["login"], _passphrase);
        Assert.True(login.ExitCode == 0, login + agent.Log);
        Assert.Contains("logged in with your host key store", login.StdOut, StringComparison.Ordinal);

        var listed = await agent.AsUserAsync(alice, "ssh-add", ["-l"]);
        Assert.True(listed.ExitCode == 0, listed.ToString());
        Assert.Contains("(ECDSA)", listed.StdOut, StringComparison.Ordinal);
        Assert.Contains("2048 SHA256:", listed.StdOut, StringComparison.Ordinal);
        Assert.Contains("(RSA)", listed.StdOut, StringComparison.Ordinal);
        Assert.Contains("(ED25519)", listed.StdOut, StringComparison.Ordinal);
        Assert.Contains("host-ecdsa-p384", listed.StdOut, StringComparison.Ordinal);

        string folder = alice.Folder("keys");
        var keys = await PublicKeysAsync(agent, alice);
        Assert.Equal(4, keys.Length);
        var paths = keys.Select((line, i) => WritePublicKey(alice, folder, $"key{i}.pub", line)).ToList();
        foreach (string path in paths)
        {
            await SignAndVerifyAsync(agent, alice, folder, path);
            var test = await agent.AsUserAsync(alice, "ssh-add", ["-T", path]);
            Assert.True(test.ExitCode == 0, $"ssh-add -T {File.ReadAllText(path)}{test}{agent.Log}");
        }

        using var sshd = await ThrowawaySshd.StartAsync(string.Join('\n', keys) + "\n");
        foreach (string path in paths.Where(p => File.ReadAllText(p).StartsWith("ssh-rsa", StringComparison.Ordinal) || File.ReadAllText(p).StartsWith("ecdsa-sha2-nistp256", StringComparison.Ordinal)))
        {
            var ssh = await SshLoginAsync(agent, alice, sshd, folder, path);
            Assert.True(ssh.ExitCode == 0, ssh + "\n--- sshd\n" + sshd.Log + "\n--- agent\n" + agent.Log);
            Assert.Equal("LOGIN-OK", ssh.StdOut.Trim());
        }

        // RSA through ssh: the client asked for rsa-sha2-512 (flags 4) and got exactly that.
        Assert.Contains("flags=4", await agent.LogContainingAsync("flags=4"), StringComparison.Ordinal);

        // Bob: sees none of Alice's keys, cannot use them through ssh-keygen, ssh-add -d, or a raw sign request.
        var bobList = await agent.AsUserAsync(bob, "ssh-add", ["-l"]);
        Assert.Equal(1, bobList.ExitCode);
        Assert.Contains("The agent has no identities.", bobList.All, StringComparison.Ordinal);
        string bobFolder = bob.Folder("keys");
        foreach (string line in keys)
        {
            string path = WritePublicKey(bob, bobFolder, "alice.pub", line);
            var steal = await agent.AsUserAsync(bob, "ssh-keygen", ["-Y", "sign", "-U", "-f", path, "-n", "file", path], workingDirectory: bobFolder);
            Assert.NotEqual(0, steal.ExitCode);
            Assert.NotEqual(0, (await agent.AsUserAsync(bob, "ssh-add", ["-d", path])).ExitCode);
            Assert.Equal(5, await RawSignAsync(agent, bob, line.Split(' ')[1]));
        }

        var bobStatus = await agent.CliAsync(bob, ["agent", "status"]);
        Assert.DoesNotContain("SHA256:", bobStatus.StdOut, StringComparison.Ordinal);
        Assert.Equal(4, (await PublicKeysAsync(agent, alice)).Length);

        // Logout: the keys go.
        var logout = await agent.CliAsync(alice, ["logout"]);
        Assert.True(logout.ExitCode == 0, logout.ToString());
        Assert.Empty(await PublicKeysAsync(agent, alice));
        var wrong = await agent.CliAsync(alice, ["login"], new Dictionary<string, string?> { ["CARDKEEP_PASSPHRASE"] = "wrong" });
        Assert.Equal(1, wrong.ExitCode);
        Assert.Contains("wrong passphrase", wrong.StdErr, StringComparison.Ordinal);
        Assert.DoesNotContain("correct horse", agent.Log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SshAdd_KeyFilesWithLifetimeConfirmLockAndRemoveAll_BehaveLikeOpenSsh()
    {
        using var alice = await TestUser.CreateAsync();
        string answers = Directory.CreateTempSubdirectory("cardkeep-confirm-").FullName;
        using var agent = await RunningAgent.StartAsync(null, "--confirm-command", $"/usr/bin/test -e {answers}/allow-{{comment}}");
        string folder = alice.Folder("files");
        foreach (var (name, args) in new[] { ("id_ecdsa", "-t ecdsa -b 256"), ("id_rsa", "-t rsa -b 2048"), ("id_ed25519", "-t ed25519") })
        {
            var made = await alice.RunAsync("/bin/sh", ["-c", $"ssh-keygen -q {args} -N '' -C {name} -f {folder}/{name}"]);
            Assert.True(made.ExitCode == 0, made.ToString());
        }

        var add = await agent.AsUserAsync(alice, "ssh-add", [$"{folder}/id_ecdsa", $"{folder}/id_rsa", $"{folder}/id_ed25519"]);
        Assert.True(add.ExitCode == 0, add + agent.Log);
        foreach (string name in new[] { "id_ecdsa", "id_rsa", "id_ed25519" })
        {
            // ssh-add -T signs with flags 0: RSA answers ssh-rsa (SHA-1), as OpenSSH's agent does.
            var test = await agent.AsUserAsync(alice, "ssh-add", ["-T", $"{folder}/{name}.pub"]);
            Assert.True(test.ExitCode == 0, name + test + agent.Log);
            await SignAndVerifyAsync(agent, alice, folder, $"{folder}/{name}.pub");
        }

        // -t: gone after its lifetime.
        Assert.Equal(0, (await agent.AsUserAsync(alice, "ssh-add", ["-D"])).ExitCode);
        var timed = await agent.AsUserAsync(alice, "ssh-add", ["-t", "2", $"{folder}/id_ed25519"]);
        Assert.True(timed.ExitCode == 0, timed.ToString());
        Assert.Contains("Lifetime set to 2 seconds", timed.All, StringComparison.Ordinal);
        Assert.Single(await PublicKeysAsync(agent, alice));
        await Task.Delay(TimeSpan.FromSeconds(3.2));
        Assert.Empty(await PublicKeysAsync(agent, alice));

        // -c: the confirm program (here: does a file named like the key's comment exist?) decides each use.
        var confirmed = await agent.AsUserAsync(alice, "ssh-add", ["-c", $"{folder}/id_rsa"]);
        Assert.True(confirmed.ExitCode == 0, confirmed.ToString());
        Assert.NotEqual(0, (await agent.AsUserAsync(alice, "ssh-add", ["-T", $"{folder}/id_rsa.pub"])).ExitCode);
        await File.WriteAllTextAsync(Path.Combine(answers, "allow-id_rsa"), string.Empty);
        var nowAllowed = await agent.AsUserAsync(alice, "ssh-add", ["-T", $"{folder}/id_rsa.pub"]);
        Assert.True(nowAllowed.ExitCode == 0, nowAllowed + agent.Log);
        Directory.Delete(answers, recursive: true);
        Assert.Contains("confirm program answered", await agent.LogContainingAsync("confirm program answered"), StringComparison.Ordinal);

        // -x / -X: locked, the list is empty and signing fails; a wrong password keeps it locked.
        await agent.AsUserAsync(alice, "ssh-add", [$"{folder}/id_ecdsa"]);
        var locked = await agent.AsUserAsync(alice, "ssh-add", ["-x"], stdin: "lockpw\nlockpw\n");
        Assert.True(locked.ExitCode == 0, locked.ToString());
        Assert.Contains("Agent locked.", locked.All, StringComparison.Ordinal);
        Assert.Empty(await PublicKeysAsync(agent, alice));
        Assert.NotEqual(0, (await agent.AsUserAsync(alice, "ssh-add", ["-T", $"{folder}/id_ecdsa.pub"])).ExitCode);
        Assert.NotEqual(0, (await agent.AsUserAsync(alice, "ssh-add", ["-X"], stdin: "nope\n")).ExitCode);
        var unlocked = await agent.AsUserAsync(alice, "ssh-add", ["-X"], stdin: "lockpw\n");
        Assert.True(unlocked.ExitCode == 0, unlocked.ToString());
        Assert.Contains("Agent unlocked.", unlocked.All, StringComparison.Ordinal);
        Assert.Equal(2, (await PublicKeysAsync(agent, alice)).Length);

        // -D removes everything added.
        var removed = await agent.AsUserAsync(alice, "ssh-add", ["-D"]);
        Assert.Contains("All identities removed.", removed.All, StringComparison.Ordinal);
        Assert.Empty(await PublicKeysAsync(agent, alice));

        // -s (PKCS#11 provider) is refused with a log line that says what to do instead.
        var provider = await agent.AsUserAsync(alice, "ssh-add", ["-s", "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so"], stdin: "123456\n");
        Assert.NotEqual(0, provider.ExitCode);
        Assert.Contains("cardkeep login", await agent.LogContainingAsync("cardkeep login"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task HostkeyImport_FileAndFromAgent_PersistAcrossAgentRestart()
    {
        using var alice = await TestUser.CreateAsync();
        using var first = await RunningAgent.StartAsync();
        string folder = alice.Folder("import");
        await alice.RunAsync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "from-file", "-f", $"{folder}/file_key"]);
        await alice.RunAsync("ssh-keygen", ["-q", "-t", "ecdsa", "-b", "384", "-N", "", "-C", "added", "-f", $"{folder}/added_key"]);
        var imported = await first.CliAsync(alice, ["hostkey", "import", $"{folder}/file_key"], _passphrase);
        Assert.True(imported.ExitCode == 0, imported + first.Log);
        Assert.Contains("from-file", imported.StdOut, StringComparison.Ordinal);
        Assert.Equal(0, (await first.AsUserAsync(alice, "ssh-add", [$"{folder}/added_key"])).ExitCode);
        var fingerprint = (await alice.RunAsync("ssh-keygen", ["-l", "-f", $"{folder}/added_key.pub"])).StdOut.Split(' ')[1];
        var fromAgent = await first.CliAsync(alice, ["hostkey", "import", "--from-agent", fingerprint], _passphrase);
        Assert.True(fromAgent.ExitCode == 0, fromAgent + first.Log);
        var list = await first.CliAsync(alice, ["hostkey", "list"]);
        Assert.Contains("from-file", list.StdOut, StringComparison.Ordinal);
        Assert.Contains("ecdsa-sha2-nistp384", list.StdOut, StringComparison.Ordinal);
        Assert.Equal(0, (await first.CliAsync(alice, ["login"], _passphrase)).ExitCode);

        // SIGTERM: a clean exit that removes the sockets; the store and the session record stay.
        Assert.True(await first.TerminateAsync(TimeSpan.FromSeconds(10)), first.Log);
        Assert.Equal(0, first.ExitCode);
        Assert.False(File.Exists(first.SocketPath));
        using var second = await RunningAgent.StartAsync(first.StateDirectory);
        var status = await second.CliAsync(alice, ["agent", "status"]);
        Assert.Contains("host key store", status.StdOut, StringComparison.Ordinal);
        Assert.Empty(await PublicKeysAsync(second, alice));
        Assert.Equal(0, (await second.CliAsync(alice, ["login"], _passphrase)).ExitCode);
        var keys = await PublicKeysAsync(second, alice);
        Assert.Equal(2, keys.Length);
        string path = WritePublicKey(alice, folder, "restored.pub", keys.Single(k => k.Contains("from-file", StringComparison.Ordinal)));
        await SignAndVerifyAsync(second, alice, folder, path);
        var removed = await second.CliAsync(alice, ["hostkey", "remove", fingerprint], _passphrase);
        Assert.True(removed.ExitCode == 0, removed.ToString());
        Assert.DoesNotContain("nistp384", (await second.CliAsync(alice, ["hostkey", "list"])).StdOut, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ForwardedAgent_SshDashA_IsToldApartAndDenyPolicyRefusesIt()
    {
        using var alice = await TestUser.CreateAsync();
        using var agent = await RunningAgent.StartAsync(null, "--forwarding", "deny", "--verbose");
        Assert.Equal(0, (await agent.CliAsync(alice, ["hostkey", "new", "--type", "ecdsa-p256"], _passphrase)).ExitCode);
        Assert.Equal(0, (await agent.CliAsync(alice, ["login"], _passphrase)).ExitCode);
        string key = Assert.Single(await PublicKeysAsync(agent, alice));
        string folder = alice.Folder("fwd");
        string path = WritePublicKey(alice, folder, "key.pub", key);
        using var sshd = await ThrowawaySshd.StartAsync(key + "\n");
        string remotePub = Path.Combine(sshd.Directory, "fwd.pub");
        await File.WriteAllTextAsync(remotePub, key + "\n");
        UnixModes.Set(remotePub, UnixModes.Readable);

        // Local use signs (the login itself); on the far side the forwarded agent lists the key but may not sign.
        var ssh = await agent.AsUserAsync(alice, "ssh",
        [
            "-A", "-F", "/dev/null", "-o", "UserKnownHostsFile=" + Path.Combine(folder, "known_hosts"), "-o", "StrictHostKeyChecking=accept-new",
            "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-i", path, "-p", sshd.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            $"{ThrowawaySshd.User}@127.0.0.1", $"ssh-add -l; ssh-keygen -Y sign -U -f {remotePub} -n file {remotePub} && echo FORWARDED-SIGNED",
        ]);
        Assert.True(ssh.ExitCode is 0 or 1 or 255, ssh.ToString());
        Assert.Contains("(ECDSA)", ssh.StdOut, StringComparison.Ordinal);
        Assert.DoesNotContain("FORWARDED-SIGNED", ssh.StdOut, StringComparison.Ordinal);
        Assert.Contains("forwarding=True", await agent.LogContainingAsync("forwarding=True"), StringComparison.Ordinal);
        Assert.Contains("forwarded use of", await agent.LogContainingAsync("forwarded use of"), StringComparison.Ordinal);
        Assert.Contains("forwarded=False", await agent.LogContainingAsync("forwarded=False"), StringComparison.Ordinal);
    }
}
