using System.Globalization;
using CardKeep.Interop.Tests.Harness;

namespace CardKeep.Interop.Tests.Agent;

/// <summary>What the agent tests do with OpenSSH's tools, as a given user.</summary>
internal static class AgentClients
{
    /// <summary>A raw SIGN_REQUEST for a key blob straight through the socket (no ssh-add checks in between); prints the reply type.</summary>
    private const string RawSignScript = """
        import socket, struct, sys
        def string(b): return struct.pack('>I', len(b)) + b
        blob = bytes.fromhex(sys.argv[2])
        s = socket.socket(socket.AF_UNIX)
        s.connect(sys.argv[1])
        msg = bytes([13]) + string(blob) + string(b'raw sign attempt') + struct.pack('>I', 4)
        s.sendall(struct.pack('>I', len(msg)) + msg)
        n = struct.unpack('>I', s.recv(4))[0]
        print(s.recv(n)[0])
        """;

    /// <summary>ssh-add -L as the user: the public key lines of every identity it sees.</summary>
    public static async Task<string[]> PublicKeysAsync(RunningAgent agent, TestUser user)
    {
        var listed = await agent.AsUserAsync(user, "ssh-add", ["-L"]);
        return listed.ExitCode == 0 ? listed.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries) : [];
    }

    /// <summary>Writes a public key line where the user can read it and returns the path.</summary>
    public static string WritePublicKey(TestUser user, string folder, string name, string line)
    {
        string path = Path.Combine(folder, name);
        File.WriteAllText(path, line + "\n");
        _ = ProcessRunner.RunAsync("chown", [$"{user.Uid}:{user.Gid}", path]).GetAwaiter().GetResult();
        return path;
    }

    /// <summary>
    /// ssh-keygen -Y sign through the agent only (-U), then -Y verify against an allowed_signers line. Returns the
    /// verify output; asserts both succeed.
    /// </summary>
    public static async Task<string> SignAndVerifyAsync(RunningAgent agent, TestUser user, string folder, string publicKeyPath)
    {
        string message = Path.Combine(folder, "message.txt");
        await File.WriteAllTextAsync(message, "signed through the CardKeep agent\n");
        await ProcessRunner.RunAsync("chown", [$"{user.Uid}:{user.Gid}", message]);
        File.Delete(message + ".sig");
        var sign = await agent.AsUserAsync(user, "ssh-keygen", ["-Y", "sign", "-U", "-f", publicKeyPath, "-n", "file", message], workingDirectory: folder);
        Assert.True(sign.ExitCode == 0, $"ssh-keygen -Y sign -f {publicKeyPath}\n{sign}\n--- agent\n{agent.Log}");
        string[] parts = File.ReadAllText(publicKeyPath).Trim().Split(' ');
        string signers = Path.Combine(folder, "allowed_signers");
        await File.WriteAllTextAsync(signers, $"kst@example.com {parts[0]} {parts[1]}\n");
        var verify = await agent.AsUserAsync(user, "/bin/sh", ["-c", $"ssh-keygen -Y verify -f '{signers}' -I kst@example.com -n file -s '{message}.sig' < '{message}'"]);
        Assert.True(verify.ExitCode == 0, verify.ToString());
        Assert.Contains("Good \"file\" signature for kst@example.com", verify.All, StringComparison.Ordinal);
        return verify.All;
    }

    /// <summary>ssh as the user to the throwaway sshd with exactly this public key (the private half is in the agent).</summary>
    public static Task<ProcessResult> SshLoginAsync(RunningAgent agent, TestUser user, ThrowawaySshd sshd, string folder, string publicKeyPath) =>
        agent.AsUserAsync(user, "ssh",
        [
            "-F", "/dev/null", "-o", "UserKnownHostsFile=" + Path.Combine(folder, "known_hosts"), "-o", "StrictHostKeyChecking=accept-new",
            "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "ConnectTimeout=20", "-i", publicKeyPath,
            "-p", sshd.Port.ToString(CultureInfo.InvariantCulture), $"{ThrowawaySshd.User}@127.0.0.1", "echo LOGIN-OK",
        ]);

    /// <summary>Sends a raw sign request for <paramref name="blobBase64"/> as <paramref name="user"/>; returns the reply's message type.</summary>
    public static async Task<int> RawSignAsync(RunningAgent agent, TestUser user, string blobBase64)
    {
        string script = Path.Combine(agent.Directory, "rawsign.py");
        await File.WriteAllTextAsync(script, RawSignScript);
        UnixModes.Set(script, UnixModes.Readable);
        var result = await agent.AsUserAsync(user, "/usr/bin/python3", [script, agent.SocketPath, Convert.ToHexString(Convert.FromBase64String(blobBase64))]);
        Assert.True(result.ExitCode == 0, result.ToString());
        return int.Parse(result.StdOut.Trim(), CultureInfo.InvariantCulture);
    }
}
