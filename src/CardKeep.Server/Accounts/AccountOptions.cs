namespace CardKeep.Server.Accounts;

/// <summary>Account, access-key and recovery settings (configuration section <c>Accounts</c>; docs/recovery.md).</summary>
public sealed class AccountOptions
{
    /// <summary>PBKDF2-SHA256 iterations for recovery passwords and challenge answers.</summary>
    public int PasswordIterations { get; set; } = 600_000;

    /// <summary>PBKDF2-SHA256 iterations of access-key verifiers.</summary>
    public int AccessKeyIterations { get; set; } = Protocol.Recovery.AccessKeyVerifier.DefaultIterations;

    /// <summary>Shortest recovery password.</summary>
    public int MinPasswordLength { get; set; } = 12;

    /// <summary>Consecutive failures that lock an account or a source address.</summary>
    public int LockAfterFailures { get; set; } = 5;

    /// <summary>Lockout length.</summary>
    public int LockoutMinutes { get; set; } = 15;

    /// <summary>Bearer token lifetime.</summary>
    public int SessionMinutes { get; set; } = 15;

    /// <summary>Card-proof nonce lifetime.</summary>
    public int ChallengeSeconds { get; set; } = 120;

    /// <summary>A used access key keeps verifying this long unless rotated.</summary>
    public int UsedKeyGraceMinutes { get; set; } = 15;

    /// <summary>Longest temporary card.</summary>
    public int TemporaryCardMaxHours { get; set; } = 24;

    /// <summary>Escrow blob size limit.</summary>
    public int EscrowMaxBytes { get; set; } = 4 * 1024 * 1024;
}
