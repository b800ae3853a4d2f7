namespace CardKeep.VirtualCard.Store;

/// <summary>
/// Settings for a new virtual smart card (<see cref="VirtualSmartCard.Create"/>, <see cref="VscStore.Create"/>).
/// Every setting has a YubiKey-like default: PIN 123456, PUK 12345678, 3DES management key 0102…08 ×3, 3/3 tries,
/// PBKDF2 600,000 iterations, random VSC serial and GUID.
/// </summary>
public sealed record VscCreateOptions
{
    /// <summary>Card Id ([A-Za-z0-9._-], 1 to 64); null means "VSC-" + serial.</summary>
    public string? Id { get; init; }

    /// <summary>Free-text label, at most 128 characters.</summary>
    public string Label { get; init; } = "";

    /// <summary>What the card is for.</summary>
    public VscRole Role { get; init; } = VscRole.Standalone;

    /// <summary>The real card this one backs up, e.g. "card:00001079"; null for none.</summary>
    public string? Parent { get; init; }

    /// <summary>Initial state.</summary>
    public VscState State { get; init; } = VscState.Enabled;

    /// <summary>Unpadded PIN, 1 to 8 bytes; empty means the default "123456".</summary>
    public ReadOnlyMemory<byte> Pin { get; init; }

    /// <summary>Unpadded PUK, 1 to 8 bytes; empty means the default "12345678".</summary>
    public ReadOnlyMemory<byte> Puk { get; init; }

    /// <summary>Management-key algorithm: 0x03 3DES (default), 0x08 AES-128, 0x0A AES-192, 0x0C AES-256.</summary>
    public byte ManagementKeyAlgorithm { get; init; } = VirtualSmartCard.ManagementKeyTripleDes;

    /// <summary>Management key bytes for <see cref="ManagementKeyAlgorithm"/>; empty means the default 24-byte key.</summary>
    public ReadOnlyMemory<byte> ManagementKey { get; init; }

    /// <summary>Whether the management key requires touch (recorded for the applet; a VSC has no button).</summary>
    public bool ManagementKeyTouch { get; init; }

    /// <summary>PIN tries, 1 to 255 (PIV reports at most 15 in 63Cx).</summary>
    public int PinRetries { get; init; } = 3;

    /// <summary>PUK tries, 1 to 255.</summary>
    public int PukRetries { get; init; } = 3;

    /// <summary>PBKDF2 iterations; null means 600,000. Below 100,000 only with <see cref="AllowWeakKdfForTests"/>.</summary>
    public int? Iterations { get; init; }

    /// <summary>Allows iteration counts below 100,000. For tests only: such a card is easy to brute-force offline.</summary>
    public bool AllowWeakKdfForTests { get; init; }

    /// <summary>VSC serial in [2,000,000,000, 2,099,999,999]; null means random.</summary>
    public uint? Serial { get; init; }

    /// <summary>16-byte card GUID (as in the CHUID); empty means random.</summary>
    public ReadOnlyMemory<byte> CardGuid { get; init; }

    /// <summary>Serial of the real card this one was copied from, if any (free text, at most 64 characters).</summary>
    public string? SourceSerial { get; init; }

    /// <summary>ATR of the real card this one was copied from (2 to 33 bytes); empty for none.</summary>
    public ReadOnlyMemory<byte> SourceAtr { get; init; }

    /// <summary>Initial attributes (key [A-Za-z0-9._:-] 1 to 64, value at most 1024 characters).</summary>
    public IReadOnlyDictionary<string, string>? Attributes { get; init; }

    /// <summary>Access-conditions summary kept in the header.</summary>
    public string AccessConditions { get; init; } = VscRules.DefaultAccessConditions;

    /// <summary>Id and label only: never the PIN, PUK or management key (not even their lengths).</summary>
    public override string ToString() => $"VscCreateOptions {{ Id = {Id}, Label = {Label} }}";
}

/// <summary>How to open a VSC file.</summary>
public sealed record VscOpenOptions
{
    /// <summary>Defaults: production KDF minimum, writable.</summary>
    public static VscOpenOptions Default { get; } = new();

    /// <summary>Accepts files whose PBKDF2 iteration count is below 100,000. For tests only.</summary>
    public bool AllowWeakKdfForTests { get; init; }

    /// <summary>Opens for reading only: every mutation (including PIN verification, which must save its counter) throws.</summary>
    public bool ReadOnly { get; init; }
}
