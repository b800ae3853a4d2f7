namespace CardKeep.Server.Storage;

/// <summary>Reporting a card lost without a replacement at hand (the portal's "report lost").</summary>
public abstract partial class SqlServerStore
{
    /// <inheritdoc/>
    public async Task<bool> RevokeCardAsync(string username, string serial, AuditEvent audit, long now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(audit);
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await BeginWriteAsync(connection, cancellationToken).ConfigureAwait(false);
        try
        {
            var revoked = await QueryAsync(connection, transaction,
                $"UPDATE account_cards SET status = @r, revoked_at = @t WHERE username = @u AND card_serial = @s AND status = @a RETURNING {CardColumns}",
                ReadCard, cancellationToken, ("r", AccountCardValues.Revoked), ("t", now), ("u", username), ("s", serial), ("a", AccountCardValues.Active)).ConfigureAwait(false);
            if (revoked.Count == 0)
            {
                await transaction.RollbackAsync(CancellationToken.None).ConfigureAwait(false);
                return false;
            }

            await ExecuteAsync(connection, transaction, "UPDATE account_sessions SET revoked_at = @t WHERE username = @u AND card_serial = @s AND revoked_at IS NULL",
                cancellationToken, ("t", now), ("u", username), ("s", serial)).ConfigureAwait(false);
            if (revoked[0].TokenSerial is { } tokenSerial)
            {
                await ExecuteAsync(connection, transaction, "UPDATE tokens SET status = @st WHERE username = @u AND token_serial = @s AND status <> @st",
                    cancellationToken, ("st", TokenStatus.Revoked), ("u", username), ("s", tokenSerial)).ConfigureAwait(false);
                await ExecuteAsync(connection, transaction, "INSERT INTO blocked_serials (token_serial, reason, blocked_at) VALUES (@s, @r, @t) ON CONFLICT (token_serial) DO NOTHING",
                    cancellationToken, ("s", tokenSerial), ("r", "card reported lost"), ("t", now)).ConfigureAwait(false);
            }

            await AppendAuditAsync(connection, transaction, username, [audit], now, cancellationToken).ConfigureAwait(false);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch
        {
            await transaction.RollbackAsync(CancellationToken.None).ConfigureAwait(false);
            throw;
        }
    }
}
