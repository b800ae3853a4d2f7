using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace CardKeep.Interop.Tests.Harness;

/// <summary>
/// A throwaway OpenSSH server on 127.0.0.1 (the test namespace's own loopback), after
/// /work/shared/specs/key-agent.md §1.7: a free port, host key, config and authorized_keys in a temp folder,
/// <c>/usr/sbin/sshd -D -e -f</c> with its log in that folder. Logs in as <see cref="User"/>, a local account
/// created on first use (<c>useradd -m</c>, then <c>usermod -p '*'</c>: with UsePAM no, a locked '!' password
/// refuses every key). Dispose stops sshd and deletes the folder.
/// </summary>
public sealed class ThrowawaySshd : IDisposable
{
    public const string User = "ckssh";
    private static readonly SemaphoreSlim _userLock = new(1, 1);
    private readonly Process _process;

    private ThrowawaySshd(string directory, int port, Process process)
    {
        Directory = directory;
        Port = port;
        _process = process;
    }

    public string Directory { get; }

    public int Port { get; }

    /// <summary>The file sshd reads the accepted public keys from (OpenSSH authorized_keys lines).</summary>
    public string AuthorizedKeysPath => Path.Combine(Directory, "authorized_keys");

    public string LogPath => Path.Combine(Directory, "sshd.log");

    /// <summary>What sshd logged so far.</summary>
    public string Log
    {
        get
        {
            using var stream = new FileStream(LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var reader = new StreamReader(stream);
            return reader.ReadToEnd();
        }
    }

    /// <summary>Starts sshd accepting the keys in <paramref name="authorizedKeys"/> (authorized_keys lines).</summary>
    public static async Task<ThrowawaySshd> StartAsync(string authorizedKeys)
    {
        await EnsureUserAsync();
        System.IO.Directory.CreateDirectory("/run/sshd");
        string directory = System.IO.Directory.CreateTempSubdirectory("cardkeep-sshd-").FullName;
        UnixModes.Set(directory, UnixModes.Executable);
        await File.WriteAllTextAsync(Path.Combine(directory, "authorized_keys"), authorizedKeys);
        UnixModes.Set(Path.Combine(directory, "authorized_keys"), UnixModes.Readable);
        var hostKey = await ProcessRunner.RunAsync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", Path.Combine(directory, "hostkey_ed25519")]);
        Assert.True(hostKey.ExitCode == 0, hostKey.ToString());
        int port = FreePort();
        string config = Path.Combine(directory, "sshd_config");
        await File.WriteAllTextAsync(config, $"""
            ListenAddress 127.0.0.1
            Port {port}
            HostKey {directory}/hostkey_ed25519
            PidFile {directory}/sshd.pid
            AuthorizedKeysFile {directory}/authorized_keys
            PubkeyAuthentication yes
            PasswordAuthentication no
            KbdInteractiveAuthentication no
            UsePAM no
            StrictModes no
            LogLevel DEBUG1

            """);
        var check = await ProcessRunner.RunAsync("/usr/sbin/sshd", ["-t", "-f", config]);
        Assert.True(check.ExitCode == 0, check.ToString());

        // Absolute path (sshd re-executes itself); stdout and stderr to the log so that no pipe stays open.
        var info = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add($"exec /usr/sbin/sshd -D -e -f '{config}' > '{directory}/sshd.log' 2>&1");
        var process = Process.Start(info) ?? throw new InvalidOperationException("could not start sshd");
        var sshd = new ThrowawaySshd(directory, port, process);
        try
        {
            await sshd.WaitListeningAsync();
        }
        catch
        {
            sshd.Dispose();
            throw;
        }

        return sshd;
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }

        _process.Dispose();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // Best effort.
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task EnsureUserAsync()
    {
        await _userLock.WaitAsync();
        try
        {
            if ((await ProcessRunner.RunAsync("id", ["-u", User])).ExitCode != 0)
            {
                var add = await ProcessRunner.RunAsync("useradd", ["-m", "-s", "/bin/bash", User]);
                Assert.True(add.ExitCode == 0 || add.StdErr.Contains("already exists", StringComparison.Ordinal), add.ToString());
            }

            var unlock = await ProcessRunner.RunAsync("usermod", ["-p", "*", User]);
            Assert.True(unlock.ExitCode == 0, unlock.ToString());
        }
        finally
        {
            _userLock.Release();
        }
    }

    private async Task WaitListeningAsync()
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"sshd exited with {_process.ExitCode}: {Log}");
            }

            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, Port);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(100);
            }
        }

        throw new TimeoutException($"sshd did not listen on 127.0.0.1:{Port} within 15 s: {Log}");
    }
}
