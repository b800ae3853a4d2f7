namespace CardKeep.VirtualCard.Store;

/// <summary>Whether a virtual smart card may be used. A disabled card stays on disk but is not offered to readers.</summary>
public enum VscState
{
    /// <summary>The card can be inserted into a reader and used.</summary>
    Enabled,

    /// <summary>The card is kept but must not be offered for use until enabled again.</summary>
    Disabled,
}

/// <summary>What a virtual smart card is for, relative to a real card (its <see cref="VscHeader.Parent"/>).</summary>
public enum VscRole
{
    /// <summary>A card of its own, not tied to a real card.</summary>
    Standalone,

    /// <summary>A secure copy of a real card's data objects, used when that card is lost or broken.</summary>
    Backup,

    /// <summary>A copy held in escrow (for key recovery), not meant for day-to-day use.</summary>
    Escrow,

    /// <summary>A temporary stand-in issued while the real card is unavailable.</summary>
    Emergency,
}

/// <summary>How a private key is protected inside the VSC file.</summary>
public enum KeyProtection
{
    /// <summary>Sealed to the card's area key: usable only after PIN (or PUK) verification.</summary>
    Pin,

    /// <summary>
    /// Stored as plain PKCS#8 inside the file, protected only by the file's 0600 permissions. Used for PIN policy
    /// Never and for slot 9E (card authentication), which PIV uses without a PIN.
    /// </summary>
    None,
}

/// <summary>The header of a VSC file: identity, state and hierarchy. Contains no secrets.</summary>
/// <param name="FormatVersion">File format version (see docs/vsc-format.md).</param>
/// <param name="Id">Unique identifier; also the file name (<c>&lt;Id&gt;.vsc</c>). Characters [A-Za-z0-9._-], 1 to 64.</param>
/// <param name="Label">Free text shown to users, at most 128 characters.</param>
/// <param name="CardType">Card edge the file holds; "PIV" in format version 1.</param>
/// <param name="State">Enabled or disabled.</param>
/// <param name="Created">When the card was created (UTC, millisecond precision).</param>
/// <param name="Modified">When content or settings last changed (UTC). Retry-counter bookkeeping does not count.</param>
/// <param name="Role">What the card is for.</param>
/// <param name="Parent">The real card this one backs up, e.g. "card:00001079"; null for none.</param>
/// <param name="Attributes">Free key/value attributes, sorted by key (ordinal).</param>
/// <param name="AccessConditions">Access conditions summary, e.g. "pin-for-private".</param>
public sealed record VscHeader(
    int FormatVersion,
    string Id,
    string Label,
    string CardType,
    VscState State,
    DateTimeOffset Created,
    DateTimeOffset Modified,
    VscRole Role,
    string? Parent,
    IReadOnlyDictionary<string, string> Attributes,
    string AccessConditions);

/// <summary>Public facts about the private key in one PIV slot. The private key itself never leaves the card object.</summary>
/// <param name="Slot">PIV key reference, e.g. 0x9A.</param>
/// <param name="Algorithm">PIV algorithm identifier, e.g. 0x11 (P-256), 0x14 (P-384), 0x07 (RSA-2048).</param>
/// <param name="PinPolicy">YubiKey PIN policy byte: 0 default, 1 never, 2 once, 3 always.</param>
/// <param name="TouchPolicy">YubiKey touch policy byte: 0 default, 1 never, 2 always, 3 cached.</param>
/// <param name="Origin">1 = generated on the card, 2 = imported.</param>
/// <param name="PublicKeySpki">DER SubjectPublicKeyInfo of the key pair's public key.</param>
/// <param name="Protection">Whether the private key needs a PIN unlock to be used.</param>
public sealed record VscKeyInfo(
    byte Slot,
    byte Algorithm,
    byte PinPolicy,
    byte TouchPolicy,
    byte Origin,
    ReadOnlyMemory<byte> PublicKeySpki,
    KeyProtection Protection);

/// <summary>One line of <see cref="VscStore.List"/>. A file that fails the consistency check has <see cref="Damage"/> set.</summary>
/// <param name="Id">Card Id, or for a damaged file the file name without ".vsc".</param>
/// <param name="Label">Card label; empty for a damaged file.</param>
/// <param name="Path">Full path of the file.</param>
/// <param name="State">Card state; null when damaged.</param>
/// <param name="Serial">VSC serial number; null when damaged.</param>
/// <param name="Role">Card role; null when damaged.</param>
/// <param name="Parent">The real card this one backs up; null for none or when damaged.</param>
/// <param name="Damage">Null for a good file, else what the consistency check found.</param>
public sealed record VscListing(
    string Id,
    string Label,
    string Path,
    VscState? State,
    uint? Serial,
    VscRole? Role,
    string? Parent,
    string? Damage)
{
    /// <summary>True when the file failed the consistency check.</summary>
    public bool IsDamaged => Damage is not null;
}
