using Microsoft.Data.Sqlite;
using Npgsql;

namespace CardKeep.Server.Storage;

/// <summary>Whether the database takes writes.</summary>
public enum StorageState
{
    /// <summary>Answers and takes writes.</summary>
    Writable,

    /// <summary>Answers but refuses writes (a PostgreSQL standby in recovery, or read-only transactions).</summary>
    ReadOnly,

    /// <summary>Does not answer (connection refused, timeout, file gone, I/O error).</summary>
    Unreachable,
}

/// <summary>One look at the database.</summary>
/// <param name="State">What was found.</param>
/// <param name="Detail">A short description for /health and logs (no connection strings, no secrets).</param>
public sealed record StorageProbe(StorageState State, string Detail);

/// <summary>
/// Tells a database that is unreachable, overloaded or read-only (the server answers 503 with Retry-After, and the
/// client tries another server) from a bug or bad data (500, or the TRK1 generic error). Covers Npgsql and
/// Microsoft.Data.Sqlite.
/// </summary>
public static class StorageFailures
{
    /// <summary>The reason given when the database is a standby or otherwise refuses writes.</summary>
    public const string ReadOnlyReason = "the database is read-only (a standby in recovery): this server waits for promotion";

    /// <summary>A short reason when <paramref name="exception"/> (or an inner exception) means the database is unavailable; null otherwise.</summary>
    public static string? Classify(Exception? exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case PostgresException pg:
                    return Postgres(pg.SqlState);
                case NpgsqlException npgsql:
                    return npgsql.InnerException is TimeoutException ? "the database did not answer in time" : "the database is unreachable";
                case SqliteException sqlite:
                    return Sqlite(sqlite.SqliteErrorCode);
                case TimeoutException:
                    return "the database did not answer in time";
                default:
                    break;
            }
        }

        return null;
    }

    private static string? Postgres(string state) => state switch
    {
        "25006" => ReadOnlyReason,
        _ when state.StartsWith("08", StringComparison.Ordinal) => "the database connection failed",
        _ when state.StartsWith("57P", StringComparison.Ordinal) => "the database is shutting down or starting",
        _ when state.StartsWith("53", StringComparison.Ordinal) => "the database is out of resources",
        _ when state.StartsWith("40", StringComparison.Ordinal) => "the database aborted the transaction; retry",
        _ => null,
    };

    // SQLite primary result codes (extended codes keep them in the low byte).
    private static string? Sqlite(int code) => (code & 0xFF) switch
    {
        3 or 14 => "the database file cannot be opened",
        5 or 6 => "the database is busy",
        8 => "the database file is read-only",
        10 => "the database file gave an I/O error",
        11 or 26 => "the database file is damaged or not a database",
        13 => "the disk holding the database is full",
        _ => null,
    };
}
