using System.Data;
using System.Data.Common;
using System.Text.Json;

namespace CardKeep.Server.Storage;

/// <summary>
/// The SQL both backends share (standard SQL with <c>ON CONFLICT</c> and <c>RETURNING</c>, which SQLite ≥ 3.35 and
/// PostgreSQL both speak, and <c>@name</c> parameters, which both drivers accept). A backend supplies connections,
/// its migration statements and how it serialises migrations.
/// </summary>
public abstract partial class SqlServerStore : IServerStore
{
    /// <inheritdoc/>
    public abstract string Backend { get; }

    /// <summary>An open connection (pragmas set).</summary>
    protected abstract Task<DbConnection> OpenAsync(CancellationToken cancellationToken);

    /// <summary>Starts a write transaction (SQLite: immediate, so writers queue instead of failing).</summary>
    protected abstract Task<DbTransaction> BeginWriteAsync(DbConnection connection, CancellationToken cancellationToken);

    /// <summary>The statements of <paramref name="migration"/> for this dialect.</summary>
    protected abstract string MigrationSql(Migration migration);

    /// <summary>Runs inside the migration transaction before anything else (PostgreSQL: an advisory lock).</summary>
    protected virtual Task LockForMigrationAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc/>
    public async Task MigrateAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await BeginWriteAsync(connection, cancellationToken).ConfigureAwait(false);
        await LockForMigrationAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, transaction, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)", cancellationToken).ConfigureAwait(false);
        int current = await CurrentVersionAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
        if (current > Migrations.Latest)
        {
            throw new SchemaTooNewException(current, Migrations.Latest);
        }

        foreach (var migration in Migrations.All.Where(m => m.Version > current))
        {
            await ExecuteAsync(connection, transaction, MigrationSql(migration), cancellationToken).ConfigureAwait(false);
            await ExecuteAsync(connection, transaction, "INSERT INTO schema_version (version, name, applied_at) VALUES (@v, @n, @t)", cancellationToken,
                ("v", migration.Version), ("n", migration.Name), ("t", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds())).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async Task<int> SchemaVersionAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        return await CurrentVersionAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async Task<bool> PingAsync(CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
            return await ScalarAsync<long>(connection, null, "SELECT 1", cancellationToken).ConfigureAwait(false) == 1;
        }
        catch (DbException)
        {
            return false;
        }
    }

    /// <summary>One value: 1 when the database is read-only (PostgreSQL: in recovery or read-only transactions), else 0.</summary>
    protected virtual string ReadOnlyProbeSql => "SELECT 0";

    /// <inheritdoc/>
    public async Task<StorageProbe> ProbeAsync(CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
            return await ScalarAsync<long>(connection, null, ReadOnlyProbeSql, cancellationToken).ConfigureAwait(false) == 0
                ? new StorageProbe(StorageState.Writable, Backend)
                : new StorageProbe(StorageState.ReadOnly, StorageFailures.ReadOnlyReason);
        }
        catch (Exception e) when (StorageFailures.Classify(e) is { } reason)
        {
            return new StorageProbe(reason == StorageFailures.ReadOnlyReason ? StorageState.ReadOnly : StorageState.Unreachable, reason);
        }
    }

    private static async Task<int> CurrentVersionAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken)
    {
        try
        {
            return (int)await ScalarAsync<long>(connection, transaction, "SELECT COALESCE(MAX(version), 0) FROM schema_version", cancellationToken).ConfigureAwait(false);
        }
        catch (DbException)
        {
            return 0;
        }
    }

    // ---- users

    /// <inheritdoc/>
    public async Task<UserRecord?> GetUserAsync(string username, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        return await GetUserAsync(connection, null, username, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<UserRecord?> GetUserAsync(DbConnection connection, DbTransaction? transaction, string username, CancellationToken cancellationToken)
    {
        var rows = await QueryAsync(connection, transaction, "SELECT username, policy_version, created_at FROM users WHERE username = @u",
            r => new UserRecord(r.GetString(0), r.GetInt64(1), r.GetInt64(2)), cancellationToken, ("u", username)).ConfigureAwait(false);
        return rows.Count == 0 ? null : rows[0];
    }

    private static Task<int> EnsureUserAsync(DbConnection connection, DbTransaction transaction, string username, long now, CancellationToken cancellationToken) =>
        ExecuteAsync(connection, transaction, "INSERT INTO users (username, policy_version, created_at) VALUES (@u, 1, @t) ON CONFLICT (username) DO NOTHING",
            cancellationToken, ("u", username), ("t", now));

    // ---- registration

    /// <inheritdoc/>
    public async Task AddActivationCodeAsync(ActivationCodeRecord code, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(code);
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, null, "INSERT INTO activation_codes (code_hash, username, created_at, expires_at, used_at) VALUES (@h, @u, @c, @e, NULL)",
            cancellationToken, ("h", code.CodeHash), ("u", code.Username), ("c", code.CreatedAt), ("e", code.ExpiresAt)).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async Task<ActivationCodeRecord?> FindActivationCodeAsync(byte[] codeHash, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        var rows = await QueryAsync(connection, null, "SELECT code_hash, username, created_at, expires_at, used_at FROM activation_codes WHERE code_hash = @h",
            r => new ActivationCodeRecord((byte[])r[0], r.GetString(1), r.GetInt64(2), r.GetInt64(3), r.IsDBNull(4) ? null : r.GetInt64(4)),
            cancellationToken, ("h", codeHash)).ConfigureAwait(false);
        return rows.Count == 0 ? null : rows[0];
    }

    /// <inheritdoc/>
    public async Task<bool> CompleteRegistrationAsync(TokenRecord token, byte[]? codeHash, long now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(token);
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await BeginWriteAsync(connection, cancellationToken).ConfigureAwait(false);
        int consumed = codeHash is null ? 1 : await ExecuteAsync(connection, transaction,
            "UPDATE activation_codes SET used_at = @t WHERE code_hash = @h AND username = @u AND used_at IS NULL AND expires_at > @t",
            cancellationToken, ("t", now), ("h", codeHash), ("u", token.Username)).ConfigureAwait(false);
        if (consumed != 1)
        {
            await transaction.RollbackAsync(cancellationToken).ConfigureAwait(false);
            return false;
        }

        await EnsureUserAsync(connection, transaction, token.Username, now, cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, transaction, "DELETE FROM tokens WHERE token_serial = @s AND server_id = @i", cancellationToken,
            ("s", token.TokenSerial), ("i", token.ServerId)).ConfigureAwait(false);
        await ExecuteAsync(connection, transaction, """
            INSERT INTO tokens (token_handle, token_serial, server_id, suite, username, user_id_code, ssk_wrapped, access_path, status, fail_count, registered_at, ssk_not_after)
            VALUES (@h, @s, @i, @suite, @u, @uid, @w, @p, @st, 0, @r, @n)
            """, cancellationToken, ("h", token.TokenHandle), ("s", token.TokenSerial), ("i", token.ServerId), ("suite", token.Suite), ("u", token.Username),
            ("uid", token.UserIdCode), ("w", token.SskWrapped), ("p", token.AccessPath), ("st", token.Status), ("r", token.RegisteredAt), ("n", token.SskNotAfter)).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return true;
    }

    private const string TokenColumns = "token_handle, token_serial, server_id, suite, username, user_id_code, ssk_wrapped, access_path, status, fail_count, registered_at, ssk_not_after";

    private static TokenRecord ReadToken(DbDataReader r) => new(
        (byte[])r[0], (byte[])r[1], (byte[])r[2], r.GetString(3), r.GetString(4), (byte[])r[5], (byte[])r[6], r.GetString(7), r.GetString(8),
        Convert.ToInt32(r[9], System.Globalization.CultureInfo.InvariantCulture), r.GetInt64(10), r.GetInt64(11));

    /// <inheritdoc/>
    public async Task<TokenRecord?> GetTokenAsync(byte[] tokenHandle, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        var rows = await QueryAsync(connection, null, $"SELECT {TokenColumns} FROM tokens WHERE token_handle = @h", ReadToken, cancellationToken, ("h", tokenHandle)).ConfigureAwait(false);
        return rows.Count == 0 ? null : rows[0];
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<TokenRecord>> ListTokensAsync(string username, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        return await QueryAsync(connection, null, $"SELECT {TokenColumns} FROM tokens WHERE username = @u ORDER BY registered_at", ReadToken, cancellationToken, ("u", username)).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async Task<int> RecordTokenFailureAsync(byte[] tokenHandle, int lockAfter, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await BeginWriteAsync(connection, cancellationToken).ConfigureAwait(false);
        var counts = await QueryAsync(connection, transaction, "UPDATE tokens SET fail_count = fail_count + 1 WHERE token_handle = @h RETURNING fail_count",
            r => Convert.ToInt32(r[0], System.Globalization.CultureInfo.InvariantCulture), cancellationToken, ("h", tokenHandle)).ConfigureAwait(false);
        int count = counts.Count == 0 ? 0 : counts[0];
        if (count >= lockAfter)
        {
            await ExecuteAsync(connection, transaction, "UPDATE tokens SET status = @s WHERE token_handle = @h AND status = @a", cancellationToken,
                ("s", TokenStatus.Locked), ("h", tokenHandle), ("a", TokenStatus.Active)).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return count;
    }

    /// <inheritdoc/>
    public async Task ResetTokenFailuresAsync(byte[] tokenHandle, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, null, "UPDATE tokens SET fail_count = 0 WHERE token_handle = @h AND fail_count <> 0", cancellationToken, ("h", tokenHandle)).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async Task<bool> SetTokenStatusAsync(byte[] tokenHandle, string status, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        return await ExecuteAsync(connection, null, "UPDATE tokens SET status = @s, fail_count = 0 WHERE token_handle = @h", cancellationToken,
            ("s", status), ("h", tokenHandle)).ConfigureAwait(false) == 1;
    }

    /// <inheritdoc/>
    public async Task<bool> IsSerialBlockedAsync(byte[] tokenSerial, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        return await ScalarAsync<long>(connection, null, "SELECT COUNT(*) FROM blocked_serials WHERE token_serial = @s", cancellationToken, ("s", tokenSerial)).ConfigureAwait(false) > 0;
    }

    /// <inheritdoc/>
    public async Task BlockSerialAsync(byte[] tokenSerial, string reason, long now, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await BeginWriteAsync(connection, cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, transaction, "INSERT INTO blocked_serials (token_serial, reason, blocked_at) VALUES (@s, @r, @t) ON CONFLICT (token_serial) DO UPDATE SET reason = excluded.reason",
            cancellationToken, ("s", tokenSerial), ("r", reason), ("t", now)).ConfigureAwait(false);
        await ExecuteAsync(connection, transaction, "UPDATE tokens SET status = @st WHERE token_serial = @s", cancellationToken, ("st", TokenStatus.Revoked), ("s", tokenSerial)).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    // ---- entitlements

    /// <inheritdoc/>
    public async Task<long> GrantEntitlementAsync(EntitlementRecord entitlement, long now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entitlement);
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await BeginWriteAsync(connection, cancellationToken).ConfigureAwait(false);
        await EnsureUserAsync(connection, transaction, entitlement.Username, now, cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, transaction, """
            INSERT INTO entitlements (username, application, roles, locations, granted_at) VALUES (@u, @a, @r, @l, @t)
            ON CONFLICT (username, application) DO UPDATE SET roles = excluded.roles, locations = excluded.locations, granted_at = excluded.granted_at
            """, cancellationToken, ("u", entitlement.Username), ("a", entitlement.Application), ("r", JsonSerializer.Serialize(entitlement.Roles)),
            ("l", JsonSerializer.Serialize(entitlement.Locations)), ("t", now)).ConfigureAwait(false);
        long version = await BumpPolicyAsync(connection, transaction, entitlement.Username, cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return version;
    }

    /// <inheritdoc/>
    public async Task<long?> RevokeEntitlementAsync(string username, string application, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await BeginWriteAsync(connection, cancellationToken).ConfigureAwait(false);
        int removed = await ExecuteAsync(connection, transaction, "DELETE FROM entitlements WHERE username = @u AND application = @a", cancellationToken,
            ("u", username), ("a", application)).ConfigureAwait(false);
        if (removed == 0)
        {
            await transaction.RollbackAsync(cancellationToken).ConfigureAwait(false);
            return null;
        }

        long version = await BumpPolicyAsync(connection, transaction, username, cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return version;
    }

    private static async Task<long> BumpPolicyAsync(DbConnection connection, DbTransaction transaction, string username, CancellationToken cancellationToken)
    {
        var versions = await QueryAsync(connection, transaction, "UPDATE users SET policy_version = policy_version + 1 WHERE username = @u RETURNING policy_version",
            r => r.GetInt64(0), cancellationToken, ("u", username)).ConfigureAwait(false);
        return versions[0];
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<EntitlementRecord>> ListEntitlementsAsync(string username, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        return await QueryAsync(connection, null, "SELECT username, application, roles, locations, granted_at FROM entitlements WHERE username = @u ORDER BY application",
            r => new EntitlementRecord(r.GetString(0), r.GetString(1), JsonSerializer.Deserialize<string[]>(r.GetString(2)) ?? [],
                JsonSerializer.Deserialize<string[]>(r.GetString(3)) ?? [], r.GetInt64(4)), cancellationToken, ("u", username)).ConfigureAwait(false);
    }

    // ---- ADO helpers

    /// <summary>Runs a statement; returns the rows affected.</summary>
    protected static async Task<int> ExecuteAsync(DbConnection connection, DbTransaction? transaction, string sql, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        await using var command = Command(connection, transaction, sql, parameters);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Runs a query and maps each row.</summary>
    protected static async Task<List<T>> QueryAsync<T>(DbConnection connection, DbTransaction? transaction, string sql, Func<DbDataReader, T> map, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        ArgumentNullException.ThrowIfNull(map);
        await using var command = Command(connection, transaction, sql, parameters);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var rows = new List<T>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            rows.Add(map(reader));
        }

        return rows;
    }

    /// <summary>Runs a query returning one value.</summary>
    protected static async Task<T> ScalarAsync<T>(DbConnection connection, DbTransaction? transaction, string sql, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        await using var command = Command(connection, transaction, sql, parameters);
        var value = await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
        return (T)Convert.ChangeType(value!, typeof(T), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static DbCommand Command(DbConnection connection, DbTransaction? transaction, string sql, (string Name, object? Value)[] parameters)
    {
        var command = connection.CreateCommand();
#pragma warning disable CA2100 // Every statement is a constant of this class; values go only through parameters.
        command.CommandText = sql;
#pragma warning restore CA2100
        command.Transaction = transaction;
        foreach (var (name, value) in parameters)
        {
            var p = command.CreateParameter();
            p.ParameterName = "@" + name;
            p.Value = value ?? DBNull.Value;
            if (value is byte[])
            {
                p.DbType = DbType.Binary;
            }

            command.Parameters.Add(p);
        }

        return command;
    }
}
