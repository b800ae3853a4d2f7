namespace CardKeep.Server.Accounts;

/// <summary>A machine's gate asks whether the card it is bound to is still good (revoked from another computer?).</summary>
public sealed partial class AccountService
{
    /// <summary>
    /// The state of <see cref="MachineCardStatusRequest.CardSerial"/> for the machine's user: active, revoked, expired, or
    /// unknown (not that user's card). Authenticated with the machine secret; answers only about the machine's own user.
    /// </summary>
    public async Task<MachineCardStatusResponse> MachineCardStatusAsync(MachineCardStatusRequest request, string? remote, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var machine = await AuthenticateMachineAsync(request.Username, request.MachineId, request.MachineSecret, remote, cancellationToken).ConfigureAwait(false);
        string serial = CardSerial(request.CardSerial);
        var card = await store.GetCardAsync(serial, cancellationToken).ConfigureAwait(false);
        string state = card is null || card.Username != machine.Username ? "unknown" : card.StateAt(Now);
        return new MachineCardStatusResponse(serial, state, card?.ReplacedBy);
    }
}

/// <summary>A machine asks about a card.</summary>
/// <param name="Username">The machine's user.</param>
/// <param name="MachineId">Machine id.</param>
/// <param name="MachineSecret">Machine secret.</param>
/// <param name="CardSerial">The card.</param>
public sealed record MachineCardStatusRequest(string? Username, string? MachineId, byte[]? MachineSecret, string? CardSerial);

/// <summary>The card's state for that user.</summary>
/// <param name="CardSerial">The card.</param>
/// <param name="State">active, revoked, expired or unknown.</param>
/// <param name="ReplacedBy">The replacing card's serial, when replaced.</param>
public sealed record MachineCardStatusResponse(string CardSerial, string State, string? ReplacedBy);
