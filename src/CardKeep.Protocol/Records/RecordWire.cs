namespace CardKeep.Protocol.Records;

/// <summary>
/// The JSON bodies of <c>/v1/records</c> (docs/environment.md), shared by server and client. Byte strings are base64
/// (System.Text.Json's byte[] form); times are Unix milliseconds.
/// </summary>
public static class RecordLimits
{
    /// <summary>Largest ciphertext of one record.</summary>
    public const int MaxCiphertextBytes = 64 * 1024;

    /// <summary>Largest wrapped key.</summary>
    public const int MaxWrapBytes = 1024;

    /// <summary>Most set names on one record.</summary>
    public const int MaxSets = 16;

    /// <summary>True for a record or conflict id: 32 lower-case hex digits (16 random bytes).</summary>
    public static bool IsRecordId(string? id) => id is { Length: 32 } && id.All(c => c is (>= '0' and <= '9') or (>= 'a' and <= 'f'));

    /// <summary>True for a change id (the same form as a record id).</summary>
    public static bool IsChangeId(string? id) => IsRecordId(id);

    /// <summary>True for a set name: 1–32 of a-z 0-9 . _ -.</summary>
    public static bool IsSetName(string? name) => name is { Length: > 0 and <= 32 } && name.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '.' or '_' or '-');
}

/// <summary>A record as the server returns it.</summary>
/// <param name="Id">Record id.</param>
/// <param name="Revision">Current revision.</param>
/// <param name="ChangeId">The edit that produced it.</param>
/// <param name="Sets">Set names.</param>
/// <param name="Size">Bytes counted against the quota.</param>
/// <param name="UsedAt">Last use.</param>
/// <param name="UpdatedAt">When stored.</param>
/// <param name="WrappedDek">Data key wrapped under the record master key.</param>
/// <param name="Ciphertext">The record.</param>
public sealed record RecordDto(string Id, long Revision, string ChangeId, IReadOnlyList<string> Sets, long Size, long UsedAt, long UpdatedAt, byte[] WrappedDek, byte[] Ciphertext);

/// <summary>A kept conflicting version.</summary>
/// <param name="ConflictId">Its id.</param>
/// <param name="RecordId">The record.</param>
/// <param name="BaseRevision">Revision the writer started from.</param>
/// <param name="Revision">Revision it was encrypted for.</param>
/// <param name="Sets">Set names.</param>
/// <param name="UsedAt">Last use.</param>
/// <param name="CreatedAt">When detected.</param>
/// <param name="WrappedDek">Wrapped data key.</param>
/// <param name="Ciphertext">Ciphertext.</param>
public sealed record ConflictDto(string ConflictId, string RecordId, long BaseRevision, long Revision, IReadOnlyList<string> Sets, long UsedAt, long CreatedAt, byte[] WrappedDek, byte[] Ciphertext);

/// <summary><c>GET /v1/records</c>.</summary>
/// <param name="Records">Every record.</param>
/// <param name="Conflicts">Every kept conflict.</param>
public sealed record RecordListDto(IReadOnlyList<RecordDto> Records, IReadOnlyList<ConflictDto> Conflicts);

/// <summary><c>PUT /v1/records/{id}</c>: a new record (baseRevision 0) or an update, encrypted for revision base + 1.</summary>
/// <param name="BaseRevision">The revision edited.</param>
/// <param name="ChangeId">Random id of this edit.</param>
/// <param name="Sets">Set names.</param>
/// <param name="UsedAt">Last use.</param>
/// <param name="WrappedDek">Wrapped data key.</param>
/// <param name="Ciphertext">Ciphertext.</param>
public sealed record RecordPutDto(long BaseRevision, string ChangeId, IReadOnlyList<string>? Sets, long UsedAt, byte[] WrappedDek, byte[] Ciphertext);

/// <summary>Quota and usage.</summary>
/// <param name="MaxBytes">Byte limit.</param>
/// <param name="MaxEntries">Entry limit.</param>
/// <param name="UsedBytes">Bytes used.</param>
/// <param name="UsedEntries">Entries.</param>
public sealed record QuotaDto(long MaxBytes, long MaxEntries, long UsedBytes, long UsedEntries);

/// <summary>Answer to an upload or delete: outcome <c>applied</c>, <c>already-applied</c>, <c>conflict</c> or <c>quota-full</c>.</summary>
/// <param name="Outcome">What happened.</param>
/// <param name="Revision">Current revision afterwards.</param>
/// <param name="ConflictId">The kept conflict (outcome conflict).</param>
/// <param name="Quota">Quota and usage (outcome quota-full).</param>
/// <param name="Offer">A larger quota the user may accept (outcome quota-full; null when the server maximum is reached).</param>
public sealed record WriteResultDto(string Outcome, long Revision, string? ConflictId = null, QuotaDto? Quota = null, QuotaDto? Offer = null);

/// <summary><c>POST /v1/records/quota/accept</c>: take the offered quota.</summary>
/// <param name="MaxBytes">Offered bytes.</param>
/// <param name="MaxEntries">Offered entries.</param>
public sealed record QuotaAcceptDto(long MaxBytes, long MaxEntries);

/// <summary>
/// <c>POST /v1/records/quota/decline</c>: make room for <c>NeedBytes</c>/<c>NeedEntries</c> by removing least recently used
/// records. Without <c>Confirm</c> the server only names them; with <c>Confirm</c> and the named ids it removes exactly those.
/// </summary>
/// <param name="NeedBytes">Bytes to free.</param>
/// <param name="NeedEntries">Entries to free.</param>
/// <param name="Confirm">Remove now.</param>
/// <param name="Ids">The ids the user confirmed (as named by the unconfirmed call).</param>
public sealed record QuotaDeclineDto(long NeedBytes, long NeedEntries, bool Confirm, IReadOnlyList<string>? Ids);

/// <summary>Answer to a decline: the least recently used records chosen, and whether they were removed.</summary>
/// <param name="Ids">Records chosen (oldest use first).</param>
/// <param name="Removed">True when removed.</param>
/// <param name="Quota">Quota and usage afterwards.</param>
public sealed record QuotaDeclineResultDto(IReadOnlyList<string> Ids, bool Removed, QuotaDto Quota);

/// <summary>The record master key wraps the caller may use: its card's, and the recovery-code one.</summary>
/// <param name="CardSerial">The caller's card.</param>
/// <param name="CardWrap">The RMK wrapped to that card's 9D key (null when this card has none).</param>
/// <param name="RecoveryWrap">The RMK under the record recovery code (null before set-up).</param>
/// <param name="OtherCards">Serials of other cards holding a wrap.</param>
public sealed record KeysDto(string CardSerial, byte[]? CardWrap, byte[]? RecoveryWrap, IReadOnlyList<string> OtherCards);

/// <summary><c>PUT /v1/records/keys</c>: first set-up (the user has no record keys yet).</summary>
/// <param name="CardWrap">RMK wrapped to the caller's card.</param>
/// <param name="RecoveryWrap">RMK under the recovery code.</param>
public sealed record KeysInitDto(byte[] CardWrap, byte[] RecoveryWrap);

/// <summary>One re-wrapped data key.</summary>
/// <param name="Id">Record or conflict id.</param>
/// <param name="IsConflict">True for a conflict copy.</param>
/// <param name="Revision">Its revision.</param>
/// <param name="WrappedDek">Wrapped under the new RMK.</param>
public sealed record RewrapDto(string Id, bool IsConflict, long Revision, byte[] WrappedDek);

/// <summary><c>POST /v1/records/rekey</c> (after a card replacement, by the new card): new RMK wraps and every DEK re-wrapped.</summary>
/// <param name="CardWrap">New RMK wrapped to the caller's (new) card.</param>
/// <param name="RecoveryWrap">New RMK under the recovery code.</param>
/// <param name="Rewraps">Every record's and conflict's data key under the new RMK.</param>
public sealed record RekeyDto(byte[] CardWrap, byte[] RecoveryWrap, IReadOnlyList<RewrapDto> Rewraps);

/// <summary>
/// <c>GET /v1/records/summary</c>: metadata only, for the portal (which never sees content).
/// </summary>
/// <param name="Entries">Records.</param>
/// <param name="Bytes">Bytes used.</param>
/// <param name="Sets">Entries per set name.</param>
/// <param name="Quota">Quota and usage.</param>
/// <param name="Conflicts">Kept conflicts.</param>
/// <param name="Cards">Serials of cards holding a record key wrap.</param>
/// <param name="RecoveryCodeSet">True when a recovery-code wrap exists.</param>
/// <param name="LastUsedAt">Most recent use of any record.</param>
public sealed record RecordSummaryDto(long Entries, long Bytes, IReadOnlyDictionary<string, int> Sets, QuotaDto Quota, int Conflicts, IReadOnlyList<string> Cards, bool RecoveryCodeSet, long? LastUsedAt);
