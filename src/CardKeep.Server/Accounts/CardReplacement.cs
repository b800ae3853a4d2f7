using CardKeep.Server.Storage;

namespace CardKeep.Server.Accounts;

/// <summary>What a participant sees of a replacement, inside its transaction.</summary>
/// <param name="Username">User.</param>
/// <param name="OldCards">Cards the replacement revoked (empty for a temporary card).</param>
/// <param name="NewCard">The new card (serial, SPKI, kind, expiry).</param>
/// <param name="Temporary">True for a temporary card.</param>
/// <param name="Now">Time (Unix ms).</param>
/// <param name="Transaction">SQL on the replacement's connection and transaction.</param>
public sealed record CardReplacementContext(string Username, IReadOnlyList<AccountCardRecord> OldCards, AccountCardRecord NewCard, bool Temporary, long Now, IStoreTransaction Transaction);

/// <summary>
/// Extension point of card replacement (issue 8 re-wraps record keys here). Registered participants run inside the
/// replacement's transaction, after the card, token, session, access-key and audit changes; an exception rolls the
/// whole replacement back.
/// </summary>
public interface ICardReplacementParticipant
{
    /// <summary>Does this participant's part of the replacement.</summary>
    Task OnCardReplacedAsync(CardReplacementContext context, CancellationToken cancellationToken);
}
