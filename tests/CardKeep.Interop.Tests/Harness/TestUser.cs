using System.Globalization;
using System.Security.Cryptography;

namespace CardKeep.Interop.Tests.Harness;

/// <summary>
/// A throwaway local account for one test (<c>useradd -m</c>, password '*'), removed with its home on Dispose
/// (<c>userdel -r</c>). <see cref="RunAsync"/> runs a program as that user: <c>setpriv --reuid --regid --clear-groups</c>,
/// with HOME/USER/LOGNAME set to the account's. useradd and userdel lock /etc/passwd, so they are serialised.
/// </summary>
public sealed class TestUser : IDisposable
{
    private static readonly SemaphoreSlim _accounts = new(1, 1);

    private TestUser(string name, uint uid, uint gid, string home)
    {
        Name = name;
        Uid = uid;
        Gid = gid;
        Home = home;
    }

    public string Name { get; }

    public uint Uid { get; }

    public uint Gid { get; }

    public string Home { get; }

    public static async Task<TestUser> CreateAsync()
    {
        string name = "ckag" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3));
        await _accounts.WaitAsync();
        try
        {
            var add = await ProcessRunner.RunAsync("useradd", ["-m", "-s", "/bin/bash", name]);
            Assert.True(add.ExitCode == 0, add.ToString());
            var unlock = await ProcessRunner.RunAsync("usermod", ["-p", "*", name]);
            Assert.True(unlock.ExitCode == 0, unlock.ToString());
        }
        finally
        {
            _accounts.Release();
        }

        uint uid = uint.Parse((await ProcessRunner.RunAsync("id", ["-u", name])).StdOut.Trim(), CultureInfo.InvariantCulture);
        uint gid = uint.Parse((await ProcessRunner.RunAsync("id", ["-g", name])).StdOut.Trim(), CultureInfo.InvariantCulture);
        return new TestUser(name, uid, gid, "/home/" + name);
    }

    /// <summary>A folder the user owns (0700), for key files, known_hosts, signatures.</summary>
    public string Folder(string name)
    {
        string path = Path.Combine(Home, name);
        Directory.CreateDirectory(path);
        UnixModes.Set(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        _ = ProcessRunner.RunAsync("chown", [$"{Uid}:{Gid}", path]).GetAwaiter().GetResult();
        return path;
    }

    /// <summary>Runs <paramref name="tool"/> as this user.</summary>
    public Task<ProcessResult> RunAsync(string tool, IEnumerable<string> args, IDictionary<string, string?>? environment = null, string? stdin = null,
        TimeSpan? timeout = null, string? workingDirectory = null)
    {
        var env = new Dictionary<string, string?>
        {
            ["HOME"] = Home,
            ["USER"] = Name,
            ["LOGNAME"] = Name,
            ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
            ["DOTNET_NOLOGO"] = "1",
        };
        foreach (var (key, value) in environment ?? new Dictionary<string, string?>())
        {
            env[key] = value;
        }

        string[] prefix = [$"--reuid={Uid}", $"--regid={Gid}", "--clear-groups", "--"];
        return ProcessRunner.RunAsync("setpriv", [.. prefix, tool, .. args], env, stdin, timeout ?? TimeSpan.FromSeconds(90), workingDirectory ?? Home);
    }

    public void Dispose()
    {
        _accounts.Wait();
        try
        {
            // Processes of the user (an ssh that hung) would stop userdel.
            ProcessRunner.RunAsync("pkill", ["-KILL", "-u", Name]).GetAwaiter().GetResult();
            ProcessRunner.RunAsync("userdel", ["-r", Name]).GetAwaiter().GetResult();
        }
        finally
        {
            _accounts.Release();
        }
    }
}
