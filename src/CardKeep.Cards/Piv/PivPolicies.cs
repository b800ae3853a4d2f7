using System.Diagnostics.CodeAnalysis;

namespace CardKeep.Cards.Piv;

/// <summary>When a key needs the PIN (YubiKey tag AA in GENERATE / IMPORT KEY, byte 1 of metadata tag 02).</summary>
[SuppressMessage("Design", "CA1028:Enum Storage should be Int32", Justification = "The value is one byte on the wire.")]
public enum PinPolicy : byte
{
    /// <summary>The slot's default (tag omitted).</summary>
    Default = 0,

    /// <summary>Never needs the PIN.</summary>
    Never = 1,

    /// <summary>Needs the PIN once per session.</summary>
    Once = 2,

    /// <summary>Needs the PIN before every use.</summary>
    Always = 3,

    /// <summary>PIN or biometric match, once per session (YubiKey Bio).</summary>
    MatchOnce = 4,

    /// <summary>PIN or biometric match before every use (YubiKey Bio).</summary>
    MatchAlways = 5,
}

/// <summary>When a key needs a touch (YubiKey tag AB in GENERATE / IMPORT KEY, byte 2 of metadata tag 02).</summary>
[SuppressMessage("Design", "CA1028:Enum Storage should be Int32", Justification = "The value is one byte on the wire.")]
public enum TouchPolicy : byte
{
    /// <summary>The slot's default (tag omitted).</summary>
    Default = 0,

    /// <summary>Never needs a touch.</summary>
    Never = 1,

    /// <summary>Needs a touch for every use.</summary>
    Always = 2,

    /// <summary>A touch stays valid for 15 seconds.</summary>
    Cached = 3,
}

/// <summary>Where a key came from (metadata tag 03).</summary>
[SuppressMessage("Design", "CA1028:Enum Storage should be Int32", Justification = "The value is one byte on the wire.")]
public enum PivKeyOrigin : byte
{
    /// <summary>Not reported.</summary>
    Unknown = 0,

    /// <summary>Generated on the card.</summary>
    Generated = 1,

    /// <summary>Imported from outside.</summary>
    Imported = 2,
}

/// <summary>The PIN and touch policy of one key.</summary>
/// <param name="Pin">PIN policy.</param>
/// <param name="Touch">Touch policy.</param>
public readonly record struct PivKeyPolicy(PinPolicy Pin, TouchPolicy Touch)
{
    /// <summary>Both policies at the slot default.</summary>
    public static PivKeyPolicy Default => default;
}
