using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace CardKeep.Cards.Piv;

/// <summary>
/// PIV key references (SP 800-73-4 Part 1 Table 4b) and the YubiKey attestation slot. The value is the byte sent
/// as P2 of GENERAL AUTHENTICATE / GENERATE / IMPORT KEY and as P1 of ATTEST.
/// </summary>
[SuppressMessage("Design", "CA1028:Enum Storage should be Int32", Justification = "The value is one byte on the wire.")]
public enum PivSlot : byte
{
    /// <summary>Retired key management key 1 (key reference 0x82).</summary>
    Retired1 = 0x82,

    /// <summary>Retired key management key 2 (key reference 0x83).</summary>
    Retired2 = 0x83,

    /// <summary>Retired key management key 3 (key reference 0x84).</summary>
    Retired3 = 0x84,

    /// <summary>Retired key management key 4 (key reference 0x85).</summary>
    Retired4 = 0x85,

    /// <summary>Retired key management key 5 (key reference 0x86).</summary>
    Retired5 = 0x86,

    /// <summary>Retired key management key 6 (key reference 0x87).</summary>
    Retired6 = 0x87,

    /// <summary>Retired key management key 7 (key reference 0x88).</summary>
    Retired7 = 0x88,

    /// <summary>Retired key management key 8 (key reference 0x89).</summary>
    Retired8 = 0x89,

    /// <summary>Retired key management key 9 (key reference 0x8A).</summary>
    Retired9 = 0x8A,

    /// <summary>Retired key management key 10 (key reference 0x8B).</summary>
    Retired10 = 0x8B,

    /// <summary>Retired key management key 11 (key reference 0x8C).</summary>
    Retired11 = 0x8C,

    /// <summary>Retired key management key 12 (key reference 0x8D).</summary>
    Retired12 = 0x8D,

    /// <summary>Retired key management key 13 (key reference 0x8E).</summary>
    Retired13 = 0x8E,

    /// <summary>Retired key management key 14 (key reference 0x8F).</summary>
    Retired14 = 0x8F,

    /// <summary>Retired key management key 15 (key reference 0x90).</summary>
    Retired15 = 0x90,

    /// <summary>Retired key management key 16 (key reference 0x91).</summary>
    Retired16 = 0x91,

    /// <summary>Retired key management key 17 (key reference 0x92).</summary>
    Retired17 = 0x92,

    /// <summary>Retired key management key 18 (key reference 0x93).</summary>
    Retired18 = 0x93,

    /// <summary>Retired key management key 19 (key reference 0x94).</summary>
    Retired19 = 0x94,

    /// <summary>Retired key management key 20 (key reference 0x95).</summary>
    Retired20 = 0x95,

    /// <summary>PIV Authentication key (9A): PIN required, used for logon and TLS client auth.</summary>
    Authentication = 0x9A,

    /// <summary>PIV Card Application Administration key (9B): the symmetric management key.</summary>
    Management = 0x9B,

    /// <summary>Digital Signature key (9C): PIN required for every use.</summary>
    Signature = 0x9C,

    /// <summary>Key Management key (9D): decryption and key agreement.</summary>
    KeyManagement = 0x9D,

    /// <summary>Card Authentication key (9E): usable without PIN.</summary>
    CardAuthentication = 0x9E,

    /// <summary>YubiKey attestation key (F9), which signs attestation certificates for the other slots.</summary>
    Attestation = 0xF9,
}

/// <summary>Facts about each <see cref="PivSlot"/>.</summary>
public static class PivSlotExtensions
{
    /// <summary>The slots that hold an asymmetric key with a certificate: 9A, 9C, 9D, 9E and 82–95 (not 9B, not F9).</summary>
    public static IReadOnlyList<PivSlot> CertificateSlots { get; } =
    [
        PivSlot.Authentication, PivSlot.Signature, PivSlot.KeyManagement, PivSlot.CardAuthentication,
        .. Enumerable.Range(0x82, 20).Select(b => (PivSlot)b),
    ];

    /// <summary>True for a defined <see cref="PivSlot"/> value.</summary>
    public static bool IsDefined(this PivSlot slot) => Enum.IsDefined(slot);

    /// <summary>True for the retired key management slots 82–95.</summary>
    public static bool IsRetired(this PivSlot slot) => slot is >= PivSlot.Retired1 and <= PivSlot.Retired20;

    /// <summary>True for a slot that holds an asymmetric key (every slot except the management key 9B).</summary>
    public static bool HoldsAsymmetricKey(this PivSlot slot) => slot.IsDefined() && slot != PivSlot.Management;

    /// <summary>1–20 for a retired slot, otherwise 0.</summary>
    public static int RetiredNumber(this PivSlot slot) => slot.IsRetired() ? slot - PivSlot.Retired1 + 1 : 0;

    /// <summary>The retired slot with number 1–20.</summary>
    public static PivSlot Retired(int number)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(number, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(number, 20);
        return (PivSlot)(0x81 + number);
    }

    /// <summary>The SP 800-73-4 name, e.g. "PIV Authentication", "Retired Key Management 3", "Attestation".</summary>
    public static string DisplayName(this PivSlot slot) => slot switch
    {
        PivSlot.Authentication => "PIV Authentication",
        PivSlot.Management => "Card Management",
        PivSlot.Signature => "Digital Signature",
        PivSlot.KeyManagement => "Key Management",
        PivSlot.CardAuthentication => "Card Authentication",
        PivSlot.Attestation => "Attestation",
        _ when slot.IsRetired() => string.Create(CultureInfo.InvariantCulture, $"Retired Key Management {slot.RetiredNumber()}"),
        _ => string.Create(CultureInfo.InvariantCulture, $"slot 0x{(byte)slot:X2}"),
    };

    /// <summary>The certificate object that belongs to the slot, or null for 9B.</summary>
    public static PivDataObject? CertificateObject(this PivSlot slot) => PivDataObject.ForSlot(slot);
}
