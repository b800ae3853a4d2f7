namespace CardKeep.VirtualCard.Store;

/// <summary>
/// Outcome of a PIN or PUK operation (<see cref="VirtualSmartCard.VerifyPin(ReadOnlySpan{byte})"/>, ChangePin,
/// ChangePuk, UnblockPin). Exactly one of <see cref="Verified"/>, <see cref="Wrong"/>, <see cref="Blocked"/>.
/// </summary>
public abstract record PinResult
{
    private PinResult()
    {
    }

    /// <summary>
    /// The secret was right. <paramref name="Unlock"/> is a new object owned by the caller, who must dispose it; it
    /// holds the unlocked area key (for reading private objects and using PIN-protected keys). After ChangePuk its
    /// <see cref="VscUnlock.Matches"/> always returns false (no PIN was given).
    /// </summary>
    public sealed record Verified(VscUnlock Unlock) : PinResult;

    /// <summary>The secret was wrong. The decreased counter is already saved. 0 means the reference is now blocked.</summary>
    public sealed record Wrong(int RetriesLeft) : PinResult;

    /// <summary>The counter was already 0: nothing was tried and nothing changed.</summary>
    public sealed record Blocked : PinResult;
}
