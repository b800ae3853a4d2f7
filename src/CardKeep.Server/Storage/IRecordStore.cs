namespace CardKeep.Server.Storage;

/// <summary>
/// One encrypted record of a user's personal environment as the server keeps it: metadata in the clear (id, revision,
/// set names, size, last use) and the client's ciphertext and wrapped data key, which the server cannot read.
/// </summary>
/// <param name="Username">Owner.</param>
/// <param name="RecordId">Random id chosen by the client (it says nothing about the content).</param>
/// <param name="Revision">Revision, 1 for a new record, +1 per accepted update.</param>
/// <param name="ChangeId">Random id of the client edit that produced this revision (makes a repeated upload idempotent).</param>
/// <param name="Sets">Names of the sets the entry belongs to.</param>
/// <param name="Size">Bytes counted against the quota (ciphertext + wrapped key).</param>
/// <param name="UsedAt">Last use (Unix ms), for least-recently-used decisions.</param>
/// <param name="UpdatedAt">When this revision was stored.</param>
/// <param name="WrappedDek">The record's data key wrapped under the user's record master key.</param>
/// <param name="Ciphertext">The record, AES-256-GCM.</param>
public sealed record EnvRecordRow(
    string Username, string RecordId, long Revision, string ChangeId, IReadOnlyList<string> Sets, long Size, long UsedAt, long UpdatedAt,
    byte[] WrappedDek, byte[] Ciphertext);

/// <summary>A version kept beside a record because it was written from a stale revision (the user chooses).</summary>
/// <param name="ConflictId">Id of this kept version.</param>
/// <param name="RecordId">The record it conflicts with.</param>
/// <param name="BaseRevision">The revision the writer started from.</param>
/// <param name="Revision">The revision the writer encrypted for (base + 1).</param>
/// <param name="ChangeId">The writer's change id.</param>
/// <param name="Sets">Set names of the kept version.</param>
/// <param name="Size">Bytes.</param>
/// <param name="UsedAt">Last use.</param>
/// <param name="CreatedAt">When the conflict was detected.</param>
/// <param name="WrappedDek">Wrapped data key.</param>
/// <param name="Ciphertext">Ciphertext.</param>
public sealed record EnvConflictRow(
    string ConflictId, string RecordId, long BaseRevision, long Revision, string ChangeId, IReadOnlyList<string> Sets, long Size, long UsedAt,
    long CreatedAt, byte[] WrappedDek, byte[] Ciphertext);

/// <summary>An upload: a new record (base revision 0) or an update of <see cref="BaseRevision"/>.</summary>
/// <param name="RecordId">Record id.</param>
/// <param name="BaseRevision">The revision the client edited (0 = new).</param>
/// <param name="ChangeId">Random id of the edit.</param>
/// <param name="Sets">Set names.</param>
/// <param name="UsedAt">Last use.</param>
/// <param name="WrappedDek">Wrapped data key.</param>
/// <param name="Ciphertext">Ciphertext, encrypted for revision base + 1.</param>
public sealed record EnvRecordWrite(string RecordId, long BaseRevision, string ChangeId, IReadOnlyList<string> Sets, long UsedAt, byte[] WrappedDek, byte[] Ciphertext)
{
    /// <summary>Bytes counted against the quota.</summary>
    public long Size => WrappedDek.Length + Ciphertext.Length;
}

/// <summary>Quota and usage of one user.</summary>
/// <param name="MaxBytes">Byte limit.</param>
/// <param name="MaxEntries">Entry limit.</param>
/// <param name="UsedBytes">Bytes used by records (conflict copies are kept outside the quota: never lost for lack of room).</param>
/// <param name="UsedEntries">Records.</param>
public sealed record EnvQuota(long MaxBytes, long MaxEntries, long UsedBytes, long UsedEntries);

/// <summary>What happened to an upload.</summary>
public enum EnvWriteOutcome
{
    /// <summary>Stored as the new revision.</summary>
    Applied,

    /// <summary>The same change was stored before (a repeated upload after an interruption): nothing changed.</summary>
    AlreadyApplied,

    /// <summary>The base revision was stale: the upload is kept as a conflict beside the current revision.</summary>
    Conflict,

    /// <summary>The quota has no room: nothing stored.</summary>
    QuotaFull,
}

/// <summary>Result of an upload.</summary>
/// <param name="Outcome">What happened.</param>
/// <param name="Revision">The record's current revision afterwards (0 when it does not exist).</param>
/// <param name="ConflictId">The kept conflict's id.</param>
/// <param name="Quota">Quota and usage (for <see cref="EnvWriteOutcome.QuotaFull"/>).</param>
public sealed record EnvWriteResult(EnvWriteOutcome Outcome, long Revision, string? ConflictId = null, EnvQuota? Quota = null);

/// <summary>A re-wrapped data key (card replacement).</summary>
/// <param name="Id">Record id, or conflict id when <paramref name="IsConflict"/>.</param>
/// <param name="IsConflict">True for a conflict copy.</param>
/// <param name="Revision">The revision the client re-wrapped (must still be current).</param>
/// <param name="WrappedDek">The data key wrapped under the new record master key.</param>
public sealed record EnvRewrap(string Id, bool IsConflict, long Revision, byte[] WrappedDek);

/// <summary>A record master key wrap: to one card ("card", by serial) or under the record recovery code ("recovery").</summary>
/// <param name="Kind">"card" or "recovery".</param>
/// <param name="CardSerial">The card's serial (empty for "recovery").</param>
/// <param name="Wrap">The wrapped key.</param>
/// <param name="CreatedAt">When stored.</param>
public sealed record EnvKeyRow(string Kind, string CardSerial, byte[] Wrap, long CreatedAt);

/// <summary>Storage of the personal-environment slice (encrypted records).</summary>
public interface IRecordStore
{
    /// <summary>The user's records, by id.</summary>
    Task<IReadOnlyList<EnvRecordRow>> ListRecordsAsync(string username, CancellationToken cancellationToken);

    /// <summary>The user's conflict copies.</summary>
    Task<IReadOnlyList<EnvConflictRow>> ListConflictsAsync(string username, CancellationToken cancellationToken);

    /// <summary>
    /// In one transaction: applies an upload when its base revision is current (quota permitting), recognises a
    /// repeated change, or keeps it as a conflict when the base is stale. Never overwrites a revision it did not start from.
    /// </summary>
    Task<EnvWriteResult> WriteRecordAsync(string username, EnvRecordWrite write, long defaultMaxBytes, long defaultMaxEntries, long now, CancellationToken cancellationToken);

    /// <summary>Deletes a record at <paramref name="baseRevision"/>: Applied, Conflict (stale: nothing deleted) or AlreadyApplied (already gone).</summary>
    Task<EnvWriteResult> DeleteRecordAsync(string username, string recordId, long baseRevision, CancellationToken cancellationToken);

    /// <summary>Deletes records in one transaction (quota decline after confirmation); returns how many went.</summary>
    Task<int> DeleteRecordsAsync(string username, IReadOnlyCollection<string> recordIds, CancellationToken cancellationToken);

    /// <summary>Raises the last-use time (never lowers it).</summary>
    Task<bool> TouchRecordAsync(string username, string recordId, long usedAt, CancellationToken cancellationToken);

    /// <summary>Removes a conflict copy (the user chose).</summary>
    Task<bool> DeleteConflictAsync(string username, string conflictId, CancellationToken cancellationToken);

    /// <summary>Quota (the stored one or the defaults) and usage.</summary>
    Task<EnvQuota> GetQuotaAsync(string username, long defaultMaxBytes, long defaultMaxEntries, CancellationToken cancellationToken);

    /// <summary>Sets the user's quota.</summary>
    Task SetQuotaAsync(string username, long maxBytes, long maxEntries, CancellationToken cancellationToken);

    /// <summary>The user's record master key wraps.</summary>
    Task<IReadOnlyList<EnvKeyRow>> ListKeysAsync(string username, CancellationToken cancellationToken);

    /// <summary>Stores the first wraps of a user (card + recovery); false when the user already has record keys.</summary>
    Task<bool> InitKeysAsync(string username, string cardSerial, byte[] cardWrap, byte[] recoveryWrap, long now, CancellationToken cancellationToken);

    /// <summary>
    /// Card replacement, in one transaction: every record and conflict copy gets its re-wrapped data key (the list must
    /// cover exactly the current ones at their current revisions, else nothing changes and false is returned), every
    /// other wrap is deleted, and the new card's wrap and the new recovery wrap are stored.
    /// </summary>
    Task<bool> RekeyAsync(string username, string cardSerial, byte[] cardWrap, byte[] recoveryWrap, IReadOnlyList<EnvRewrap> rewraps, long now, CancellationToken cancellationToken);
}
