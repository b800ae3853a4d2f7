namespace CardKeep.VirtualCard.Edge;

/// <summary>
/// The smallest possible card: answers every APDU with 9000 at once. Used to measure the transport's floor
/// (pcscd + vpcd with no card work) and to test the link.
/// </summary>
public sealed class FixedAnswerCard : ICardEmulator
{
    private static readonly byte[] _ok = [0x90, 0x00];

    public ReadOnlyMemory<byte> Atr { get; } = Convert.FromHexString("3B8080010101");

    public byte[] Process(ReadOnlySpan<byte> commandApdu) => _ok;

    public void Reset()
    {
    }
}
