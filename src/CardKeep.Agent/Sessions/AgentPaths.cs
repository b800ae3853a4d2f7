using System.Globalization;

namespace CardKeep.Agent.Sessions;

/// <summary>
/// Where the agent keeps its state. System agent: sessions in /run/cardkeep/state (root, 0700: sessions end at reboot),
/// card registry and host key stores in /var/lib/cardkeep (root, 0700). Per-user agent: sessions in
/// $XDG_RUNTIME_DIR/cardkeep (next to the sockets), the rest in $XDG_DATA_HOME/cardkeep. <c>--state-dir</c> puts everything in one folder.
/// </summary>
public sealed record AgentPaths(string SessionsFile, string CardsFile, string HostKeyDirectory, bool PerUserHostKeys)
{
    public static AgentPaths System() => new("/run/cardkeep/state/sessions.json", "/var/lib/cardkeep/cards.json", "/var/lib/cardkeep/hostkeys", PerUserHostKeys: false);

    public static AgentPaths User()
    {
        string sessions = Path.Combine(Path.GetDirectoryName(AgentHostOptions.DefaultSockets(Daemon.SocketMode.User).Ssh)!, "sessions.json");
        string data = Environment.GetEnvironmentVariable("XDG_DATA_HOME") is { Length: > 0 } d
            ? d
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "share");
        return new(sessions, Path.Combine(data, "cardkeep", "cards.json"), Path.Combine(data, "cardkeep", "hostkeys"), PerUserHostKeys: true);
    }

    public static AgentPaths InDirectory(string directory) =>
        new(Path.Combine(directory, "sessions.json"), Path.Combine(directory, "cards.json"), Path.Combine(directory, "hostkeys"), PerUserHostKeys: false);

    /// <summary>The host key store file of <paramref name="uid"/>.</summary>
    public string HostKeyStore(uint uid) => Path.Combine(HostKeyDirectory, PerUserHostKeys ? "hostkeys.json" : uid.ToString(CultureInfo.InvariantCulture) + ".json");
}
