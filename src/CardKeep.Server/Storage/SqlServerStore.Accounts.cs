using System.Data.Common;
using System.Globalization;

namespace CardKeep.Server.Storage;

/// <summary>The accounts slice of the shared SQL (migration 2).</summary>
public abstract partial class SqlServerStore
{
    private const string AccountColumns = "username, password_hash, question, answer_hash, full_name, email, created_at, audit_seq, audit_head";
    private const string CardColumns = "card_serial, username, public_key, token_serial, kind, status, registered_at, expires_at, revoked_at, replaced_by";
    private const string MachineColumns = "username, machine_id, machine_serial, secret_hash, key_verifier, key_issued_at, key_used_at, created_at";

    private static long? NullableLong(DbDataReader r, int i) => r.IsDBNull(i) ? null : r.GetInt64(i);

    private static AccountRecord ReadAccount(DbDataReader r) => new(
        r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetString(4), r.GetString(5), r.GetInt64(6), r.GetInt64(7), (byte[])r[8]);

    private static AccountCardRecord ReadCard(DbDataReader r) => new(
        r.GetString(0), r.GetString(1), (byte[])r[2], r.IsDBNull(3) ? null : (byte[])r[3], r.GetString(4), r.GetString(5), r.GetInt64(6),
        NullableLong(r, 7), NullableLong(r, 8), r.IsDBNull(9) ? null : r.GetString(9));

    private static MachineRecord ReadMachine(DbDataReader r) => new(
        r.GetString(0), r.GetString(1), r.GetString(2), (byte[])r[3], r.GetString(4), r.GetInt64(5), NullableLong(r, 6), r.GetInt64(7));

    /// <inheritdoc/>
    public async Task<CreateAccountResult> CreateAccountAsync(AccountRecord account, AccountCardRecord card, MachineRecord machine, byte[] codeHash, ActivationCodeRecord tokenCode, IReadOnlyList<AuditEvent> audit, long now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(account);
        ArgumentNullException.ThrowIfNull(card);
        ArgumentNullException.ThrowIfNull(machine);
        ArgumentNullException.ThrowIfNull(tokenCode);
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await BeginWriteAsync(connection, cancellationToken).ConfigureAwait(false);
        int consumed = await ExecuteAsync(connection, transaction,
            "UPDATE activation_codes SET used_at = @t WHERE code_hash = @h AND username = @u AND used_at IS NULL AND expires_at > @t",
            cancellationToken, ("t", now), ("h", codeHash), ("u", account.Username)).ConfigureAwait(false);
        var result = consumed != 1 ? CreateAccountResult.CodeInvalid
            : await ScalarAsync<long>(connection, transaction, "SELECT COUNT(*) FROM accounts WHERE username = @u", cancellationToken, ("u", account.Username)).ConfigureAwait(false) > 0
                ? CreateAccountResult.AccountExists
            : await ScalarAsync<long>(connection, transaction, "SELECT COUNT(*) FROM account_cards WHERE card_serial = @s", cancellationToken, ("s", card.Serial)).ConfigureAwait(false) > 0
                ? CreateAccountResult.CardExists
            : CreateAccountResult.Created;
        if (result != CreateAccountResult.Created)
        {
            await transaction.RollbackAsync(cancellationToken).ConfigureAwait(false);
            return result;
        }

        await EnsureUserAsync(connection, transaction, account.Username, now, cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, transaction, $"INSERT INTO accounts ({AccountColumns}) VALUES (@u, @p, @q, @a, @n, @e, @t, 0, @h)", cancellationToken,
            ("u", account.Username), ("p", account.PasswordHash), ("q", account.Question), ("a", account.AnswerHash), ("n", account.FullName),
            ("e", account.Email), ("t", account.CreatedAt), ("h", AuditChain.Genesis)).ConfigureAwait(false);
        await InsertCardAsync(connection, transaction, card, cancellationToken).ConfigureAwait(false);
        await UpsertMachineAsync(connection, transaction, machine, cancellationToken).ConfigureAwait(false);
        await InsertActivationCodeAsync(connection, transaction, tokenCode, cancellationToken).ConfigureAwait(false);
        await AppendAuditAsync(connection, transaction, account.Username, audit, now, cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return CreateAccountResult.Created;
    }

    private static Task<int> InsertCardAsync(DbConnection connection, DbTransaction transaction, AccountCardRecord card, CancellationToken cancellationToken) =>
        ExecuteAsync(connection, transaction, $"INSERT INTO account_cards ({CardColumns}) VALUES (@s, @u, @k, @ts, @kind, @st, @r, @e, @rv, @rb)", cancellationToken,
            ("s", card.Serial), ("u", card.Username), ("k", card.PublicKey), ("ts", card.TokenSerial), ("kind", card.Kind), ("st", card.Status),
            ("r", card.RegisteredAt), ("e", card.ExpiresAt), ("rv", card.RevokedAt), ("rb", card.ReplacedBy));

    private static Task<int> InsertActivationCodeAsync(DbConnection connection, DbTransaction transaction, ActivationCodeRecord code, CancellationToken cancellationToken) =>
        ExecuteAsync(connection, transaction, "INSERT INTO activation_codes (code_hash, username, created_at, expires_at, used_at) VALUES (@h, @u, @c, @e, NULL)",
            cancellationToken, ("h", code.CodeHash), ("u", code.Username), ("c", code.CreatedAt), ("e", code.ExpiresAt));

    private static Task<int> UpsertMachineAsync(DbConnection connection, DbTransaction transaction, MachineRecord machine, CancellationToken cancellationToken) =>
        ExecuteAsync(connection, transaction, $"""
            INSERT INTO account_machines ({MachineColumns}) VALUES (@u, @m, @ms, @sh, @kv, @ki, NULL, @c)
            ON CONFLICT (username, machine_id) DO UPDATE SET machine_serial = excluded.machine_serial, secret_hash = excluded.secret_hash,
                key_verifier = excluded.key_verifier, key_issued_at = excluded.key_issued_at, key_used_at = NULL
            """, cancellationToken, ("u", machine.Username), ("m", machine.MachineId), ("ms", machine.MachineSerial), ("sh", machine.SecretHash),
            ("kv", machine.KeyVerifier), ("ki", machine.KeyIssuedAt), ("c", machine.CreatedAt));

    /// <inheritdoc/>
    public async Task<AccountRecord?> GetAccountAsync(string username, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        var rows = await QueryAsync(connection, null, $"SELECT {AccountColumns} FROM accounts WHERE username = @u", ReadAccount, cancellationToken, ("u", username)).ConfigureAwait(false);
        return rows.Count == 0 ? null : rows[0];
    }

    /// <inheritdoc/>
    public async Task<AccountCardRecord?> GetCardAsync(string serial, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        var rows = await QueryAsync(connection, null, $"SELECT {CardColumns} FROM account_cards WHERE card_serial = @s", ReadCard, cancellationToken, ("s", serial)).ConfigureAwait(false);
        return rows.Count == 0 ? null : rows[0];
    }

    /// <inheritdoc/>
    public async Task<bool> IsCardTokenRefusedAsync(byte[] tokenSerial, long now, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        return await ScalarAsync<long>(connection, null,
            "SELECT COUNT(*) FROM account_cards WHERE token_serial = @s AND (status <> @a OR (expires_at IS NOT NULL AND expires_at <= @t))",
            cancellationToken, ("s", tokenSerial), ("a", AccountCardValues.Active), ("t", now)).ConfigureAwait(false) > 0;
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<AccountCardRecord>> ListCardsAsync(string username, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        return await QueryAsync(connection, null, $"SELECT {CardColumns} FROM account_cards WHERE username = @u ORDER BY registered_at, card_serial", ReadCard, cancellationToken, ("u", username)).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async Task<MachineRecord?> GetMachineAsync(string username, string machineId, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        var rows = await QueryAsync(connection, null, $"SELECT {MachineColumns} FROM account_machines WHERE username = @u AND machine_id = @m", ReadMachine, cancellationToken,
            ("u", username), ("m", machineId)).ConfigureAwait(false);
        return rows.Count == 0 ? null : rows[0];
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<MachineRecord>> ListMachinesAsync(string username, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        return await QueryAsync(connection, null, $"SELECT {MachineColumns} FROM account_machines WHERE username = @u ORDER BY created_at, machine_id", ReadMachine, cancellationToken, ("u", username)).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async Task UpsertMachineAsync(MachineRecord machine, AuditEvent audit, long now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(machine);
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await BeginWriteAsync(connection, cancellationToken).ConfigureAwait(false);
        await UpsertMachineAsync(connection, transaction, machine, cancellationToken).ConfigureAwait(false);
        await AppendAuditAsync(connection, transaction, machine.Username, [audit], now, cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async Task<bool> SetMachineKeyAsync(string username, string machineId, string keyVerifier, AuditEvent audit, long now, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await BeginWriteAsync(connection, cancellationToken).ConfigureAwait(false);
        if (await SetMachineKeyAsync(connection, transaction, username, machineId, keyVerifier, now, cancellationToken).ConfigureAwait(false) != 1)
        {
            await transaction.RollbackAsync(cancellationToken).ConfigureAwait(false);
            return false;
        }

        await AppendAuditAsync(connection, transaction, username, [audit], now, cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return true;
    }

    private static Task<int> SetMachineKeyAsync(DbConnection connection, DbTransaction transaction, string username, string machineId, string keyVerifier, long now, CancellationToken cancellationToken) =>
        ExecuteAsync(connection, transaction, "UPDATE account_machines SET key_verifier = @kv, key_issued_at = @t, key_used_at = NULL WHERE username = @u AND machine_id = @m",
            cancellationToken, ("kv", keyVerifier), ("t", now), ("u", username), ("m", machineId));

    /// <inheritdoc/>
    public async Task<long> MarkKeyUsedAsync(string username, string machineId, string keyVerifier, AuditEvent audit, long now, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await BeginWriteAsync(connection, cancellationToken).ConfigureAwait(false);
        int first = await ExecuteAsync(connection, transaction,
            "UPDATE account_machines SET key_used_at = @t WHERE username = @u AND machine_id = @m AND key_verifier = @kv AND key_used_at IS NULL",
            cancellationToken, ("t", now), ("u", username), ("m", machineId), ("kv", keyVerifier)).ConfigureAwait(false);
        if (first == 1)
        {
            await AppendAuditAsync(connection, transaction, username, [audit], now, cancellationToken).ConfigureAwait(false);
        }

        var used = await QueryAsync(connection, transaction, "SELECT key_used_at FROM account_machines WHERE username = @u AND machine_id = @m AND key_verifier = @kv",
            r => NullableLong(r, 0), cancellationToken, ("u", username), ("m", machineId), ("kv", keyVerifier)).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return used.Count == 1 && used[0] is long at ? at : now;
    }

    /// <inheritdoc/>
    public async Task AddChallengeAsync(ChallengeRecord challenge, long now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(challenge);
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await BeginWriteAsync(connection, cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, transaction, "DELETE FROM account_challenges WHERE expires_at <= @t", cancellationToken, ("t", now)).ConfigureAwait(false);
        await ExecuteAsync(connection, transaction, "INSERT INTO account_challenges (nonce_hash, username, card_serial, purpose, expires_at) VALUES (@h, @u, @s, @p, @e)",
            cancellationToken, ("h", challenge.NonceHash), ("u", challenge.Username), ("s", challenge.CardSerial), ("p", challenge.Purpose), ("e", challenge.ExpiresAt)).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async Task<ChallengeRecord?> TakeChallengeAsync(byte[] nonceHash, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        var rows = await QueryAsync(connection, null, "DELETE FROM account_challenges WHERE nonce_hash = @h RETURNING nonce_hash, username, card_serial, purpose, expires_at",
            r => new ChallengeRecord((byte[])r[0], r.GetString(1), r.GetString(2), r.GetString(3), r.GetInt64(4)), cancellationToken, ("h", nonceHash)).ConfigureAwait(false);
        return rows.Count == 0 ? null : rows[0];
    }

    /// <inheritdoc/>
    public async Task AddSessionAsync(AccountSessionRecord session, AuditEvent? audit, long now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(session);
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await BeginWriteAsync(connection, cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, transaction, "DELETE FROM account_sessions WHERE expires_at <= @t", cancellationToken, ("t", now - 86_400_000)).ConfigureAwait(false);
        await ExecuteAsync(connection, transaction, """
            INSERT INTO account_sessions (token_hash, username, card_serial, scope, created_at, expires_at, revoked_at) VALUES (@h, @u, @c, @s, @t, @e, NULL)
            """, cancellationToken, ("h", session.TokenHash), ("u", session.Username), ("c", session.CardSerial), ("s", session.Scope), ("t", session.CreatedAt), ("e", session.ExpiresAt)).ConfigureAwait(false);
        if (audit is not null)
        {
            await AppendAuditAsync(connection, transaction, session.Username, [audit], now, cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async Task<AccountSessionRecord?> GetSessionAsync(byte[] tokenHash, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        var rows = await QueryAsync(connection, null, "SELECT token_hash, username, card_serial, scope, created_at, expires_at, revoked_at FROM account_sessions WHERE token_hash = @h",
            r => new AccountSessionRecord((byte[])r[0], r.GetString(1), r.IsDBNull(2) ? null : r.GetString(2), r.GetString(3), r.GetInt64(4), r.GetInt64(5), NullableLong(r, 6)),
            cancellationToken, ("h", tokenHash)).ConfigureAwait(false);
        return rows.Count == 0 ? null : rows[0];
    }

    /// <inheritdoc/>
    public async Task RevokeSessionAsync(byte[] tokenHash, long now, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, null, "UPDATE account_sessions SET revoked_at = @t WHERE token_hash = @h AND revoked_at IS NULL", cancellationToken, ("t", now), ("h", tokenHash)).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<ThrottleRecord>> GetThrottleAsync(IReadOnlyList<string> subjects, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(subjects);
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        var result = new List<ThrottleRecord>();
        foreach (var subject in subjects)
        {
            result.AddRange(await QueryAsync(connection, null, "SELECT subject, failures, locked_until FROM account_throttle WHERE subject = @s",
                r => new ThrottleRecord(r.GetString(0), Convert.ToInt32(r[1], CultureInfo.InvariantCulture), r.GetInt64(2)), cancellationToken, ("s", subject)).ConfigureAwait(false));
        }

        return result;
    }

    /// <inheritdoc/>
    public async Task<bool> RecordFailureAsync(string subject, int lockAfter, long lockUntil, long now, long forgetBefore, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await BeginWriteAsync(connection, cancellationToken).ConfigureAwait(false);
        // Forget subjects with neither a recent failure nor a running lockout (keeps the table small).
        await ExecuteAsync(connection, transaction, "DELETE FROM account_throttle WHERE updated_at < @f AND locked_until < @t AND subject <> @s", cancellationToken,
            ("f", forgetBefore), ("t", now), ("s", subject)).ConfigureAwait(false);
        var counts = await QueryAsync(connection, transaction, """
            INSERT INTO account_throttle (subject, failures, locked_until, updated_at) VALUES (@s, 1, 0, @t)
            ON CONFLICT (subject) DO UPDATE SET
                failures = CASE WHEN account_throttle.updated_at < @f THEN 1 ELSE account_throttle.failures + 1 END, updated_at = excluded.updated_at
            RETURNING failures
            """, r => Convert.ToInt32(r[0], CultureInfo.InvariantCulture), cancellationToken, ("s", subject), ("t", now), ("f", forgetBefore)).ConfigureAwait(false);
        bool locked = counts[0] >= lockAfter;
        if (locked)
        {
            await ExecuteAsync(connection, transaction, "UPDATE account_throttle SET failures = 0, locked_until = @l WHERE subject = @s", cancellationToken,
                ("l", lockUntil), ("s", subject)).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return locked;
    }

    /// <inheritdoc/>
    public async Task ResetFailuresAsync(string subject, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, null, "UPDATE account_throttle SET failures = 0 WHERE subject = @s AND failures <> 0", cancellationToken, ("s", subject)).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async Task AppendAuditAsync(string username, IReadOnlyList<AuditEvent> events, long now, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await BeginWriteAsync(connection, cancellationToken).ConfigureAwait(false);
        await AppendAuditAsync(connection, transaction, username, events, now, cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    private static async Task AppendAuditAsync(DbConnection connection, DbTransaction transaction, string username, IReadOnlyList<AuditEvent> events, long now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(events);
        foreach (var e in events)
        {
            // The UPDATE takes the account row's write lock (PostgreSQL), so appends to one chain are serialised.
            var heads = await QueryAsync(connection, transaction, "UPDATE accounts SET audit_seq = audit_seq + 1 WHERE username = @u RETURNING audit_seq, audit_head",
                r => (Seq: r.GetInt64(0), Head: (byte[])r[1]), cancellationToken, ("u", username)).ConfigureAwait(false);
            if (heads.Count == 0)
            {
                return;
            }

            var (seq, prev) = heads[0];
            byte[] hash = AuditChain.Hash(username, seq, now, e.Kind, e.Details, prev);
            await ExecuteAsync(connection, transaction, "INSERT INTO account_audit (username, seq, at, kind, details, prev_hash, hash) VALUES (@u, @s, @t, @k, @d, @p, @h)",
                cancellationToken, ("u", username), ("s", seq), ("t", now), ("k", e.Kind), ("d", e.Details), ("p", prev), ("h", hash)).ConfigureAwait(false);
            await ExecuteAsync(connection, transaction, "UPDATE accounts SET audit_head = @h WHERE username = @u", cancellationToken, ("h", hash), ("u", username)).ConfigureAwait(false);
        }
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<AuditEntryRecord>> ListAuditAsync(string username, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        return await QueryAsync(connection, null, "SELECT username, seq, at, kind, details, prev_hash, hash FROM account_audit WHERE username = @u ORDER BY seq",
            r => new AuditEntryRecord(r.GetString(0), r.GetInt64(1), r.GetInt64(2), r.GetString(3), r.GetString(4), (byte[])r[5], (byte[])r[6]), cancellationToken, ("u", username)).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async Task PutEscrowAsync(EscrowRecord escrow, AuditEvent audit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(escrow);
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await BeginWriteAsync(connection, cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, transaction, """
            INSERT INTO account_escrow (username, blob, sha256, updated_at) VALUES (@u, @b, @h, @t)
            ON CONFLICT (username) DO UPDATE SET blob = excluded.blob, sha256 = excluded.sha256, updated_at = excluded.updated_at
            """, cancellationToken, ("u", escrow.Username), ("b", escrow.Blob), ("h", escrow.Sha256), ("t", escrow.UpdatedAt)).ConfigureAwait(false);
        await AppendAuditAsync(connection, transaction, escrow.Username, [audit], escrow.UpdatedAt, cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async Task<EscrowRecord?> GetEscrowAsync(string username, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        var rows = await QueryAsync(connection, null, "SELECT username, blob, sha256, updated_at FROM account_escrow WHERE username = @u",
            r => new EscrowRecord(r.GetString(0), (byte[])r[1], (byte[])r[2], r.GetInt64(3)), cancellationToken, ("u", username)).ConfigureAwait(false);
        return rows.Count == 0 ? null : rows[0];
    }

    /// <inheritdoc/>
    public async Task<CardReplacementOutcome> ReplaceCardAsync(CardReplacementPlan plan, Func<IStoreTransaction, CardReplacementOutcome, Task>? participants, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(plan);
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await BeginWriteAsync(connection, cancellationToken).ConfigureAwait(false);
        try
        {
            var revoked = new List<AccountCardRecord>();
            int tokens = 0;
            if (plan.NewCard.Kind == AccountCardValues.Primary)
            {
                (revoked, tokens) = await RevokeCardsAsync(connection, transaction, plan.Username, null, plan.NewCard.Serial, plan.Now, cancellationToken).ConfigureAwait(false);
            }

            await InsertCardAsync(connection, transaction, plan.NewCard, cancellationToken).ConfigureAwait(false);
            if (plan.MachineId is not null && plan.KeyVerifier is not null
                && await SetMachineKeyAsync(connection, transaction, plan.Username, plan.MachineId, plan.KeyVerifier, plan.Now, cancellationToken).ConfigureAwait(false) != 1)
            {
                throw new InvalidOperationException("unknown machine");
            }

            await InsertActivationCodeAsync(connection, transaction, plan.ActivationCode, cancellationToken).ConfigureAwait(false);
            await AppendAuditAsync(connection, transaction, plan.Username, [plan.Audit], plan.Now, cancellationToken).ConfigureAwait(false);
            var outcome = new CardReplacementOutcome(revoked, tokens);
            if (participants is not null)
            {
                await participants(new StoreTransaction(Backend, connection, transaction), outcome).ConfigureAwait(false);
            }

            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            return outcome;
        }
        catch
        {
            await transaction.RollbackAsync(CancellationToken.None).ConfigureAwait(false);
            throw;
        }
    }

    /// <inheritdoc/>
    public async Task<CardReplacementOutcome?> RevokeCardAsync(string username, string serial, AuditEvent audit, long now, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await BeginWriteAsync(connection, cancellationToken).ConfigureAwait(false);
        var (revoked, tokens) = await RevokeCardsAsync(connection, transaction, username, serial, null, now, cancellationToken).ConfigureAwait(false);
        if (revoked.Count == 0)
        {
            await transaction.RollbackAsync(cancellationToken).ConfigureAwait(false);
            return null;
        }

        await AppendAuditAsync(connection, transaction, username, [audit], now, cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return new CardReplacementOutcome(revoked, tokens);
    }

    /// <summary>
    /// Revokes the user's active cards (all, or the one with <paramref name="serial"/>), their bearer sessions and their
    /// TRK1 tokens (by token serial, which is also blocked). Returns the revoked cards and the number of tokens revoked.
    /// </summary>
    private static async Task<(List<AccountCardRecord> Cards, int Tokens)> RevokeCardsAsync(DbConnection connection, DbTransaction transaction, string username, string? serial,
        string? replacedBy, long now, CancellationToken cancellationToken)
    {
        const string Update = "UPDATE account_cards SET status = @r, revoked_at = @t, replaced_by = @n WHERE username = @u AND status = @a";
        var revoked = await QueryAsync(connection, transaction,
            serial is null ? $"{Update} RETURNING {CardColumns}" : $"{Update} AND card_serial = @s RETURNING {CardColumns}",
            ReadCard, cancellationToken, ("r", AccountCardValues.Revoked), ("t", now), ("n", replacedBy), ("u", username), ("a", AccountCardValues.Active), ("s", serial ?? string.Empty)).ConfigureAwait(false);
        int tokens = 0;
        foreach (var card in revoked)
        {
            await ExecuteAsync(connection, transaction, "UPDATE account_sessions SET revoked_at = @t WHERE username = @u AND card_serial = @s AND revoked_at IS NULL",
                cancellationToken, ("t", now), ("u", username), ("s", card.Serial)).ConfigureAwait(false);
            if (card.TokenSerial is { } tokenSerial)
            {
                tokens += await ExecuteAsync(connection, transaction, "UPDATE tokens SET status = @st WHERE username = @u AND token_serial = @s AND status <> @st",
                    cancellationToken, ("st", TokenStatus.Revoked), ("u", username), ("s", tokenSerial)).ConfigureAwait(false);
                await ExecuteAsync(connection, transaction, "INSERT INTO blocked_serials (token_serial, reason, blocked_at) VALUES (@s, @r, @t) ON CONFLICT (token_serial) DO NOTHING",
                    cancellationToken, ("s", tokenSerial), ("r", replacedBy is null ? "card revoked" : "card replaced"), ("t", now)).ConfigureAwait(false);
            }
        }

        return (revoked, tokens);
    }

    private sealed class StoreTransaction(string backend, DbConnection connection, DbTransaction transaction) : IStoreTransaction
    {
        public string Backend => backend;

        public Task<int> ExecuteAsync(string sql, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters) =>
            SqlServerStore.ExecuteAsync(connection, transaction, sql, cancellationToken, parameters);

        public Task<List<T>> QueryAsync<T>(string sql, Func<DbDataReader, T> map, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters) =>
            SqlServerStore.QueryAsync(connection, transaction, sql, map, cancellationToken, parameters);
    }
}
