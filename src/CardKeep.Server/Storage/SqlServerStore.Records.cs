using System.Data.Common;
using System.Globalization;
using System.Text.Json;

namespace CardKeep.Server.Storage;

/// <summary>The personal-environment slice of the shared SQL store.</summary>
public abstract partial class SqlServerStore
{
    private const string RecordColumns = "username, record_id, revision, change_id, sets, size, used_at, updated_at, wrapped_dek, ciphertext";
    private const string ConflictColumns = "conflict_id, record_id, base_revision, revision, change_id, sets, size, used_at, created_at, wrapped_dek, ciphertext";

    private static EnvRecordRow ReadRecord(DbDataReader r) => new(
        r.GetString(0), r.GetString(1), r.GetInt64(2), r.GetString(3), Sets(r.GetString(4)), r.GetInt64(5), r.GetInt64(6), r.GetInt64(7), (byte[])r[8], (byte[])r[9]);

    private static EnvConflictRow ReadConflict(DbDataReader r) => new(
        r.GetString(0), r.GetString(1), r.GetInt64(2), r.GetInt64(3), r.GetString(4), Sets(r.GetString(5)), r.GetInt64(6), r.GetInt64(7), r.GetInt64(8), (byte[])r[9], (byte[])r[10]);

    private static string[] Sets(string json) => JsonSerializer.Deserialize<string[]>(json) ?? [];

    /// <inheritdoc/>
    public async Task<IReadOnlyList<EnvRecordRow>> ListRecordsAsync(string username, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        return await QueryAsync(connection, null, $"SELECT {RecordColumns} FROM env_records WHERE username = @u ORDER BY record_id", ReadRecord, cancellationToken, ("u", username)).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<EnvConflictRow>> ListConflictsAsync(string username, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        return await QueryAsync(connection, null, $"SELECT {ConflictColumns} FROM env_conflicts WHERE username = @u ORDER BY record_id, created_at", ReadConflict, cancellationToken, ("u", username)).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async Task<EnvWriteResult> WriteRecordAsync(string username, EnvRecordWrite write, long defaultMaxBytes, long defaultMaxEntries, long now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(write);
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await BeginWriteAsync(connection, cancellationToken).ConfigureAwait(false);
        var current = (await QueryAsync(connection, transaction, $"SELECT {RecordColumns} FROM env_records WHERE username = @u AND record_id = @r", ReadRecord,
            cancellationToken, ("u", username), ("r", write.RecordId)).ConfigureAwait(false)).FirstOrDefault();
        string sets = JsonSerializer.Serialize(write.Sets);
        if (current is not null && string.Equals(current.ChangeId, write.ChangeId, StringComparison.Ordinal))
        {
            await transaction.RollbackAsync(cancellationToken).ConfigureAwait(false);
            return new EnvWriteResult(EnvWriteOutcome.AlreadyApplied, current.Revision);
        }

        long currentRevision = current?.Revision ?? 0;
        if (currentRevision != write.BaseRevision)
        {
            // Stale base (or the record was deleted meanwhile): keep the upload beside the current one. A repeated upload of
            // the same stale change is recognised by its change id.
            var existing = await QueryAsync(connection, transaction, "SELECT conflict_id FROM env_conflicts WHERE username = @u AND change_id = @c",
                r => r.GetString(0), cancellationToken, ("u", username), ("c", write.ChangeId)).ConfigureAwait(false);
            string conflictId = existing.Count > 0 ? existing[0] : Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
            if (existing.Count == 0)
            {
                await ExecuteAsync(connection, transaction, $"""
                    INSERT INTO env_conflicts ({ConflictColumns}, username)
                    VALUES (@id, @r, @b, @rev, @c, @s, @size, @used, @t, @k, @x, @u)
                    """, cancellationToken, ("id", conflictId), ("r", write.RecordId), ("b", write.BaseRevision), ("rev", write.BaseRevision + 1), ("c", write.ChangeId),
                    ("s", sets), ("size", write.Size), ("used", write.UsedAt), ("t", now), ("k", write.WrappedDek), ("x", write.Ciphertext), ("u", username)).ConfigureAwait(false);
            }

            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            return new EnvWriteResult(EnvWriteOutcome.Conflict, currentRevision, conflictId);
        }

        var quota = await QuotaAsync(connection, transaction, username, defaultMaxBytes, defaultMaxEntries, cancellationToken).ConfigureAwait(false);
        long bytesAfter = quota.UsedBytes - (current?.Size ?? 0) + write.Size;
        long entriesAfter = quota.UsedEntries + (current is null ? 1 : 0);
        if ((bytesAfter > quota.MaxBytes && write.Size > (current?.Size ?? 0)) || entriesAfter > quota.MaxEntries)
        {
            await transaction.RollbackAsync(cancellationToken).ConfigureAwait(false);
            return new EnvWriteResult(EnvWriteOutcome.QuotaFull, currentRevision, Quota: quota);
        }

        long revision = currentRevision + 1;
        await ExecuteAsync(connection, transaction, $"""
            INSERT INTO env_records ({RecordColumns}) VALUES (@u, @r, @rev, @c, @s, @size, @used, @t, @k, @x)
            ON CONFLICT (username, record_id) DO UPDATE SET revision = excluded.revision, change_id = excluded.change_id, sets = excluded.sets,
                size = excluded.size, used_at = excluded.used_at, updated_at = excluded.updated_at, wrapped_dek = excluded.wrapped_dek, ciphertext = excluded.ciphertext
            """, cancellationToken, ("u", username), ("r", write.RecordId), ("rev", revision), ("c", write.ChangeId), ("s", sets), ("size", write.Size),
            ("used", Math.Max(write.UsedAt, current?.UsedAt ?? 0)), ("t", now), ("k", write.WrappedDek), ("x", write.Ciphertext)).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return new EnvWriteResult(EnvWriteOutcome.Applied, revision);
    }

    /// <inheritdoc/>
    public async Task<EnvWriteResult> DeleteRecordAsync(string username, string recordId, long baseRevision, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await BeginWriteAsync(connection, cancellationToken).ConfigureAwait(false);
        var revisions = await QueryAsync(connection, transaction, "SELECT revision FROM env_records WHERE username = @u AND record_id = @r", r => r.GetInt64(0),
            cancellationToken, ("u", username), ("r", recordId)).ConfigureAwait(false);
        if (revisions.Count == 0)
        {
            await transaction.RollbackAsync(cancellationToken).ConfigureAwait(false);
            return new EnvWriteResult(EnvWriteOutcome.AlreadyApplied, 0);
        }

        if (revisions[0] != baseRevision)
        {
            await transaction.RollbackAsync(cancellationToken).ConfigureAwait(false);
            return new EnvWriteResult(EnvWriteOutcome.Conflict, revisions[0]);
        }

        await ExecuteAsync(connection, transaction, "DELETE FROM env_records WHERE username = @u AND record_id = @r", cancellationToken, ("u", username), ("r", recordId)).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return new EnvWriteResult(EnvWriteOutcome.Applied, 0);
    }

    /// <inheritdoc/>
    public async Task<int> DeleteRecordsAsync(string username, IReadOnlyCollection<string> recordIds, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(recordIds);
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await BeginWriteAsync(connection, cancellationToken).ConfigureAwait(false);
        int removed = 0;
        foreach (string id in recordIds)
        {
            removed += await ExecuteAsync(connection, transaction, "DELETE FROM env_records WHERE username = @u AND record_id = @r", cancellationToken, ("u", username), ("r", id)).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return removed;
    }

    /// <inheritdoc/>
    public async Task<bool> TouchRecordAsync(string username, string recordId, long usedAt, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        return await ExecuteAsync(connection, null, "UPDATE env_records SET used_at = @t WHERE username = @u AND record_id = @r AND used_at < @t", cancellationToken,
            ("t", usedAt), ("u", username), ("r", recordId)).ConfigureAwait(false) == 1;
    }

    /// <inheritdoc/>
    public async Task<bool> DeleteConflictAsync(string username, string conflictId, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        return await ExecuteAsync(connection, null, "DELETE FROM env_conflicts WHERE username = @u AND conflict_id = @c", cancellationToken,
            ("u", username), ("c", conflictId)).ConfigureAwait(false) == 1;
    }

    /// <inheritdoc/>
    public async Task<EnvQuota> GetQuotaAsync(string username, long defaultMaxBytes, long defaultMaxEntries, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        return await QuotaAsync(connection, null, username, defaultMaxBytes, defaultMaxEntries, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<EnvQuota> QuotaAsync(DbConnection connection, DbTransaction? transaction, string username, long defaultMaxBytes, long defaultMaxEntries, CancellationToken cancellationToken)
    {
        var limits = await QueryAsync(connection, transaction, "SELECT max_bytes, max_entries FROM env_quotas WHERE username = @u", r => (r.GetInt64(0), r.GetInt64(1)),
            cancellationToken, ("u", username)).ConfigureAwait(false);
        var usage = await QueryAsync(connection, transaction, "SELECT COALESCE(SUM(size), 0), COUNT(*) FROM env_records WHERE username = @u",
            r => (Convert.ToInt64(r[0], CultureInfo.InvariantCulture), Convert.ToInt64(r[1], CultureInfo.InvariantCulture)), cancellationToken, ("u", username)).ConfigureAwait(false);
        var (maxBytes, maxEntries) = limits.Count > 0 ? limits[0] : (defaultMaxBytes, defaultMaxEntries);
        return new EnvQuota(maxBytes, maxEntries, usage[0].Item1, usage[0].Item2);
    }

    /// <inheritdoc/>
    public async Task SetQuotaAsync(string username, long maxBytes, long maxEntries, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, null, """
            INSERT INTO env_quotas (username, max_bytes, max_entries) VALUES (@u, @b, @e)
            ON CONFLICT (username) DO UPDATE SET max_bytes = excluded.max_bytes, max_entries = excluded.max_entries
            """, cancellationToken, ("u", username), ("b", maxBytes), ("e", maxEntries)).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<EnvKeyRow>> ListKeysAsync(string username, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        return await QueryAsync(connection, null, "SELECT kind, card_serial, wrap, created_at FROM env_keys WHERE username = @u ORDER BY kind, card_serial",
            r => new EnvKeyRow(r.GetString(0), r.GetString(1), (byte[])r[2], r.GetInt64(3)), cancellationToken, ("u", username)).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async Task<bool> InitKeysAsync(string username, string cardSerial, byte[] cardWrap, byte[] recoveryWrap, long now, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await BeginWriteAsync(connection, cancellationToken).ConfigureAwait(false);
        if (await ScalarAsync<long>(connection, transaction, "SELECT COUNT(*) FROM env_keys WHERE username = @u", cancellationToken, ("u", username)).ConfigureAwait(false) > 0)
        {
            await transaction.RollbackAsync(cancellationToken).ConfigureAwait(false);
            return false;
        }

        await InsertKeysAsync(connection, transaction, username, cardSerial, cardWrap, recoveryWrap, now, cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <inheritdoc/>
    public async Task<bool> RekeyAsync(string username, string cardSerial, byte[] cardWrap, byte[] recoveryWrap, IReadOnlyList<EnvRewrap> rewraps, long now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(rewraps);
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await BeginWriteAsync(connection, cancellationToken).ConfigureAwait(false);
        long records = await ScalarAsync<long>(connection, transaction, "SELECT COUNT(*) FROM env_records WHERE username = @u", cancellationToken, ("u", username)).ConfigureAwait(false);
        long conflicts = await ScalarAsync<long>(connection, transaction, "SELECT COUNT(*) FROM env_conflicts WHERE username = @u", cancellationToken, ("u", username)).ConfigureAwait(false);
        bool complete = rewraps.Count(w => !w.IsConflict) == records && rewraps.Count(w => w.IsConflict) == conflicts
            && rewraps.Select(w => (w.Id, w.IsConflict)).Distinct().Count() == rewraps.Count;
        foreach (var w in complete ? rewraps : [])
        {
            string sql = w.IsConflict
                ? "UPDATE env_conflicts SET wrapped_dek = @k WHERE username = @u AND conflict_id = @i AND revision = @r"
                : "UPDATE env_records SET wrapped_dek = @k WHERE username = @u AND record_id = @i AND revision = @r";
            if (await ExecuteAsync(connection, transaction, sql, cancellationToken, ("k", w.WrappedDek), ("u", username), ("i", w.Id), ("r", w.Revision)).ConfigureAwait(false) != 1)
            {
                complete = false;
                break;
            }
        }

        if (!complete)
        {
            await transaction.RollbackAsync(cancellationToken).ConfigureAwait(false);
            return false;
        }

        await ExecuteAsync(connection, transaction, "DELETE FROM env_keys WHERE username = @u", cancellationToken, ("u", username)).ConfigureAwait(false);
        await InsertKeysAsync(connection, transaction, username, cardSerial, cardWrap, recoveryWrap, now, cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return true;
    }

    private static async Task InsertKeysAsync(DbConnection connection, DbTransaction transaction, string username, string cardSerial, byte[] cardWrap, byte[] recoveryWrap, long now, CancellationToken cancellationToken)
    {
        const string Insert = "INSERT INTO env_keys (username, kind, card_serial, wrap, created_at) VALUES (@u, @k, @s, @w, @t)";
        await ExecuteAsync(connection, transaction, Insert, cancellationToken, ("u", username), ("k", "card"), ("s", cardSerial), ("w", cardWrap), ("t", now)).ConfigureAwait(false);
        await ExecuteAsync(connection, transaction, Insert, cancellationToken, ("u", username), ("k", "recovery"), ("s", string.Empty), ("w", recoveryWrap), ("t", now)).ConfigureAwait(false);
    }
}
