using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace CardKeep.Server.Storage;

/// <summary>
/// SQLite backend (the embedded default): one file, WAL journal, foreign keys on, writers wait up to the busy timeout.
/// The file is created by the first connection only: once it exists, a vanished file is an error (503), not a new empty
/// database.
/// </summary>
public sealed class SqliteServerStore : SqlServerStore
{
    private readonly string _createString;
    private readonly string _connectionString;
    private readonly int _busyMilliseconds;
    private volatile bool _created;

    /// <summary>Opens (creating) the database file at <paramref name="path"/>; writers wait up to <paramref name="busyTimeoutSeconds"/> for the lock.</summary>
    public SqliteServerStore(string path, int busyTimeoutSeconds = 30)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var directory = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }

        _createString = new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadWriteCreate, DefaultTimeout = busyTimeoutSeconds, Pooling = true }.ToString();
        _connectionString = new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadWrite, DefaultTimeout = busyTimeoutSeconds, Pooling = true }.ToString();
        _busyMilliseconds = busyTimeoutSeconds * 1000;
        Path = path;
    }

    /// <summary>The database file.</summary>
    public string Path { get; }

    /// <inheritdoc/>
    public override string Backend => "sqlite";

    /// <inheritdoc/>
    protected override async Task<DbConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_created ? _connectionString : _createString);
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            await using var pragma = connection.CreateCommand();
            pragma.CommandText = string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = {_busyMilliseconds}; PRAGMA synchronous = NORMAL;");
            await pragma.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        _created = true;
        return connection;
    }

    /// <inheritdoc/>
    protected override Task<DbTransaction> BeginWriteAsync(DbConnection connection, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(connection);
        return Task.FromResult<DbTransaction>(((SqliteConnection)connection).BeginTransaction(deferred: false));
    }

    /// <inheritdoc/>
    protected override string MigrationSql(Migration migration)
    {
        ArgumentNullException.ThrowIfNull(migration);
        return migration.Sqlite;
    }
}
