using CardKeep.Protocol.Records;
using CardKeep.Server.Storage;

namespace CardKeep.Server.Records;

/// <summary>Settings of the personal-environment slice (<c>Records:</c> section).</summary>
public sealed class RecordOptions
{
    /// <summary>Quota of a user who never accepted an offer: bytes.</summary>
    public long DefaultQuotaBytes { get; set; } = 1024 * 1024;

    /// <summary>Quota of a user who never accepted an offer: entries.</summary>
    public long DefaultQuotaEntries { get; set; } = 1000;

    /// <summary>The largest quota an offer goes to: bytes.</summary>
    public long MaxQuotaBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>The largest quota an offer goes to: entries.</summary>
    public long MaxQuotaEntries { get; set; } = 50_000;
}

/// <summary>The authenticated caller of <c>/v1/records</c>: an account user signed in with a card (issue 7, scope "card").</summary>
/// <param name="Username">User.</param>
/// <param name="CardSerial">The card the bearer token is bound to.</param>
public sealed record RecordsCaller(string Username, string CardSerial);

/// <summary>
/// The personal environment on the server: a safe-deposit box. It stores ciphertext and wrapped keys it cannot open,
/// keeps both versions when an update comes from a stale revision, enforces the per-user quota (with an offer when
/// full) and removes least recently used records only after the user confirmed the exact list.
/// </summary>
public sealed class RecordService(IServerStore store, RecordOptions options, TimeProvider clock)
{
    /// <summary>All records and conflicts.</summary>
    public async Task<RecordListDto> ListAsync(RecordsCaller caller, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(caller);
        var records = await store.ListRecordsAsync(caller.Username, cancellationToken).ConfigureAwait(false);
        var conflicts = await store.ListConflictsAsync(caller.Username, cancellationToken).ConfigureAwait(false);
        return new RecordListDto(
            [.. records.Select(r => new RecordDto(r.RecordId, r.Revision, r.ChangeId, r.Sets, r.Size, r.UsedAt, r.UpdatedAt, r.WrappedDek, r.Ciphertext))],
            [.. conflicts.Select(c => new ConflictDto(c.ConflictId, c.RecordId, c.BaseRevision, c.Revision, c.Sets, c.UsedAt, c.CreatedAt, c.WrappedDek, c.Ciphertext))]);
    }

    /// <summary>Checks an upload; null when valid, else the reason.</summary>
    public static string? Validate(string id, RecordPutDto put)
    {
        ArgumentNullException.ThrowIfNull(put);
        return !RecordLimits.IsRecordId(id) ? "record id must be 32 lower-case hex digits"
            : !RecordLimits.IsChangeId(put.ChangeId) ? "changeId must be 32 lower-case hex digits"
            : put.BaseRevision < 0 ? "baseRevision must not be negative"
            : put.Ciphertext is not { Length: > 0 and <= RecordLimits.MaxCiphertextBytes } ? $"ciphertext must have 1 to {RecordLimits.MaxCiphertextBytes} bytes"
            : put.WrappedDek is not { Length: > 0 and <= RecordLimits.MaxWrapBytes } ? $"wrappedDek must have 1 to {RecordLimits.MaxWrapBytes} bytes"
            : (put.Sets ?? []).Count > RecordLimits.MaxSets || !(put.Sets ?? []).All(RecordLimits.IsSetName) ? $"sets: at most {RecordLimits.MaxSets} names of 1-32 a-z 0-9 . _ -"
            : null;
    }

    /// <summary>Stores an upload (see <see cref="IRecordStore.WriteRecordAsync"/>); a full quota answers with an offer.</summary>
    public async Task<WriteResultDto> PutAsync(RecordsCaller caller, string id, RecordPutDto put, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(caller);
        ArgumentNullException.ThrowIfNull(put);
        var write = new EnvRecordWrite(id, put.BaseRevision, put.ChangeId, [.. (put.Sets ?? []).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)], put.UsedAt, put.WrappedDek, put.Ciphertext);
        var result = await store.WriteRecordAsync(caller.Username, write, options.DefaultQuotaBytes, options.DefaultQuotaEntries, Now, cancellationToken).ConfigureAwait(false);
        return ToDto(result);
    }

    /// <summary>Deletes a record at its base revision.</summary>
    public async Task<WriteResultDto> DeleteAsync(RecordsCaller caller, string id, long baseRevision, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(caller);
        return ToDto(await store.DeleteRecordAsync(caller.Username, id, baseRevision, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>Raises a record's last-use time.</summary>
    public Task<bool> TouchAsync(RecordsCaller caller, string id, long usedAt, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(caller);
        return store.TouchRecordAsync(caller.Username, id, Math.Min(usedAt, Now), cancellationToken);
    }

    /// <summary>Removes a kept conflict after the user chose.</summary>
    public Task<bool> DeleteConflictAsync(RecordsCaller caller, string conflictId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(caller);
        return store.DeleteConflictAsync(caller.Username, conflictId, cancellationToken);
    }

    /// <summary>Quota and usage.</summary>
    public async Task<QuotaDto> QuotaAsync(string username, CancellationToken cancellationToken) =>
        ToDto(await store.GetQuotaAsync(username, options.DefaultQuotaBytes, options.DefaultQuotaEntries, cancellationToken).ConfigureAwait(false));

    /// <summary>The offer for a full quota: double, capped at the server maximum; null when already there.</summary>
    public QuotaDto? OfferFor(QuotaDto quota)
    {
        ArgumentNullException.ThrowIfNull(quota);
        long bytes = Math.Min(options.MaxQuotaBytes, Math.Max(quota.MaxBytes * 2, 1));
        long entries = Math.Min(options.MaxQuotaEntries, Math.Max(quota.MaxEntries * 2, 1));
        return bytes <= quota.MaxBytes && entries <= quota.MaxEntries ? null : new QuotaDto(Math.Max(bytes, quota.MaxBytes), Math.Max(entries, quota.MaxEntries), quota.UsedBytes, quota.UsedEntries);
    }

    /// <summary>Accepts an offer: the quota becomes the offered one when it is within the server maximum and not below the current one.</summary>
    public async Task<QuotaDto?> AcceptAsync(RecordsCaller caller, QuotaAcceptDto accept, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(caller);
        ArgumentNullException.ThrowIfNull(accept);
        var quota = await QuotaAsync(caller.Username, cancellationToken).ConfigureAwait(false);
        if (accept.MaxBytes > options.MaxQuotaBytes || accept.MaxEntries > options.MaxQuotaEntries || accept.MaxBytes < quota.MaxBytes || accept.MaxEntries < quota.MaxEntries)
        {
            return null;
        }

        await store.SetQuotaAsync(caller.Username, accept.MaxBytes, accept.MaxEntries, cancellationToken).ConfigureAwait(false);
        return await QuotaAsync(caller.Username, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Declines an offer: names the least recently used records whose removal frees the room asked for, and removes
    /// them only when the call confirms exactly that list (so nothing goes that the user did not see).
    /// </summary>
    public async Task<QuotaDeclineResultDto?> DeclineAsync(RecordsCaller caller, QuotaDeclineDto decline, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(caller);
        ArgumentNullException.ThrowIfNull(decline);
        var records = await store.ListRecordsAsync(caller.Username, cancellationToken).ConfigureAwait(false);
        var chosen = new List<string>();
        long bytes = 0;
        foreach (var r in records.OrderBy(r => r.UsedAt).ThenBy(r => r.RecordId, StringComparer.Ordinal))
        {
            if (bytes >= decline.NeedBytes && chosen.Count >= decline.NeedEntries)
            {
                break;
            }

            chosen.Add(r.RecordId);
            bytes += r.Size;
        }

        if (!decline.Confirm)
        {
            return new QuotaDeclineResultDto(chosen, false, await QuotaAsync(caller.Username, cancellationToken).ConfigureAwait(false));
        }

        if (decline.Ids is null || !decline.Ids.Order(StringComparer.Ordinal).SequenceEqual(chosen.Order(StringComparer.Ordinal), StringComparer.Ordinal))
        {
            return null;
        }

        await store.DeleteRecordsAsync(caller.Username, chosen, cancellationToken).ConfigureAwait(false);
        return new QuotaDeclineResultDto(chosen, true, await QuotaAsync(caller.Username, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>The caller's wraps.</summary>
    public async Task<KeysDto> KeysAsync(RecordsCaller caller, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(caller);
        var keys = await store.ListKeysAsync(caller.Username, cancellationToken).ConfigureAwait(false);
        return new KeysDto(
            caller.CardSerial,
            keys.FirstOrDefault(k => k.Kind == "card" && k.CardSerial == caller.CardSerial)?.Wrap,
            keys.FirstOrDefault(k => k.Kind == "recovery")?.Wrap,
            [.. keys.Where(k => k.Kind == "card" && k.CardSerial != caller.CardSerial).Select(k => k.CardSerial)]);
    }

    /// <summary>First set-up of the record keys; false when the user has them already.</summary>
    public Task<bool> InitKeysAsync(RecordsCaller caller, KeysInitDto init, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(caller);
        ArgumentNullException.ThrowIfNull(init);
        return store.InitKeysAsync(caller.Username, caller.CardSerial, init.CardWrap, init.RecoveryWrap, Now, cancellationToken);
    }

    /// <summary>Re-keys for the caller's card (see <see cref="IRecordStore.RekeyAsync"/>).</summary>
    public Task<bool> RekeyAsync(RecordsCaller caller, RekeyDto rekey, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(caller);
        ArgumentNullException.ThrowIfNull(rekey);
        return store.RekeyAsync(caller.Username, caller.CardSerial, rekey.CardWrap, rekey.RecoveryWrap,
            [.. rekey.Rewraps.Select(w => new EnvRewrap(w.Id, w.IsConflict, w.Revision, w.WrappedDek))], Now, cancellationToken);
    }

    /// <summary>Metadata only, for the portal.</summary>
    public async Task<RecordSummaryDto> SummaryAsync(string username, CancellationToken cancellationToken)
    {
        var records = await store.ListRecordsAsync(username, cancellationToken).ConfigureAwait(false);
        var conflicts = await store.ListConflictsAsync(username, cancellationToken).ConfigureAwait(false);
        var keys = await store.ListKeysAsync(username, cancellationToken).ConfigureAwait(false);
        var quota = await QuotaAsync(username, cancellationToken).ConfigureAwait(false);
        var sets = records.SelectMany(r => r.Sets).GroupBy(s => s, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        return new RecordSummaryDto(records.Count, records.Sum(r => r.Size), sets, quota, conflicts.Count,
            [.. keys.Where(k => k.Kind == "card").Select(k => k.CardSerial)], keys.Any(k => k.Kind == "recovery"), records.Count == 0 ? null : records.Max(r => r.UsedAt));
    }

    private WriteResultDto ToDto(EnvWriteResult result)
    {
        var quota = result.Quota is null ? null : ToDto(result.Quota);
        return new WriteResultDto(Outcome(result.Outcome), result.Revision, result.ConflictId, quota, quota is null ? null : OfferFor(quota));
    }

    private static string Outcome(EnvWriteOutcome outcome) => outcome switch
    {
        EnvWriteOutcome.Applied => "applied",
        EnvWriteOutcome.AlreadyApplied => "already-applied",
        EnvWriteOutcome.Conflict => "conflict",
        _ => "quota-full",
    };

    private static QuotaDto ToDto(EnvQuota q) => new(q.MaxBytes, q.MaxEntries, q.UsedBytes, q.UsedEntries);

    private long Now => clock.GetUtcNow().ToUnixTimeMilliseconds();
}
