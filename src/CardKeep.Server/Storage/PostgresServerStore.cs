using System.Data.Common;
using Npgsql;

namespace CardKeep.Server.Storage;

/// <summary>PostgreSQL backend (<c>--db "Host=…"</c>). Migrations take a transaction-scoped advisory lock so two servers starting together do not both migrate.</summary>
public sealed class PostgresServerStore : SqlServerStore, IDisposable
{
    private const long MigrationLockKey = 0x43_4B_54_52_4B_31; // "CKTRK1"
    private readonly NpgsqlDataSource _dataSource;

    /// <summary>
    /// Uses <paramref name="connectionString"/> (Npgsql syntax). Unless the string sets them, connecting gives up after
    /// <paramref name="connectTimeoutSeconds"/> and a statement after <paramref name="commandTimeoutSeconds"/>, so an
    /// unreachable database turns into a quick 503 instead of a hanging request.
    /// </summary>
    public PostgresServerStore(string connectionString, int connectTimeoutSeconds = 3, int commandTimeoutSeconds = 10)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        if (!Sets(connectionString, "Timeout"))
        {
            builder.Timeout = connectTimeoutSeconds;
        }

        if (!Sets(connectionString, "Command Timeout") && !Sets(connectionString, "CommandTimeout"))
        {
            builder.CommandTimeout = commandTimeoutSeconds;
        }

        _dataSource = NpgsqlDataSource.Create(builder.ConnectionString);
    }

    private static bool Sets(string connectionString, string key) =>
        connectionString.Split(';').Any(part => part.Split('=')[0].Trim().Equals(key, StringComparison.OrdinalIgnoreCase));

    /// <inheritdoc/>
    public override string Backend => "postgresql";

    /// <inheritdoc/>
    protected override string ReadOnlyProbeSql =>
        "SELECT CASE WHEN pg_is_in_recovery() OR current_setting('transaction_read_only') = 'on' THEN 1 ELSE 0 END";

    /// <inheritdoc/>
    protected override async Task<DbConnection> OpenAsync(CancellationToken cancellationToken) =>
        await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);

    /// <inheritdoc/>
    protected override async Task<DbTransaction> BeginWriteAsync(DbConnection connection, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(connection);
        return await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    protected override Task LockForMigrationAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken) =>
        ExecuteAsync(connection, transaction, "SELECT pg_advisory_xact_lock(@k)", cancellationToken, ("k", MigrationLockKey));

    /// <inheritdoc/>
    protected override Task LockUserTablesAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken) =>
        ExecuteAsync(connection, transaction, $"LOCK TABLE {string.Join(", ", UserTables.All.Select(t => t.Name))} IN SHARE ROW EXCLUSIVE MODE", cancellationToken);

    /// <inheritdoc/>
    protected override string MigrationSql(Migration migration)
    {
        ArgumentNullException.ThrowIfNull(migration);
        return migration.Postgres;
    }

    /// <inheritdoc/>
    public void Dispose() => _dataSource.Dispose();
}
