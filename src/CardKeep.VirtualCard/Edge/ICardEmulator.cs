namespace CardKeep.VirtualCard.Edge;

/// <summary>
/// A card in software: APDU bytes in, response bytes out. Implementations must never throw from
/// <see cref="Process"/>: malformed input gets a status word.
/// </summary>
public interface ICardEmulator
{
    /// <summary>The answer to reset the card presents.</summary>
    ReadOnlyMemory<byte> Atr { get; }

    /// <summary>Handles one command APDU and returns the response APDU (data + SW1 SW2).</summary>
    byte[] Process(ReadOnlySpan<byte> commandApdu);

    /// <summary>Power off, power on or reset: end the session (deselect, forget PIN and management-key state).</summary>
    void Reset();
}
