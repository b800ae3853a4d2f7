using System.Text.Json.Serialization;

namespace CardKeep.Agent.Sessions;

/// <summary>How a session's user proved who they are, and so where its private-key operations go.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<KeyScheme>))]
public enum KeyScheme
{
    /// <summary>PIN and a challenge signed by the card's 9A key; operations go to the card.</summary>
    PivCard,

    /// <summary>The host key store passphrase; operations go to the host key service.</summary>
    HostKeyStore,
}

/// <summary>
/// One entry of the user information store: a logged-in session. Identity fields (uid, gid, user name) come from the
/// kernel (SO_PEERCRED) and the password database, never from the request; tty and remote host are what the login
/// client reported (pam_exec's PAM_TTY / PAM_RHOST when root logs a user in). No secret is ever part of it.
/// </summary>
public sealed record UserSession
{
    public required string Id { get; init; }

    public required uint Uid { get; init; }

    public required uint Gid { get; init; }

    public required string UserName { get; init; }

    public string? Tty { get; init; }

    public string? RemoteHost { get; init; }

    public required DateTimeOffset LoginTime { get; init; }

    /// <summary>True when the user authenticated with a card.</summary>
    public required bool Card { get; init; }

    public string? Reader { get; init; }

    public string? CardSerial { get; init; }

    public required KeyScheme KeyScheme { get; init; }

    /// <summary>For host sessions: the host key store file that was unlocked.</summary>
    public string? HostKeyStore { get; init; }

    /// <summary>The systemd-logind session of the process that logged in (from its cgroup), if any.</summary>
    public string? LogindSession { get; init; }

    /// <summary>Null while active; when the session ended.</summary>
    public DateTimeOffset? Ended { get; init; }

    /// <summary>Why it ended: logout, card-removed, agent-restart-card-absent, …</summary>
    public string? EndReason { get; init; }

    [JsonIgnore]
    public bool IsActive => Ended is null;
}
