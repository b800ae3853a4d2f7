namespace CardKeep.Cards.PcSc;

/// <summary>How a connection shares the card with other clients (SCARD_SHARE_*).</summary>
public enum ShareMode
{
    Exclusive = 1,
    Shared = 2,
    Direct = 3,
}

/// <summary>Transmission protocols (SCARD_PROTOCOL_*), combinable.</summary>
[Flags]
public enum CardProtocol
{
    None = 0,
    T0 = 1,
    T1 = 2,
    Raw = 4,
    Any = T0 | T1,
}

/// <summary>What happens to the card when a connection or transaction ends (SCARD_*_CARD).</summary>
public enum Disposition
{
    Leave = 0,
    Reset = 1,
    Unpower = 2,
    Eject = 3,
}

/// <summary>Reader state bits (SCARD_STATE_*).</summary>
[Flags]
public enum ReaderStates : uint
{
    Unaware = 0,
    Ignore = 0x1,
    Changed = 0x2,
    Unknown = 0x4,
    Unavailable = 0x8,
    Empty = 0x10,
    Present = 0x20,
    AtrMatch = 0x40,
    Exclusive = 0x80,
    InUse = 0x100,
    Mute = 0x200,
    Unpowered = 0x400,
}

/// <summary>A reader and what is in it right now.</summary>
public sealed record ReaderStatus(string Name, ReaderStates State, ReadOnlyMemory<byte> Atr)
{
    public bool CardPresent => (State & ReaderStates.Present) != 0 && (State & ReaderStates.Mute) == 0;

    public string AtrHex => Convert.ToHexString(Atr.Span);
}
