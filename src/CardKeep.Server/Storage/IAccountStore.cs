using System.Data.Common;

namespace CardKeep.Server.Storage;

/// <summary>An account (issue 7). Hashes are PBKDF2 strings (see Accounts/SecretHash). Times are Unix milliseconds.</summary>
/// <param name="Username">Canonical user name (also a row in users).</param>
/// <param name="PasswordHash">Recovery password hash.</param>
/// <param name="Question">Challenge question (shown to the user after sign-in).</param>
/// <param name="AnswerHash">Hash of the normalised challenge answer.</param>
/// <param name="FullName">Personal information: full name.</param>
/// <param name="Email">Personal information: e-mail.</param>
/// <param name="CreatedAt">Registration time.</param>
/// <param name="AuditSeq">Sequence number of the newest audit entry (0 when none).</param>
/// <param name="AuditHead">Hash of the newest audit entry (32 zero bytes when none).</param>
public sealed record AccountRecord(string Username, string PasswordHash, string Question, string AnswerHash, string FullName, string Email, long CreatedAt, long AuditSeq, byte[] AuditHead);

/// <summary>Card kinds and states of <see cref="AccountCardRecord"/>.</summary>
public static class AccountCardValues
{
    /// <summary>The user's card.</summary>
    public const string Primary = "primary";

    /// <summary>A time-boxed stand-in for a forgotten card.</summary>
    public const string Temporary = "temporary";

    /// <summary>Usable (a temporary card only until its expiry).</summary>
    public const string Active = "active";

    /// <summary>Refused everywhere.</summary>
    public const string Revoked = "revoked";

    /// <summary>A temporary card past its expiry (derived, never stored).</summary>
    public const string Expired = "expired";
}

/// <summary>A card of an account.</summary>
/// <param name="Serial">PIV serial (globally unique: a serial belongs to one account, for ever).</param>
/// <param name="Username">Owner.</param>
/// <param name="PublicKey">DER SubjectPublicKeyInfo of the 9A key.</param>
/// <param name="TokenSerial">The card's 16-byte TRK1 token serial when known.</param>
/// <param name="Kind">primary or temporary.</param>
/// <param name="Status">active or revoked.</param>
/// <param name="RegisteredAt">When added.</param>
/// <param name="ExpiresAt">Temporary cards: end of validity.</param>
/// <param name="RevokedAt">When revoked.</param>
/// <param name="ReplacedBy">Serial of the card that replaced it.</param>
public sealed record AccountCardRecord(string Serial, string Username, byte[] PublicKey, byte[]? TokenSerial, string Kind, string Status, long RegisteredAt, long? ExpiresAt, long? RevokedAt, string? ReplacedBy)
{
    /// <summary>active, revoked or expired at <paramref name="now"/>.</summary>
    public string StateAt(long now) => Status != AccountCardValues.Active ? Status
        : ExpiresAt is long e && e <= now ? AccountCardValues.Expired : AccountCardValues.Active;
}

/// <summary>A registered machine of an account and its current access key's verifier.</summary>
/// <param name="Username">Owner.</param>
/// <param name="MachineId">Client-chosen id.</param>
/// <param name="MachineSerial">Computer serial (informational).</param>
/// <param name="SecretHash">SHA-256 of the machine secret.</param>
/// <param name="KeyVerifier">Access-key verifier (AccessKeyVerifier format).</param>
/// <param name="KeyIssuedAt">When the current key was issued.</param>
/// <param name="KeyUsedAt">First successful verify of the current key.</param>
/// <param name="CreatedAt">When the machine was added.</param>
public sealed record MachineRecord(string Username, string MachineId, string MachineSerial, byte[] SecretHash, string KeyVerifier, long KeyIssuedAt, long? KeyUsedAt, long CreatedAt);

/// <summary>A bearer session (stored by hash).</summary>
/// <param name="TokenHash">SHA-256 of the bearer token.</param>
/// <param name="Username">User.</param>
/// <param name="CardSerial">The card that signed in (scope card), else null.</param>
/// <param name="Scope">card or recovery.</param>
/// <param name="CreatedAt">Issue time.</param>
/// <param name="ExpiresAt">Expiry.</param>
/// <param name="RevokedAt">Revocation time.</param>
public sealed record AccountSessionRecord(byte[] TokenHash, string Username, string? CardSerial, string Scope, long CreatedAt, long ExpiresAt, long? RevokedAt);

/// <summary>A card-proof nonce waiting for its signature (stored by hash, single use).</summary>
/// <param name="NonceHash">SHA-256 of the nonce.</param>
/// <param name="Username">For whom.</param>
/// <param name="CardSerial">For which card.</param>
/// <param name="Purpose">register, login or replace.</param>
/// <param name="ExpiresAt">Expiry.</param>
public sealed record ChallengeRecord(byte[] NonceHash, string Username, string CardSerial, string Purpose, long ExpiresAt);

/// <summary>Consecutive failures and lockout of one subject (an account or a source address, per secret kind).</summary>
/// <param name="Subject">e.g. <c>user:alice:password</c>, <c>ip:10.0.0.1:access-key</c>.</param>
/// <param name="Failures">Consecutive failures since the last success or lockout.</param>
/// <param name="LockedUntil">Refused until then (0: not locked).</param>
public sealed record ThrottleRecord(string Subject, int Failures, long LockedUntil);

/// <summary>An audit event to append (the store assigns seq and hashes).</summary>
/// <param name="Kind">Event kind.</param>
/// <param name="Details">Small JSON object, no secrets.</param>
public sealed record AuditEvent(string Kind, string Details);

/// <summary>A stored audit entry.</summary>
/// <param name="Username">User.</param>
/// <param name="Seq">1, 2, …</param>
/// <param name="At">Time.</param>
/// <param name="Kind">Event kind.</param>
/// <param name="Details">JSON details.</param>
/// <param name="PrevHash">Hash of the previous entry (zeros for the first).</param>
/// <param name="Hash">This entry's hash.</param>
public sealed record AuditEntryRecord(string Username, long Seq, long At, string Kind, string Details, byte[] PrevHash, byte[] Hash);

/// <summary>The escrowed, client-encrypted blob of a user.</summary>
/// <param name="Username">User.</param>
/// <param name="Blob">Opaque bytes.</param>
/// <param name="Sha256">SHA-256 of the blob.</param>
/// <param name="UpdatedAt">Upload time.</param>
public sealed record EscrowRecord(string Username, byte[] Blob, byte[] Sha256, long UpdatedAt);

/// <summary>Outcome of <see cref="IAccountStore.CreateAccountAsync"/>.</summary>
public enum CreateAccountResult
{
    /// <summary>Created.</summary>
    Created,

    /// <summary>The activation code is unknown, used, expired or for another user: nothing changed.</summary>
    CodeInvalid,

    /// <summary>The account exists: nothing changed.</summary>
    AccountExists,

    /// <summary>The card serial is already known: nothing changed.</summary>
    CardExists,
}

/// <summary>Everything one card replacement (or temporary card) changes, applied in one transaction.</summary>
/// <param name="Username">User.</param>
/// <param name="NewCard">The new card (primary or temporary).</param>
/// <param name="MachineId">Machine whose access key is replaced (null: none).</param>
/// <param name="KeyVerifier">Verifier of the machine's new access key.</param>
/// <param name="ActivationCode">One-time TRK1 activation code for the new card.</param>
/// <param name="Audit">Audit entry.</param>
/// <param name="Now">Time.</param>
public sealed record CardReplacementPlan(string Username, AccountCardRecord NewCard, string? MachineId, string? KeyVerifier, ActivationCodeRecord ActivationCode, AuditEvent Audit, long Now);

/// <summary>What a replacement did.</summary>
/// <param name="RevokedCards">Cards revoked (empty for a temporary card).</param>
/// <param name="RevokedTokens">TRK1 tokens revoked.</param>
public sealed record CardReplacementOutcome(IReadOnlyList<AccountCardRecord> RevokedCards, int RevokedTokens);

/// <summary>SQL access inside a running store transaction (for <see cref="IAccountStore.ReplaceCardAsync"/> participants).</summary>
public interface IStoreTransaction
{
    /// <summary>"sqlite" or "postgresql".</summary>
    string Backend { get; }

    /// <summary>Runs a statement with <c>@name</c> parameters; returns the rows affected.</summary>
    Task<int> ExecuteAsync(string sql, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters);

    /// <summary>Runs a query and maps each row.</summary>
    Task<List<T>> QueryAsync<T>(string sql, Func<DbDataReader, T> map, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters);
}

/// <summary>Accounts slice: accounts, cards, machines, bearer sessions, challenges, throttle, escrow, audit.</summary>
public interface IAccountStore
{
    /// <summary>
    /// In one transaction: consumes <paramref name="codeHash"/> (unused, unexpired, for the user), creates the user if new,
    /// the account, its card and machine, stores <paramref name="tokenCode"/> and appends <paramref name="audit"/>.
    /// </summary>
    Task<CreateAccountResult> CreateAccountAsync(AccountRecord account, AccountCardRecord card, MachineRecord machine, byte[] codeHash, ActivationCodeRecord tokenCode, IReadOnlyList<AuditEvent> audit, long now, CancellationToken cancellationToken);

    /// <summary>The account, or null.</summary>
    Task<AccountRecord?> GetAccountAsync(string username, CancellationToken cancellationToken);

    /// <summary>The card with this serial (any account), or null.</summary>
    Task<AccountCardRecord?> GetCardAsync(string serial, CancellationToken cancellationToken);

    /// <summary>
    /// True when an account card carrying this TRK1 token serial is revoked, or is a temporary card past its expiry: the
    /// TRK1 session check refuses such tokens.
    /// </summary>
    Task<bool> IsCardTokenRefusedAsync(byte[] tokenSerial, long now, CancellationToken cancellationToken);

    /// <summary>The user's cards, oldest first.</summary>
    Task<IReadOnlyList<AccountCardRecord>> ListCardsAsync(string username, CancellationToken cancellationToken);

    /// <summary>The machine, or null.</summary>
    Task<MachineRecord?> GetMachineAsync(string username, string machineId, CancellationToken cancellationToken);

    /// <summary>The user's machines.</summary>
    Task<IReadOnlyList<MachineRecord>> ListMachinesAsync(string username, CancellationToken cancellationToken);

    /// <summary>Adds a machine or replaces its secret and key, and appends <paramref name="audit"/>.</summary>
    Task UpsertMachineAsync(MachineRecord machine, AuditEvent audit, long now, CancellationToken cancellationToken);

    /// <summary>Replaces a machine's access-key verifier (old key cancelled) and appends <paramref name="audit"/>; false when no such machine.</summary>
    Task<bool> SetMachineKeyAsync(string username, string machineId, string keyVerifier, AuditEvent audit, long now, CancellationToken cancellationToken);

    /// <summary>Marks the current key used (first use only) and appends <paramref name="audit"/> at first use; returns the used time.</summary>
    Task<long> MarkKeyUsedAsync(string username, string machineId, string keyVerifier, AuditEvent audit, long now, CancellationToken cancellationToken);

    /// <summary>Stores a challenge; drops expired ones.</summary>
    Task AddChallengeAsync(ChallengeRecord challenge, long now, CancellationToken cancellationToken);

    /// <summary>Removes and returns the challenge (null when unknown); the caller checks expiry and binding.</summary>
    Task<ChallengeRecord?> TakeChallengeAsync(byte[] nonceHash, CancellationToken cancellationToken);

    /// <summary>Stores a bearer session (and appends <paramref name="audit"/> when given).</summary>
    Task AddSessionAsync(AccountSessionRecord session, AuditEvent? audit, long now, CancellationToken cancellationToken);

    /// <summary>The session with this token hash, or null.</summary>
    Task<AccountSessionRecord?> GetSessionAsync(byte[] tokenHash, CancellationToken cancellationToken);

    /// <summary>Revokes one session.</summary>
    Task RevokeSessionAsync(byte[] tokenHash, long now, CancellationToken cancellationToken);

    /// <summary>The throttle rows of these subjects (missing ones are absent).</summary>
    Task<IReadOnlyList<ThrottleRecord>> GetThrottleAsync(IReadOnlyList<string> subjects, CancellationToken cancellationToken);

    /// <summary>
    /// Counts a failure for <paramref name="subject"/>; at <paramref name="lockAfter"/> consecutive failures locks it until
    /// <paramref name="lockUntil"/> and restarts the count. A count whose last failure is older than
    /// <paramref name="forgetBefore"/> starts again at 1. Returns true when this failure started a lockout.
    /// </summary>
    Task<bool> RecordFailureAsync(string subject, int lockAfter, long lockUntil, long now, long forgetBefore, CancellationToken cancellationToken);

    /// <summary>Clears the failure count of <paramref name="subject"/> (after a success).</summary>
    Task ResetFailuresAsync(string subject, CancellationToken cancellationToken);

    /// <summary>Appends audit entries to the user's chain (no-op for an unknown account).</summary>
    Task AppendAuditAsync(string username, IReadOnlyList<AuditEvent> events, long now, CancellationToken cancellationToken);

    /// <summary>The user's audit entries in order.</summary>
    Task<IReadOnlyList<AuditEntryRecord>> ListAuditAsync(string username, CancellationToken cancellationToken);

    /// <summary>Stores the user's escrow blob (replacing any) and appends <paramref name="audit"/>.</summary>
    Task PutEscrowAsync(EscrowRecord escrow, AuditEvent audit, CancellationToken cancellationToken);

    /// <summary>The user's escrow blob, or null.</summary>
    Task<EscrowRecord?> GetEscrowAsync(string username, CancellationToken cancellationToken);

    /// <summary>
    /// Revokes one active card of the user in one transaction (its bearer sessions, its TRK1 tokens by token serial, the
    /// serial blocked) and appends <paramref name="audit"/>; null when the user has no such active card.
    /// </summary>
    Task<CardReplacementOutcome?> RevokeCardAsync(string username, string serial, AuditEvent audit, long now, CancellationToken cancellationToken);

    /// <summary>
    /// Applies a replacement in one transaction (see docs/recovery.md): for a primary new card, revokes the user's
    /// active cards, their TRK1 tokens (by token serial, which is also blocked) and their bearer sessions; inserts the
    /// new card; replaces the machine key; stores the activation code; appends the audit entry; then runs
    /// <paramref name="participants"/> inside the same transaction. Any exception rolls everything back.
    /// </summary>
    Task<CardReplacementOutcome> ReplaceCardAsync(CardReplacementPlan plan, Func<IStoreTransaction, CardReplacementOutcome, Task>? participants, CancellationToken cancellationToken);
}
