using System.Data.Common;
using Npgsql;

namespace CardKeep.Server.Storage;

/// <summary>PostgreSQL backend (<c>--db "Host=…"</c>). Migrations take a transaction-scoped advisory lock so two servers starting together do not both migrate.</summary>
public sealed class PostgresServerStore : SqlServerStore, IDisposable
{
    private const long MigrationLockKey = 0x43_4B_54_52_4B_31; // "CKTRK1"
    private readonly NpgsqlDataSource _dataSource;

    /// <summary>Uses <paramref name="connectionString"/> (Npgsql syntax).</summary>
    public PostgresServerStore(string connectionString)
    {
        _dataSource = NpgsqlDataSource.Create(connectionString);
    }

    /// <inheritdoc/>
    public override string Backend => "postgresql";

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
    protected override string MigrationSql(Migration migration)
    {
        ArgumentNullException.ThrowIfNull(migration);
        return migration.Postgres;
    }

    /// <inheritdoc/>
    public void Dispose() => _dataSource.Dispose();
}
