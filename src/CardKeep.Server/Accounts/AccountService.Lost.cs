using CardKeep.Server.Storage;

namespace CardKeep.Server.Accounts;

/// <summary>Reporting a card lost before a new one is at hand (NIST SP 800-63B: revoke or suspend at once on notice of loss).</summary>
public sealed partial class AccountService
{
    /// <summary>
    /// Revokes the signed-in user's active card <paramref name="serial"/> (its sessions, TRK1 tokens and token serial with
    /// it) and records it in the audit log. The replacement then needs a recovery-scoped sign-in and the new card
    /// (<c>cardkeep account replace-card</c>).
    /// </summary>
    public async Task ReportLostAsync(AccountPrincipal principal, string? serial, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(principal);
        string cardSerial = CardSerial(serial);
        var audit = Audit("card-reported-lost", new { cardSerial, by = principal.Scope });
        if (!await store.RevokeCardAsync(principal.Username, cardSerial, audit, Now, cancellationToken).ConfigureAwait(false))
        {
            throw new AccountException(404, "this account has no active card with that serial");
        }

        AccountLog.Action(logger, principal.Username, "card reported lost", "card " + cardSerial);
    }
}
