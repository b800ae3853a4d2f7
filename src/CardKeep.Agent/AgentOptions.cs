namespace CardKeep.Agent;

/// <summary>What the agent does with a sign request on a forwarded connection (session-bind with is_forwarding).</summary>
public enum ForwardingPolicy
{
    /// <summary>Sign as for a local connection (OpenSSH's behaviour); the log says it was forwarded.</summary>
    Allow,

    /// <summary>Ask the confirm program for every forwarded use, whatever the key's own constraints.</summary>
    Confirm,

    /// <summary>Refuse every forwarded use.</summary>
    Deny,
}

/// <summary>Tunables of the key store manager. Defaults suit a real machine; tests lower the costs.</summary>
public sealed record AgentOptions
{
    /// <summary>PBKDF2-SHA256 iterations for the lock passphrase hash (ssh-add -x).</summary>
    public int LockIterations { get; init; } = 100_000;

    /// <summary>Keys one user may add with ssh-add; beyond it ADD gets FAILURE (memory stays bounded).</summary>
    public int MaxAddedKeysPerUser { get; init; } = 256;

    /// <summary>Wait after a wrong unlock passphrase, times the failures so far (capped at 10 ×), like OpenSSH.</summary>
    public TimeSpan UnlockFailureDelay { get; init; } = TimeSpan.FromMilliseconds(100);

    public ForwardingPolicy Forwarding { get; init; } = ForwardingPolicy.Allow;
}
