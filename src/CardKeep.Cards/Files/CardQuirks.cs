namespace CardKeep.Cards.Files;

/// <summary>
/// Known departures from ISO 7816-4 of particular cards, recognised by ATR (as OpenSC does). A card not in
/// the table gets the standard behaviour.
/// </summary>
public sealed record CardQuirks(string CardName, bool SelectWithFciCrashes, bool UpdateBinaryNeedsLe, bool UpdateBinaryAnswers6282)
{
    public static readonly CardQuirks None = new("ISO 7816-4 card", false, false, false);

    /// <summary>
    /// Debian's vsmartcard vicc 0.8 <c>-t iso7816</c>: SELECT returning FCI/FCP crashes it (the card disappears),
    /// UPDATE BINARY without a trailing Le crashes it, and with one it answers 6282 after writing.
    /// (/work/shared/specs/piv-and-vpcd.md §1.6.)
    /// </summary>
    public static readonly CardQuirks Vicc = new("vsmartcard vicc (iso7816)", true, true, true);

    private static readonly Dictionary<string, CardQuirks> _byAtr = new(StringComparer.OrdinalIgnoreCase)
    {
        ["3B951381018073FF01000B"] = Vicc,
    };

    public static CardQuirks ForAtr(ReadOnlySpan<byte> atr) =>
        _byAtr.TryGetValue(Convert.ToHexString(atr), out var quirks) ? quirks : None;
}
