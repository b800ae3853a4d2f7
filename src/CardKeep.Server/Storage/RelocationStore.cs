using System.Data.Common;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace CardKeep.Server.Storage;

/// <summary>One table that holds rows owned by a user: what a relocation moves.</summary>
/// <param name="Name">Table name.</param>
/// <param name="UserColumn">The column naming the owner.</param>
public sealed record UserTable(string Name, string UserColumn);

/// <summary>
/// The registry of user-owned tables, parents first (rows are inserted in this order and deleted in the reverse).
/// A slice that adds a table holding a user's rows (accounts, cards, access keys, audit log, encrypted records) lists
/// it here, and relocation moves it with the rest.
/// </summary>
public static class UserTables
{
    /// <summary>Every user-owned table.</summary>
    public static IReadOnlyList<UserTable> All { get; } =
    [
        new("users", "username"),
        new("activation_codes", "username"),
        new("tokens", "username"),
        new("entitlements", "username"),
        new("accounts", "username"),
        new("account_cards", "username"),
        new("account_machines", "username"),
        new("account_sessions", "username"),
        new("account_challenges", "username"),
        new("account_escrow", "username"),
        new("account_audit", "username"),
        new("env_records", "username"),
        new("env_conflicts", "username"),
        new("env_keys", "username"),
        new("env_quotas", "username"),
        new("user_regions", "username"),
    ];
}

/// <summary>A user's rows, table by table; each value is tagged ("s:" text, "i:" integer, "b:" base64 bytes) or null.</summary>
/// <param name="Tables">Table name → rows (column → tagged value).</param>
public sealed record UserRows(IReadOnlyDictionary<string, List<Dictionary<string, string?>>> Tables)
{
    /// <summary>SHA-256 over the rows in a canonical order (tables in registry order, columns by name, rows sorted): equal on both servers iff the rows are.</summary>
    public string Digest()
    {
        var text = new StringBuilder();
        foreach (var table in UserTables.All)
        {
            text.Append(table.Name).Append('\n');
            var rows = Tables.GetValueOrDefault(table.Name) ?? [];
            foreach (var row in rows.Select(r => string.Join('\u001f', r.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => $"{c.Key}={c.Value ?? "\u0000"}"))).Order(StringComparer.Ordinal))
            {
                text.Append(row).Append('\n');
            }
        }

        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));
    }
}

/// <summary>Relocation slice: where users connect from, their rows, and the state of moves out and in.</summary>
public interface IRelocationStore
{
    /// <summary>Counts one connection of <paramref name="username"/> from <paramref name="region"/> on <paramref name="day"/> (days since the epoch).</summary>
    Task RecordRegionAsync(string username, string region, long day, CancellationToken cancellationToken);

    /// <summary>Per user, connections per region since <paramref name="sinceDay"/>.</summary>
    Task<IReadOnlyList<(string User, string Region, long Connections)>> RegionCountsAsync(long sinceDay, CancellationToken cancellationToken);

    /// <summary>Every row <paramref name="username"/> owns, read in one transaction.</summary>
    Task<UserRows> ExportUserAsync(string username, CancellationToken cancellationToken);

    /// <summary>Target side: replaces the user's rows with <paramref name="rows"/> and marks the user incoming (not served) from <paramref name="source"/>; returns the digest of what is now stored.</summary>
    Task<string> ImportUserAsync(string username, UserRows rows, string source, long now, CancellationToken cancellationToken);

    /// <summary>Target side: the source has handed over; serve the user. False when nothing was incoming.</summary>
    Task<bool> CommitIncomingAsync(string username, CancellationToken cancellationToken);

    /// <summary>Target side: drops an incoming copy (a relocation rolled back). False when nothing was incoming.</summary>
    Task<bool> AbortIncomingAsync(string username, CancellationToken cancellationToken);

    /// <summary>Source side: in one transaction, with writers held off, checks that the user's rows still have <paramref name="digest"/>, deletes them and records the redirect. False (nothing changed) when the rows changed since the copy.</summary>
    Task<bool> HandOverAsync(string username, string digest, string location, long now, CancellationToken cancellationToken);

    /// <summary>Where a user moved to (null when served here).</summary>
    Task<string?> RelocatedToAsync(string username, CancellationToken cancellationToken);

    /// <summary>True while a copy of the user is arriving here and not yet handed over.</summary>
    Task<bool> IsIncomingAsync(string username, CancellationToken cancellationToken);

    /// <summary>Records the state of a move out (copying, verified, moved, done).</summary>
    Task SetRelocationStateAsync(string username, string target, string state, string? digest, long now, CancellationToken cancellationToken);

    /// <summary>Moves out not finished (state other than done).</summary>
    Task<IReadOnlyList<(string User, string Target, string State)>> UnfinishedRelocationsAsync(CancellationToken cancellationToken);
}

/// <summary>The relocation statements, shared by both backends.</summary>
public abstract partial class SqlServerStore
{
    /// <summary>Holds off writers of the user-owned tables until the transaction ends (SQLite: the write transaction already does).</summary>
    protected virtual Task LockUserTablesAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc/>
    public async Task RecordRegionAsync(string username, string region, long day, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, null, """
            INSERT INTO user_regions (username, region, day, connections) VALUES (@u, @r, @d, 1)
            ON CONFLICT (username, region, day) DO UPDATE SET connections = user_regions.connections + 1
            """, cancellationToken, ("u", username), ("r", region), ("d", day)).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<(string User, string Region, long Connections)>> RegionCountsAsync(long sinceDay, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        return await QueryAsync(connection, null, "SELECT username, region, SUM(connections) FROM user_regions WHERE day >= @d GROUP BY username, region",
            r => (r.GetString(0), r.GetString(1), Convert.ToInt64(r[2], CultureInfo.InvariantCulture)), cancellationToken, ("d", sinceDay)).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async Task<UserRows> ExportUserAsync(string username, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        return await ReadUserAsync(connection, transaction, username, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<UserRows> ReadUserAsync(DbConnection connection, DbTransaction transaction, string username, CancellationToken cancellationToken)
    {
        var tables = new Dictionary<string, List<Dictionary<string, string?>>>(StringComparer.Ordinal);
        foreach (var table in UserTables.All)
        {
            tables[table.Name] = await QueryAsync(connection, transaction, $"SELECT * FROM {table.Name} WHERE {table.UserColumn} = @u", ReadRow, cancellationToken, ("u", username)).ConfigureAwait(false);
        }

        return new UserRows(tables);
    }

    private static Dictionary<string, string?> ReadRow(DbDataReader r)
    {
        var row = new Dictionary<string, string?>(StringComparer.Ordinal);
        for (int i = 0; i < r.FieldCount; i++)
        {
            row[r.GetName(i)] = r.IsDBNull(i) ? null : r.GetValue(i) switch
            {
                byte[] b => "b:" + Convert.ToBase64String(b),
                string s => "s:" + s,
                long or int or short => "i:" + Convert.ToInt64(r.GetValue(i), CultureInfo.InvariantCulture).ToString(CultureInfo.InvariantCulture),
                var other => throw new InvalidOperationException($"relocation cannot move a {other.GetType().Name} value ({r.GetName(i)})"),
            };
        }

        return row;
    }

    private static object? Untag(string? value) => value switch
    {
        null => null,
        _ when value.StartsWith("b:", StringComparison.Ordinal) => Convert.FromBase64String(value[2..]),
        _ when value.StartsWith("s:", StringComparison.Ordinal) => value[2..],
        _ when value.StartsWith("i:", StringComparison.Ordinal) => long.Parse(value[2..], CultureInfo.InvariantCulture),
        _ => throw new FormatException("a relocated value has no type tag"),
    };

    private static async Task DeleteUserAsync(DbConnection connection, DbTransaction transaction, string username, CancellationToken cancellationToken)
    {
        foreach (var table in UserTables.All.Reverse())
        {
            await ExecuteAsync(connection, transaction, $"DELETE FROM {table.Name} WHERE {table.UserColumn} = @u", cancellationToken, ("u", username)).ConfigureAwait(false);
        }
    }

    /// <inheritdoc/>
    public async Task<string> ImportUserAsync(string username, UserRows rows, string source, long now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(rows);
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await BeginWriteAsync(connection, cancellationToken).ConfigureAwait(false);
        await DeleteUserAsync(connection, transaction, username, cancellationToken).ConfigureAwait(false);
        foreach (var table in UserTables.All)
        {
            foreach (var row in rows.Tables.GetValueOrDefault(table.Name) ?? [])
            {
                if (row.GetValueOrDefault(table.UserColumn) != "s:" + username || row.Keys.Any(k => !IsColumnName(k)))
                {
                    throw new FormatException($"a row of {table.Name} does not belong to the user being relocated");
                }

                var columns = row.Keys.ToArray();
                await ExecuteAsync(connection, transaction,
                    $"INSERT INTO {table.Name} ({string.Join(", ", columns)}) VALUES ({string.Join(", ", columns.Select((_, i) => "@p" + i.ToString(CultureInfo.InvariantCulture)))})",
                    cancellationToken, columns.Select((c, i) => ("p" + i.ToString(CultureInfo.InvariantCulture), Untag(row[c]))).ToArray()).ConfigureAwait(false);
            }
        }

        await ExecuteAsync(connection, transaction, "DELETE FROM relocated_users WHERE username = @u", cancellationToken, ("u", username)).ConfigureAwait(false);
        await ExecuteAsync(connection, transaction, """
            INSERT INTO relocation_incoming (username, source, received_at) VALUES (@u, @s, @t)
            ON CONFLICT (username) DO UPDATE SET source = excluded.source, received_at = excluded.received_at
            """, cancellationToken, ("u", username), ("s", source), ("t", now)).ConfigureAwait(false);
        string digest = (await ReadUserAsync(connection, transaction, username, cancellationToken).ConfigureAwait(false)).Digest();
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return digest;
    }

    private static bool IsColumnName(string name) => name.Length is > 0 and <= 63 && name.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '_');

    /// <inheritdoc/>
    public async Task<bool> CommitIncomingAsync(string username, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        return await ExecuteAsync(connection, null, "DELETE FROM relocation_incoming WHERE username = @u", cancellationToken, ("u", username)).ConfigureAwait(false) == 1;
    }

    /// <inheritdoc/>
    public async Task<bool> AbortIncomingAsync(string username, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await BeginWriteAsync(connection, cancellationToken).ConfigureAwait(false);
        if (await ExecuteAsync(connection, transaction, "DELETE FROM relocation_incoming WHERE username = @u", cancellationToken, ("u", username)).ConfigureAwait(false) != 1)
        {
            await transaction.RollbackAsync(cancellationToken).ConfigureAwait(false);
            return false;
        }

        await DeleteUserAsync(connection, transaction, username, cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <inheritdoc/>
    public async Task<bool> HandOverAsync(string username, string digest, string location, long now, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await BeginWriteAsync(connection, cancellationToken).ConfigureAwait(false);
        await LockUserTablesAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
        if ((await ReadUserAsync(connection, transaction, username, cancellationToken).ConfigureAwait(false)).Digest() != digest)
        {
            await transaction.RollbackAsync(cancellationToken).ConfigureAwait(false);
            return false;
        }

        await DeleteUserAsync(connection, transaction, username, cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, transaction, "INSERT INTO relocated_users (username, location, moved_at) VALUES (@u, @l, @t) ON CONFLICT (username) DO UPDATE SET location = excluded.location, moved_at = excluded.moved_at",
            cancellationToken, ("u", username), ("l", location), ("t", now)).ConfigureAwait(false);
        await ExecuteAsync(connection, transaction, "UPDATE relocations SET state = 'moved', updated_at = @t WHERE username = @u", cancellationToken, ("u", username), ("t", now)).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <inheritdoc/>
    public async Task<string?> RelocatedToAsync(string username, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        var rows = await QueryAsync(connection, null, "SELECT location FROM relocated_users WHERE username = @u", r => r.GetString(0), cancellationToken, ("u", username)).ConfigureAwait(false);
        return rows.Count == 0 ? null : rows[0];
    }

    /// <inheritdoc/>
    public async Task<bool> IsIncomingAsync(string username, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        return await ScalarAsync<long>(connection, null, "SELECT COUNT(*) FROM relocation_incoming WHERE username = @u", cancellationToken, ("u", username)).ConfigureAwait(false) > 0;
    }

    /// <inheritdoc/>
    public async Task SetRelocationStateAsync(string username, string target, string state, string? digest, long now, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, null, """
            INSERT INTO relocations (username, target, state, digest, updated_at) VALUES (@u, @g, @s, @d, @t)
            ON CONFLICT (username) DO UPDATE SET target = excluded.target, state = excluded.state, digest = excluded.digest, updated_at = excluded.updated_at
            """, cancellationToken, ("u", username), ("g", target), ("s", state), ("d", digest), ("t", now)).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<(string User, string Target, string State)>> UnfinishedRelocationsAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        return await QueryAsync(connection, null, "SELECT username, target, state FROM relocations WHERE state IN ('copying', 'verified', 'moved')", r => (r.GetString(0), r.GetString(1), r.GetString(2)), cancellationToken).ConfigureAwait(false);
    }
}
