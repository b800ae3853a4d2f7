namespace CardKeep.Server.Storage;

/// <summary>One schema change: a version, a name and the statements for each dialect (run in one transaction).</summary>
/// <param name="Version">Strictly increasing version.</param>
/// <param name="Name">Short description.</param>
/// <param name="Sqlite">SQLite statements.</param>
/// <param name="Postgres">PostgreSQL statements.</param>
public sealed record Migration(int Version, string Name, string Sqlite, string Postgres);

/// <summary>
/// The schema history. Append only: a released migration never changes. Later issues add versions 2, 3, … (accounts,
/// cards, access keys, audit; encrypted records). Times are Unix milliseconds (BIGINT/INTEGER); binary values are
/// BLOB/BYTEA; lists are JSON text.
/// </summary>
public static class Migrations
{
    /// <summary>Every migration, in order.</summary>
    public static IReadOnlyList<Migration> All { get; } =
    [
        new(1, "registration, sessions, entitlements", Sqlite: """
            CREATE TABLE users (
                username TEXT PRIMARY KEY,
                policy_version INTEGER NOT NULL,
                created_at INTEGER NOT NULL);
            CREATE TABLE activation_codes (
                code_hash BLOB PRIMARY KEY,
                username TEXT NOT NULL,
                created_at INTEGER NOT NULL,
                expires_at INTEGER NOT NULL,
                used_at INTEGER NULL);
            CREATE INDEX activation_codes_username ON activation_codes (username);
            CREATE TABLE tokens (
                token_handle BLOB PRIMARY KEY,
                token_serial BLOB NOT NULL,
                server_id BLOB NOT NULL,
                suite TEXT NOT NULL,
                username TEXT NOT NULL REFERENCES users (username),
                user_id_code BLOB NOT NULL,
                ssk_wrapped BLOB NOT NULL,
                access_path TEXT NOT NULL,
                status TEXT NOT NULL,
                fail_count INTEGER NOT NULL,
                registered_at INTEGER NOT NULL,
                ssk_not_after INTEGER NOT NULL);
            CREATE INDEX tokens_serial ON tokens (token_serial, server_id);
            CREATE INDEX tokens_username ON tokens (username);
            CREATE TABLE entitlements (
                username TEXT NOT NULL REFERENCES users (username),
                application TEXT NOT NULL,
                roles TEXT NOT NULL,
                locations TEXT NOT NULL,
                granted_at INTEGER NOT NULL,
                PRIMARY KEY (username, application));
            CREATE TABLE blocked_serials (
                token_serial BLOB PRIMARY KEY,
                reason TEXT NOT NULL,
                blocked_at INTEGER NOT NULL);
            """, Postgres: """
            CREATE TABLE users (
                username TEXT PRIMARY KEY,
                policy_version BIGINT NOT NULL,
                created_at BIGINT NOT NULL);
            CREATE TABLE activation_codes (
                code_hash BYTEA PRIMARY KEY,
                username TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                expires_at BIGINT NOT NULL,
                used_at BIGINT NULL);
            CREATE INDEX activation_codes_username ON activation_codes (username);
            CREATE TABLE tokens (
                token_handle BYTEA PRIMARY KEY,
                token_serial BYTEA NOT NULL,
                server_id BYTEA NOT NULL,
                suite TEXT NOT NULL,
                username TEXT NOT NULL REFERENCES users (username),
                user_id_code BYTEA NOT NULL,
                ssk_wrapped BYTEA NOT NULL,
                access_path TEXT NOT NULL,
                status TEXT NOT NULL,
                fail_count INTEGER NOT NULL,
                registered_at BIGINT NOT NULL,
                ssk_not_after BIGINT NOT NULL);
            CREATE INDEX tokens_serial ON tokens (token_serial, server_id);
            CREATE INDEX tokens_username ON tokens (username);
            CREATE TABLE entitlements (
                username TEXT NOT NULL REFERENCES users (username),
                application TEXT NOT NULL,
                roles TEXT NOT NULL,
                locations TEXT NOT NULL,
                granted_at BIGINT NOT NULL,
                PRIMARY KEY (username, application));
            CREATE TABLE blocked_serials (
                token_serial BYTEA PRIMARY KEY,
                reason TEXT NOT NULL,
                blocked_at BIGINT NOT NULL);
            """),
        new(4, "relocation: user regions, moves out and in", Sqlite: RelocationSql, Postgres: RelocationSql),
    ];

    // Versions 2 and 3 belong to the accounts and encrypted-records slices (issues 7 and 8).
    private const string RelocationSql = """
        CREATE TABLE user_regions (
            username TEXT NOT NULL,
            region TEXT NOT NULL,
            day BIGINT NOT NULL,
            connections BIGINT NOT NULL,
            PRIMARY KEY (username, region, day));
        CREATE TABLE relocations (
            username TEXT PRIMARY KEY,
            target TEXT NOT NULL,
            state TEXT NOT NULL,
            digest TEXT NULL,
            updated_at BIGINT NOT NULL);
        CREATE TABLE relocated_users (
            username TEXT PRIMARY KEY,
            location TEXT NOT NULL,
            moved_at BIGINT NOT NULL);
        CREATE TABLE relocation_incoming (
            username TEXT PRIMARY KEY,
            source TEXT NOT NULL,
            received_at BIGINT NOT NULL);
        """;

    /// <summary>The highest version this binary knows.</summary>
    public static int Latest => All[^1].Version;
}
