namespace CardKeep.Server.Storage;

/// <summary>A user the server knows (created at first registration or first grant). Times are Unix milliseconds.</summary>
/// <param name="Username">Canonical user name (primary key).</param>
/// <param name="PolicyVersion">Monotonic: raised by every entitlement change.</param>
/// <param name="CreatedAt">When the user was created.</param>
public sealed record UserRecord(string Username, long PolicyVersion, long CreatedAt);

/// <summary>A one-time activation code, stored only as HMAC(K_act, normalised code).</summary>
/// <param name="CodeHash">The HMAC.</param>
/// <param name="Username">The user it lets register.</param>
/// <param name="CreatedAt">Issue time.</param>
/// <param name="ExpiresAt">Expiry.</param>
/// <param name="UsedAt">When it was used (null while unused).</param>
public sealed record ActivationCodeRecord(byte[] CodeHash, string Username, long CreatedAt, long ExpiresAt, long? UsedAt);

/// <summary>Token states.</summary>
public static class TokenStatus
{
    /// <summary>Usable.</summary>
    public const string Active = "active";

    /// <summary>Locked after too many failed session attempts.</summary>
    public const string Locked = "locked";

    /// <summary>Revoked by an administrator (or, later, by card replacement).</summary>
    public const string Revoked = "revoked";
}

/// <summary>A registered token (server record of spec §2.1).</summary>
/// <param name="TokenHandle">16-byte handle (primary key).</param>
/// <param name="TokenSerial">The token's serial.</param>
/// <param name="ServerId">server_id the token registered with (SHA-256 of the certificate's SPKI).</param>
/// <param name="Suite">"R" or "E".</param>
/// <param name="Username">Owner.</param>
/// <param name="UserIdCode">HMAC(K_uid, user name).</param>
/// <param name="SskWrapped">nonce ‖ AES-256-GCM(master KEK, SSK, AD = handle ‖ server_id).</param>
/// <param name="AccessPath">Access-control path.</param>
/// <param name="Status">See <see cref="TokenStatus"/>.</param>
/// <param name="FailCount">Consecutive failed session attempts.</param>
/// <param name="RegisteredAt">Registration time.</param>
/// <param name="SskNotAfter">SSK expiry.</param>
public sealed record TokenRecord(
    byte[] TokenHandle, byte[] TokenSerial, byte[] ServerId, string Suite, string Username, byte[] UserIdCode, byte[] SskWrapped,
    string AccessPath, string Status, int FailCount, long RegisteredAt, long SskNotAfter);

/// <summary>A user's entitlement to one application.</summary>
/// <param name="Username">The user.</param>
/// <param name="Application">Application name (as configured under Applications).</param>
/// <param name="Roles">Roles.</param>
/// <param name="Locations">Allowed locations; empty means anywhere.</param>
/// <param name="GrantedAt">When granted or last changed.</param>
public sealed record EntitlementRecord(string Username, string Application, IReadOnlyList<string> Roles, IReadOnlyList<string> Locations, long GrantedAt);

/// <summary>Users (shared by every slice; issue 7 adds accounts beside it).</summary>
public interface IUserStore
{
    /// <summary>The user, or null.</summary>
    Task<UserRecord?> GetUserAsync(string username, CancellationToken cancellationToken);
}

/// <summary>Registration slice: activation codes, tokens, blocked serials.</summary>
public interface IRegistrationStore
{
    /// <summary>Stores a new activation code.</summary>
    Task AddActivationCodeAsync(ActivationCodeRecord code, CancellationToken cancellationToken);

    /// <summary>The code with this hash, or null.</summary>
    Task<ActivationCodeRecord?> FindActivationCodeAsync(byte[] codeHash, CancellationToken cancellationToken);

    /// <summary>
    /// In one transaction: consumes the activation code if one is given (unused, unexpired, for <see cref="TokenRecord.Username"/>),
    /// creates the user if new, replaces any record of the same token serial at the same server, and inserts the
    /// token. False (and nothing changed) when the code can no longer be used.
    /// </summary>
    Task<bool> CompleteRegistrationAsync(TokenRecord token, byte[]? codeHash, long now, CancellationToken cancellationToken);

    /// <summary>The token with this handle, or null.</summary>
    Task<TokenRecord?> GetTokenAsync(byte[] tokenHandle, CancellationToken cancellationToken);

    /// <summary>The user's tokens.</summary>
    Task<IReadOnlyList<TokenRecord>> ListTokensAsync(string username, CancellationToken cancellationToken);

    /// <summary>Counts a failed session attempt; locks the token at <paramref name="lockAfter"/>. Returns the new count.</summary>
    Task<int> RecordTokenFailureAsync(byte[] tokenHandle, int lockAfter, CancellationToken cancellationToken);

    /// <summary>Clears the failure count after a successful session.</summary>
    Task ResetTokenFailuresAsync(byte[] tokenHandle, CancellationToken cancellationToken);

    /// <summary>Sets a token's status (unlock, revoke).</summary>
    Task<bool> SetTokenStatusAsync(byte[] tokenHandle, string status, CancellationToken cancellationToken);

    /// <summary>True when the serial is blocked.</summary>
    Task<bool> IsSerialBlockedAsync(byte[] tokenSerial, CancellationToken cancellationToken);

    /// <summary>Blocks a serial and revokes its tokens.</summary>
    Task BlockSerialAsync(byte[] tokenSerial, string reason, long now, CancellationToken cancellationToken);
}

/// <summary>Entitlements slice.</summary>
public interface IEntitlementStore
{
    /// <summary>Grants or replaces an entitlement (creating the user if new); returns the user's new policy version.</summary>
    Task<long> GrantEntitlementAsync(EntitlementRecord entitlement, long now, CancellationToken cancellationToken);

    /// <summary>Revokes; returns the new policy version, or null when there was no such entitlement.</summary>
    Task<long?> RevokeEntitlementAsync(string username, string application, CancellationToken cancellationToken);

    /// <summary>The user's entitlements, by application name.</summary>
    Task<IReadOnlyList<EntitlementRecord>> ListEntitlementsAsync(string username, CancellationToken cancellationToken);
}

/// <summary>
/// The one storage interface of the server, composed per feature slice. SQLite and PostgreSQL implement it with the
/// same SQL where the dialects agree; schema changes are versioned migrations (<see cref="Migrations"/>) applied at
/// start-up. Later slices (accounts, cards, access keys, audit; encrypted records) add an interface here and
/// migrations with higher versions.
/// </summary>
public interface IServerStore : IUserStore, IRegistrationStore, IEntitlementStore, IAccountStore, IRecordStore, IRelocationStore
{
    /// <summary>"sqlite" or "postgresql".</summary>
    string Backend { get; }

    /// <summary>
    /// Applies pending migrations. Throws <see cref="SchemaTooNewException"/> when the database was written by a newer
    /// CardKeep (its schema version is higher than any this binary knows).
    /// </summary>
    Task MigrateAsync(CancellationToken cancellationToken);

    /// <summary>The highest applied schema version (0 for an empty database).</summary>
    Task<int> SchemaVersionAsync(CancellationToken cancellationToken);

    /// <summary>True when the database answers.</summary>
    Task<bool> PingAsync(CancellationToken cancellationToken);

    /// <summary>Whether the database answers and takes writes (a PostgreSQL standby in recovery is read-only).</summary>
    Task<StorageProbe> ProbeAsync(CancellationToken cancellationToken);
}

/// <summary>The database's schema is newer than this binary understands: the server stops rather than guess.</summary>
public sealed class SchemaTooNewException : Exception
{
    /// <summary>Creates the exception.</summary>
    public SchemaTooNewException()
    {
    }

    /// <summary>Creates the exception.</summary>
    public SchemaTooNewException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    public SchemaTooNewException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception for the two versions.</summary>
    public SchemaTooNewException(int databaseVersion, int knownVersion)
        : base($"the database schema is version {databaseVersion}, newer than this cardkeep understands (up to {knownVersion}); " +
            "upgrade cardkeep, or point --db at another database")
    {
        DatabaseVersion = databaseVersion;
        KnownVersion = knownVersion;
    }

    /// <summary>The database's version.</summary>
    public int DatabaseVersion { get; }

    /// <summary>The highest version this binary knows.</summary>
    public int KnownVersion { get; }
}
