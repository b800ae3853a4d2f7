using CardKeep.Cards.Iso7816;

namespace CardKeep.Cards.Channels;

/// <summary>
/// A way to exchange APDUs with one card: a reader through PC/SC, or an in-process virtual card. The PIV
/// client, the file client, the card manager and the agent use every card through this interface.
/// <see cref="Transmit"/> is one raw exchange; wrap a channel in <see cref="IsoChannel"/> to get command
/// chaining, GET RESPONSE on 61xx and the Le retry on 6Cxx.
/// </summary>
public interface ICardChannel : IDisposable
{
    /// <summary>Where the card is: the PC/SC reader name, or <c>vsc:ID</c> for an in-process VSC.</summary>
    string Name { get; }

    /// <summary>The card's answer to reset.</summary>
    ReadOnlyMemory<byte> Atr { get; }

    /// <summary>Sends one command APDU and returns the card's response, exactly as the card gave it.</summary>
    ResponseApdu Transmit(CommandApdu command);

    /// <summary>Holds the card for a sequence of commands that must not be interleaved with other clients.</summary>
    IDisposable BeginTransaction();
}
