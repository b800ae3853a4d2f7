namespace CardKeep.Cards.Piv;

/// <summary>Application identifiers a PIV client and card use.</summary>
public static class PivAid
{
    /// <summary>The NIST registered application provider identifier A0 00 00 03 08.</summary>
    public static ReadOnlySpan<byte> NistRid => [0xA0, 0x00, 0x00, 0x03, 0x08];

    /// <summary>The PIV AID without version, A0 00 00 03 08 00 00 10 00: what SELECT sends (OpenSC form).</summary>
    public static ReadOnlySpan<byte> Truncated => [0xA0, 0x00, 0x00, 0x03, 0x08, 0x00, 0x00, 0x10, 0x00];

    /// <summary>The full PIV AID with version 01 00, A0 00 00 03 08 00 00 10 00 01 00 (Discovery object tag 4F).</summary>
    public static ReadOnlySpan<byte> Full => [0xA0, 0x00, 0x00, 0x03, 0x08, 0x00, 0x00, 0x10, 0x00, 0x01, 0x00];

    /// <summary>The PIX with version, 00 00 10 00 01 00: what a YubiKey returns in the APT's tag 4F.</summary>
    public static ReadOnlySpan<byte> PixWithVersion => [0x00, 0x00, 0x10, 0x00, 0x01, 0x00];

    /// <summary>YubiKey OTP application A0 00 00 05 27 20 01 01 (probed by libykpiv for old firmware).</summary>
    public static ReadOnlySpan<byte> YubicoOtp => [0xA0, 0x00, 0x00, 0x05, 0x27, 0x20, 0x01, 0x01];

    /// <summary>YubiKey management application A0 00 00 05 27 47 11 17 (libykpiv selects it to drop PIN state).</summary>
    public static ReadOnlySpan<byte> YubicoManagement => [0xA0, 0x00, 0x00, 0x05, 0x27, 0x47, 0x11, 0x17];

    /// <summary>True when <paramref name="aid"/> starts with the PIV AID (at least the first 9 bytes).</summary>
    public static bool IsPiv(ReadOnlySpan<byte> aid) => aid.StartsWith(Truncated);
}
