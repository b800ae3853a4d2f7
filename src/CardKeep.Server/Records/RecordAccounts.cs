using CardKeep.Server.Accounts;
using Microsoft.AspNetCore.Http;

namespace CardKeep.Server.Records;

/// <summary>Records callers are account users signed in with a card (bearer token of scope "card", issue 7).</summary>
internal sealed class AccountRecordsAuthenticator : IRecordsAuthenticator
{
    public async Task<RecordsCaller?> AuthenticateAsync(HttpContext context)
    {
        var principal = await AccountAuth.AuthenticateAsync(context, AccountScopes.Card).ConfigureAwait(false);
        return principal is { CardSerial: { Length: > 0 } serial } ? new RecordsCaller(principal.Username, serial) : null;
    }
}

/// <summary>
/// Card replacement (inside its transaction): the record master key wraps of the revoked cards are deleted, so the old
/// card decrypts nothing from then on. The new card gets its wrap from <c>POST /v1/records/rekey</c>, which the client
/// runs right after with the record recovery code (a new record master key, every data key re-wrapped, one transaction).
/// A temporary card changes nothing here.
/// </summary>
internal sealed class RecordsReplacementParticipant : ICardReplacementParticipant
{
    public async Task OnCardReplacedAsync(CardReplacementContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.Temporary)
        {
            return;
        }

        foreach (var old in context.OldCards)
        {
            await context.Transaction.ExecuteAsync("DELETE FROM env_keys WHERE username = @u AND kind = 'card' AND card_serial = @s", cancellationToken,
                ("u", context.Username), ("s", old.Serial)).ConfigureAwait(false);
        }
    }
}
