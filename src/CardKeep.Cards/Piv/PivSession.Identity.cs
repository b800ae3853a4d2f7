using System.Globalization;

namespace CardKeep.Cards.Piv;

public sealed partial class PivSession
{
    /// <summary>
    /// The card's ID as CardKeep names a card everywhere (the agent's enrolled cards, the gate's binding, the recovery
    /// server's accounts): GET SERIAL in decimal (YubiKey-style cards, CardKeep VSCs), else <c>uuid:</c> and the
    /// CHUID's card UUID in hex, else "unknown".
    /// </summary>
    public string ReadCardId()
    {
        try
        {
            return GetSerial().ToString(CultureInfo.InvariantCulture);
        }
        catch (CardException)
        {
            // Not a YubiKey-style card: the CHUID's card UUID names it.
        }

        try
        {
            return ReadChuid() is { } chuid ? "uuid:" + Convert.ToHexStringLower(chuid.CardUuidBytes.Span) : "unknown";
        }
        catch (CardException)
        {
            return "unknown";
        }
    }

    /// <summary>The management key's algorithm: from its metadata (YubiKey 5.3+, CardKeep VSCs), else 3DES as on older cards.</summary>
    public PivAlgorithm ReadManagementKeyAlgorithm()
    {
        try
        {
            return GetMetadata(0x9B).Algorithm ?? PivAlgorithm.TripleDes;
        }
        catch (CardException)
        {
            return PivAlgorithm.TripleDes;
        }
    }
}
