using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace CardKeep.Interop.Tests.Harness;

/// <summary>
/// <c>cardkeep agent --system</c> as a child process (the real program, as root), with its sockets and state in a temp
/// folder other users can enter (0755; the sockets are 0666 and authorize by SO_PEERCRED). The card-removed hook writes
/// <c>hook.log</c> in that folder. Dispose stops it (SIGTERM, then SIGKILL) and deletes the folder.
/// </summary>
public sealed class RunningAgent : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _log = new();
    private readonly TaskCompletionSource<string> _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private RunningAgent(string directory, IEnumerable<string> extraArgs, string stateDirectory)
    {
        Directory = directory;
        StateDirectory = stateDirectory;
        var info = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in new[]
        {
            CardKeepCli.DllPath, "agent", "--system", "--socket", SocketPath, "--api-socket", ApiSocketPath, "--state-dir", StateDirectory,
            "--on-card-removed", $"/bin/sh -c 'echo \"$0 $1 $2\" >> {HookLog}' {{user}} {{session}} {{reader}}",
        }.Concat(extraArgs))
        {
            info.ArgumentList.Add(a);
        }

        _process = Process.Start(info) ?? throw new InvalidOperationException("could not start cardkeep agent");
        _process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is { } line && line.StartsWith("SSH_AUTH_SOCK=", StringComparison.Ordinal))
            {
                _ready.TrySetResult(line);
            }
        };
        _process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (_log)
                {
                    _log.AppendLine(e.Data);
                }
            }
        };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public string Directory { get; }

    public string SocketPath => Path.Combine(Directory, "agent.sock");

    public string ApiSocketPath => Path.Combine(Directory, "api.sock");

    public string StateDirectory { get; }

    public string HookLog => Path.Combine(Directory, "hook.log");

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    /// <summary>What the agent logged (stderr) so far.</summary>
    public string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    /// <summary>
    /// The log once it contains <paramref name="text"/> (or after 10 s, for the assertion to report): the agent writes a
    /// line after it has answered, so a client can return before the line reaches the pipe.
    /// </summary>
    public async Task<string> LogContainingAsync(string text)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        string log;
        while (!(log = Log).Contains(text, StringComparison.Ordinal) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        return log;
    }

    /// <summary>SSH_AUTH_SOCK and CARDKEEP_AGENT_API for clients.</summary>
    public IDictionary<string, string?> Environment => new Dictionary<string, string?>
    {
        ["SSH_AUTH_SOCK"] = SocketPath,
        ["CARDKEEP_AGENT_API"] = ApiSocketPath,
    };

    /// <summary>Starts an agent in a new folder, or on <paramref name="stateDirectory"/> of an earlier one (restart).</summary>
    public static async Task<RunningAgent> StartAsync(string? stateDirectory = null, params string[] extraArgs)
    {
        string directory = System.IO.Directory.CreateTempSubdirectory("cardkeep-agent-").FullName;
        UnixModes.Set(directory, UnixModes.Executable);
        var agent = new RunningAgent(directory, extraArgs, stateDirectory ?? Path.Combine(directory, "state"));
        var ready = await Task.WhenAny(agent._ready.Task, Task.Delay(TimeSpan.FromSeconds(30)));
        if (ready != agent._ready.Task)
        {
            agent.Dispose();
            throw new TimeoutException("cardkeep agent printed no SSH_AUTH_SOCK line within 30 s:\n" + agent.Log);
        }

        return agent;
    }

    /// <summary>Runs the real cardkeep as <paramref name="user"/> with the agent's sockets in the environment.</summary>
    public Task<ProcessResult> CliAsync(TestUser user, IEnumerable<string> args, IDictionary<string, string?>? environment = null, string? stdin = null)
    {
        ArgumentNullException.ThrowIfNull(user);
        var env = Environment;
        foreach (var (key, value) in environment ?? new Dictionary<string, string?>())
        {
            env[key] = value;
        }

        return user.RunAsync("dotnet", [CardKeepCli.DllPath, .. args], env, stdin);
    }

    /// <summary>Runs an OpenSSH tool as <paramref name="user"/> with SSH_AUTH_SOCK set to this agent.</summary>
    public Task<ProcessResult> AsUserAsync(TestUser user, string tool, IEnumerable<string> args, string? stdin = null, string? workingDirectory = null)
    {
        ArgumentNullException.ThrowIfNull(user);
        return user.RunAsync(tool, args, Environment, stdin, workingDirectory: workingDirectory);
    }

    /// <summary>SIGTERM, as systemd stops a service; waits for the exit.</summary>
    public async Task<bool> TerminateAsync(TimeSpan timeout)
    {
        await ProcessRunner.RunAsync("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)]);
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            TerminateAsync(TimeSpan.FromSeconds(5)).GetAwaiter().GetResult();
        }

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
}
