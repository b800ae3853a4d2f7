using CardKeep.Agent.Api;
using CardKeep.Agent.Daemon;
using CardKeep.Agent.HostKeys;
using CardKeep.Agent.Keys;
using CardKeep.Agent.Routing;
using CardKeep.Agent.Sessions;
using Microsoft.Extensions.Logging;

namespace CardKeep.Agent;

/// <summary>Everything <c>cardkeep agent</c> is configured with.</summary>
public sealed record AgentHostOptions
{
    public SocketMode Mode { get; init; } = SocketMode.User;

    public required string SocketPath { get; init; }

    public string? ApiSocketPath { get; init; }

    public required AgentPaths Paths { get; init; }

    /// <summary>Runs (without a shell) when a session's card is removed: {user} {uid} {session} {logind_session} {reader} {serial} {tty}.</summary>
    public CommandTemplate? OnCardRemoved { get; init; }

    /// <summary>Asked before each use of a key added with ssh-add -c: {comment} {fingerprint} {uid} {pid} {forwarded}; exit 0 allows.</summary>
    public CommandTemplate? ConfirmCommand { get; init; }

    public AgentOptions Agent { get; init; } = new();

    /// <summary>Watch PC/SC for card removal (off only where there is no pcscd at all).</summary>
    public bool WatchCards { get; init; } = true;

    public int HostKeyIterations { get; init; } = HostKeyStore.DefaultIterations;

    public ICardAccess CardAccess { get; init; } = new PcscCardAccess();

    public IUserDirectory Users { get; init; } = new SystemUserDirectory();

    /// <summary>Default sockets: /run/cardkeep/{agent,api}.sock (system) or $XDG_RUNTIME_DIR/cardkeep/{agent,api}.sock (user; /tmp/cardkeep-UID without XDG_RUNTIME_DIR).</summary>
    public static (string Ssh, string Api) DefaultSockets(SocketMode mode)
    {
        string folder = mode == SocketMode.System
            ? "/run/cardkeep"
            : Environment.GetEnvironmentVariable("XDG_RUNTIME_DIR") is { Length: > 0 } r
                ? Path.Combine(r, "cardkeep")
                : Path.Combine(Path.GetTempPath(), "cardkeep-" + Daemon.LibC.GetEuid().ToString(System.Globalization.CultureInfo.InvariantCulture));
        return (Path.Combine(folder, "agent.sock"), Path.Combine(folder, "api.sock"));
    }
}

/// <summary>The key store manager daemon, assembled: keys, sessions, host key service, local API and sockets.</summary>
public sealed class AgentHost : IAsyncDisposable
{
    private readonly AgentDaemon _daemon;

    private AgentHost(AgentHostOptions options, ILoggerFactory loggers)
    {
        var logger = loggers.CreateLogger("cardkeep.agent");
        Options = options;
        Keys = new KeyStoreManager(options.Agent);
        Sessions = new SessionManager(Keys, options.Paths, options.Users, options.CardAccess, options.OnCardRemoved, loggers.CreateLogger("cardkeep.sessions"),
            hostKeyIterations: options.HostKeyIterations);
        HostKeys = new HostKeyService(Sessions, Keys);
        var api = new ApiHandler(Keys, Sessions, HostKeys, loggers.CreateLogger("cardkeep.api"));
        var ssh = new UnixListener(options.SocketPath, options.Mode);
        UnixListener? apiListener = null;
        try
        {
            apiListener = options.ApiSocketPath is null ? null : new UnixListener(options.ApiSocketPath, options.Mode);
        }
        catch
        {
            ssh.Dispose();
            throw;
        }

        _daemon = new AgentDaemon(ssh, apiListener, Keys, new CommandConfirmer(options.ConfirmCommand, logger), api, logger);
    }

    public AgentHostOptions Options { get; }

    public KeyStoreManager Keys { get; }

    public SessionManager Sessions { get; }

    public HostKeyService HostKeys { get; }

    /// <summary>Binds the sockets, restores recorded sessions and starts watching cards.</summary>
    public static AgentHost Start(AgentHostOptions options, ILoggerFactory loggers)
    {
        ArgumentNullException.ThrowIfNull(options);
        var host = new AgentHost(options, loggers);
        host.Sessions.Start(options.WatchCards);
        return host;
    }

    public Task RunAsync(CancellationToken cancellationToken) => _daemon.RunAsync(cancellationToken);

    public async ValueTask DisposeAsync()
    {
        await _daemon.DisposeAsync().ConfigureAwait(false);
        Sessions.Dispose();
        Keys.Dispose();
    }
}
