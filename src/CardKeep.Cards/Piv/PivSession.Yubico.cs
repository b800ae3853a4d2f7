namespace CardKeep.Cards.Piv;

public sealed partial class PivSession
{
    /// <summary>YubiKey GET VERSION (<c>00 FD 00 00 00</c>): the firmware version.</summary>
    public YubicoVersion GetVersion()
    {
        using var _ = Transaction();
        return YubicoVersion.Parse(SendForData(PivCommands.GetVersion(), "GET VERSION").Span);
    }

    /// <summary>YubiKey GET SERIAL (<c>00 F8 00 00 00</c>): the serial number (firmware 5+).</summary>
    public uint GetSerial()
    {
        using var _ = Transaction();
        return YubicoSerial.Parse(SendForData(PivCommands.GetSerial(), "GET SERIAL").Span);
    }

    /// <summary>
    /// YubiKey RESET (<c>00 FB 00 00</c>): wipes keys, certificates and objects and restores the default PIN, PUK and
    /// management key. The card allows it only while both PIN and PUK are blocked (otherwise 6985).
    /// </summary>
    public void Reset()
    {
        using var _ = Transaction();
        Send(PivCommands.Reset()).ThrowIfNotSuccess("RESET (needs PIN and PUK blocked)");
    }

    /// <summary>
    /// YubiKey SET PIN RETRIES (<c>00 FA pin puk</c>): needs the management key and a verified PIN; resets PIN and PUK to
    /// their defaults.
    /// </summary>
    public void SetPinRetries(int pinTries, int pukTries)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(pinTries, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(pinTries, 255);
        ArgumentOutOfRangeException.ThrowIfLessThan(pukTries, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(pukTries, 255);
        using var _ = Transaction();
        Send(PivCommands.SetPinRetries((byte)pinTries, (byte)pukTries)).ThrowIfNotSuccess("SET PIN RETRIES");
    }
}
