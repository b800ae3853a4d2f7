using CardKeep.Cards.Channels;
using CardKeep.Cards.Iso7816;

namespace CardKeep.VirtualCard.Edge;

/// <summary>
/// An in-process channel to a card emulator: the same <see cref="ICardChannel"/> the PC/SC reader gives,
/// without pcscd. Calls are serialised like a card's.
/// </summary>
public sealed class EmulatorChannel(ICardEmulator card, string name) : ICardChannel
{
    private readonly Lock _lock = new();

    public string Name { get; } = name;

    public ReadOnlyMemory<byte> Atr => card.Atr;

    public ResponseApdu Transmit(CommandApdu command)
    {
        ArgumentNullException.ThrowIfNull(command);
        lock (_lock)
        {
            return ResponseApdu.Parse(card.Process(command.Encode()));
        }
    }

    public IDisposable BeginTransaction() => new NoTransaction();

    /// <summary>Ends the session on the card (as a reset would).</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            card.Reset();
        }
    }

    private sealed class NoTransaction : IDisposable
    {
        public void Dispose()
        {
        }
    }
}
