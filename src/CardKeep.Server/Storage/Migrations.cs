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
        new(2, "accounts, cards, machines and access keys, bearer sessions, throttle, escrow, audit", Sqlite: """
            CREATE TABLE accounts (
                username TEXT PRIMARY KEY REFERENCES users (username),
                password_hash TEXT NOT NULL,
                question TEXT NOT NULL,
                answer_hash TEXT NOT NULL,
                full_name TEXT NOT NULL,
                email TEXT NOT NULL,
                created_at INTEGER NOT NULL,
                audit_seq INTEGER NOT NULL,
                audit_head BLOB NOT NULL);
            CREATE TABLE account_cards (
                card_serial TEXT PRIMARY KEY,
                username TEXT NOT NULL REFERENCES accounts (username),
                public_key BLOB NOT NULL,
                token_serial BLOB NULL,
                kind TEXT NOT NULL,
                status TEXT NOT NULL,
                registered_at INTEGER NOT NULL,
                expires_at INTEGER NULL,
                revoked_at INTEGER NULL,
                replaced_by TEXT NULL);
            CREATE INDEX account_cards_username ON account_cards (username);
            CREATE TABLE account_machines (
                username TEXT NOT NULL REFERENCES accounts (username),
                machine_id TEXT NOT NULL,
                machine_serial TEXT NOT NULL,
                secret_hash BLOB NOT NULL,
                key_verifier TEXT NOT NULL,
                key_issued_at INTEGER NOT NULL,
                key_used_at INTEGER NULL,
                created_at INTEGER NOT NULL,
                PRIMARY KEY (username, machine_id));
            CREATE TABLE account_sessions (
                token_hash BLOB PRIMARY KEY,
                username TEXT NOT NULL REFERENCES accounts (username),
                card_serial TEXT NULL,
                scope TEXT NOT NULL,
                created_at INTEGER NOT NULL,
                expires_at INTEGER NOT NULL,
                revoked_at INTEGER NULL);
            CREATE INDEX account_sessions_username ON account_sessions (username);
            CREATE TABLE account_challenges (
                nonce_hash BLOB PRIMARY KEY,
                username TEXT NOT NULL,
                card_serial TEXT NOT NULL,
                purpose TEXT NOT NULL,
                expires_at INTEGER NOT NULL);
            CREATE TABLE account_throttle (
                subject TEXT PRIMARY KEY,
                failures INTEGER NOT NULL,
                locked_until INTEGER NOT NULL,
                updated_at INTEGER NOT NULL);
            CREATE TABLE account_escrow (
                username TEXT PRIMARY KEY REFERENCES accounts (username),
                blob BLOB NOT NULL,
                sha256 BLOB NOT NULL,
                updated_at INTEGER NOT NULL);
            CREATE TABLE account_audit (
                username TEXT NOT NULL REFERENCES accounts (username),
                seq INTEGER NOT NULL,
                at INTEGER NOT NULL,
                kind TEXT NOT NULL,
                details TEXT NOT NULL,
                prev_hash BLOB NOT NULL,
                hash BLOB NOT NULL,
                PRIMARY KEY (username, seq));
            """, Postgres: """
            CREATE TABLE accounts (
                username TEXT PRIMARY KEY REFERENCES users (username),
                password_hash TEXT NOT NULL,
                question TEXT NOT NULL,
                answer_hash TEXT NOT NULL,
                full_name TEXT NOT NULL,
                email TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                audit_seq BIGINT NOT NULL,
                audit_head BYTEA NOT NULL);
            CREATE TABLE account_cards (
                card_serial TEXT PRIMARY KEY,
                username TEXT NOT NULL REFERENCES accounts (username),
                public_key BYTEA NOT NULL,
                token_serial BYTEA NULL,
                kind TEXT NOT NULL,
                status TEXT NOT NULL,
                registered_at BIGINT NOT NULL,
                expires_at BIGINT NULL,
                revoked_at BIGINT NULL,
                replaced_by TEXT NULL);
            CREATE INDEX account_cards_username ON account_cards (username);
            CREATE TABLE account_machines (
                username TEXT NOT NULL REFERENCES accounts (username),
                machine_id TEXT NOT NULL,
                machine_serial TEXT NOT NULL,
                secret_hash BYTEA NOT NULL,
                key_verifier TEXT NOT NULL,
                key_issued_at BIGINT NOT NULL,
                key_used_at BIGINT NULL,
                created_at BIGINT NOT NULL,
                PRIMARY KEY (username, machine_id));
            CREATE TABLE account_sessions (
                token_hash BYTEA PRIMARY KEY,
                username TEXT NOT NULL REFERENCES accounts (username),
                card_serial TEXT NULL,
                scope TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                expires_at BIGINT NOT NULL,
                revoked_at BIGINT NULL);
            CREATE INDEX account_sessions_username ON account_sessions (username);
            CREATE TABLE account_challenges (
                nonce_hash BYTEA PRIMARY KEY,
                username TEXT NOT NULL,
                card_serial TEXT NOT NULL,
                purpose TEXT NOT NULL,
                expires_at BIGINT NOT NULL);
            CREATE TABLE account_throttle (
                subject TEXT PRIMARY KEY,
                failures INTEGER NOT NULL,
                locked_until BIGINT NOT NULL,
                updated_at BIGINT NOT NULL);
            CREATE TABLE account_escrow (
                username TEXT PRIMARY KEY REFERENCES accounts (username),
                blob BYTEA NOT NULL,
                sha256 BYTEA NOT NULL,
                updated_at BIGINT NOT NULL);
            CREATE TABLE account_audit (
                username TEXT NOT NULL REFERENCES accounts (username),
                seq BIGINT NOT NULL,
                at BIGINT NOT NULL,
                kind TEXT NOT NULL,
                details TEXT NOT NULL,
                prev_hash BYTEA NOT NULL,
                hash BYTEA NOT NULL,
                PRIMARY KEY (username, seq));
            """),
        new(3, "personal environment: encrypted records, conflicts, record keys, quotas", Sqlite: """
            CREATE TABLE env_records (
                username TEXT NOT NULL,
                record_id TEXT NOT NULL,
                revision INTEGER NOT NULL,
                change_id TEXT NOT NULL,
                sets TEXT NOT NULL,
                size INTEGER NOT NULL,
                used_at INTEGER NOT NULL,
                updated_at INTEGER NOT NULL,
                wrapped_dek BLOB NOT NULL,
                ciphertext BLOB NOT NULL,
                PRIMARY KEY (username, record_id));
            CREATE TABLE env_conflicts (
                username TEXT NOT NULL,
                conflict_id TEXT NOT NULL,
                record_id TEXT NOT NULL,
                base_revision INTEGER NOT NULL,
                revision INTEGER NOT NULL,
                change_id TEXT NOT NULL,
                sets TEXT NOT NULL,
                size INTEGER NOT NULL,
                used_at INTEGER NOT NULL,
                created_at INTEGER NOT NULL,
                wrapped_dek BLOB NOT NULL,
                ciphertext BLOB NOT NULL,
                PRIMARY KEY (username, conflict_id));
            CREATE INDEX env_conflicts_record ON env_conflicts (username, record_id);
            CREATE TABLE env_keys (
                username TEXT NOT NULL,
                kind TEXT NOT NULL,
                card_serial TEXT NOT NULL,
                wrap BLOB NOT NULL,
                created_at INTEGER NOT NULL,
                PRIMARY KEY (username, kind, card_serial));
            CREATE TABLE env_quotas (
                username TEXT PRIMARY KEY,
                max_bytes INTEGER NOT NULL,
                max_entries INTEGER NOT NULL);
            """, Postgres: """
            CREATE TABLE env_records (
                username TEXT NOT NULL,
                record_id TEXT NOT NULL,
                revision BIGINT NOT NULL,
                change_id TEXT NOT NULL,
                sets TEXT NOT NULL,
                size BIGINT NOT NULL,
                used_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL,
                wrapped_dek BYTEA NOT NULL,
                ciphertext BYTEA NOT NULL,
                PRIMARY KEY (username, record_id));
            CREATE TABLE env_conflicts (
                username TEXT NOT NULL,
                conflict_id TEXT NOT NULL,
                record_id TEXT NOT NULL,
                base_revision BIGINT NOT NULL,
                revision BIGINT NOT NULL,
                change_id TEXT NOT NULL,
                sets TEXT NOT NULL,
                size BIGINT NOT NULL,
                used_at BIGINT NOT NULL,
                created_at BIGINT NOT NULL,
                wrapped_dek BYTEA NOT NULL,
                ciphertext BYTEA NOT NULL,
                PRIMARY KEY (username, conflict_id));
            CREATE INDEX env_conflicts_record ON env_conflicts (username, record_id);
            CREATE TABLE env_keys (
                username TEXT NOT NULL,
                kind TEXT NOT NULL,
                card_serial TEXT NOT NULL,
                wrap BYTEA NOT NULL,
                created_at BIGINT NOT NULL,
                PRIMARY KEY (username, kind, card_serial));
            CREATE TABLE env_quotas (
                username TEXT PRIMARY KEY,
                max_bytes BIGINT NOT NULL,
                max_entries BIGINT NOT NULL);
            """),
        new(4, "relocation: user regions, moves out and in", Sqlite: RelocationSql, Postgres: RelocationSql),
    ];

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
