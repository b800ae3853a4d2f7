using System.Globalization;
using CardKeep.Cards.Iso7816;

namespace CardKeep.Cards.Piv;

/// <summary>Who may read a data object with GET DATA. Writing (PUT DATA) always needs the management key.</summary>
public enum PivReadAccess
{
    /// <summary>Readable without any verification.</summary>
    Always,

    /// <summary>Readable only after the PIN was verified (the card answers 6982 before).</summary>
    PinRequired,
}

/// <summary>
/// A PIV data object (container): its BER-TLV tag, name, read rule and, for certificates, the key slot.
/// The table holds every SP 800-73-4 Part 1 Table 3 container, the Yubico attestation certificate and
/// CardKeep's own vendor objects in the 5FFFxx range (documented in docs/piv-objects.md).
/// </summary>
/// <param name="Tag">The tag as its big-endian bytes read as a number (0x5FC102, 0x7E, 0x7F61).</param>
/// <param name="Name">Human-readable name.</param>
/// <param name="ReadAccess">Read rule the card applies.</param>
/// <param name="Slot">For a certificate object: the key slot it belongs to.</param>
/// <param name="Owner">Who defines the object: NIST, Yubico or CardKeep.</param>
public sealed record PivDataObject(uint Tag, string Name, PivReadAccess ReadAccess, PivSlot? Slot = null, string Owner = "NIST")
{
    private static readonly Dictionary<uint, PivDataObject> _byTag;
    private static readonly Dictionary<PivSlot, PivDataObject> _bySlot;

    static PivDataObject()
    {
        var retired = Enumerable.Range(1, 20)
            .Select(i => new PivDataObject(0x5FC10Cu + (uint)i, string.Create(CultureInfo.InvariantCulture, $"Retired X.509 Certificate for Key Management {i}"),
                PivReadAccess.Always, PivSlotExtensions.Retired(i)))
            .ToArray();
        RetiredCertificates = retired;
        Standard =
        [
            CardCapabilityContainer, Chuid, CertificatePivAuthentication, Fingerprints, SecurityObject, FacialImage,
            PrintedInformation, CertificateDigitalSignature, CertificateKeyManagement, CertificateCardAuthentication,
            KeyHistory, .. retired, Iris, BiometricGroupTemplate, SecureMessagingCertificateSigner, PairingCodeReferenceData,
            Discovery,
        ];
        CardKeepEnvironment = [.. Enumerable.Range(0, 8).Select(i => new PivDataObject(0x5FFF15u + (uint)i,
            string.Create(CultureInfo.InvariantCulture, $"CardKeep environment {i + 1}/8"), PivReadAccess.PinRequired, null, "CardKeep"))];
        CardKeepObjects = [CardKeepUrls, CardKeepBusinessCard, CardKeepNotes, CardKeepRegistrationToken, CardKeepTrustAnchor, .. CardKeepEnvironment];
        All = [.. Standard, YubicoAttestationCertificate, .. CardKeepObjects];
        _byTag = All.ToDictionary(o => o.Tag);
        _bySlot = All.Where(o => o.Slot.HasValue).ToDictionary(o => o.Slot!.Value);
    }

    /// <summary>Card Capability Container, 5FC107.</summary>
    public static PivDataObject CardCapabilityContainer { get; } = new(0x5FC107, "Card Capability Container", PivReadAccess.Always);

    /// <summary>Card Holder Unique Identifier, 5FC102.</summary>
    public static PivDataObject Chuid { get; } = new(0x5FC102, "Card Holder Unique Identifier", PivReadAccess.Always);

    /// <summary>Discovery Object, 7E (not wrapped in 53).</summary>
    public static PivDataObject Discovery { get; } = new(0x7E, "Discovery Object", PivReadAccess.Always);

    /// <summary>X.509 Certificate for PIV Authentication (slot 9A), 5FC105.</summary>
    public static PivDataObject CertificatePivAuthentication { get; } =
        new(0x5FC105, "X.509 Certificate for PIV Authentication", PivReadAccess.Always, PivSlot.Authentication);

    /// <summary>X.509 Certificate for Digital Signature (slot 9C), 5FC10A.</summary>
    public static PivDataObject CertificateDigitalSignature { get; } =
        new(0x5FC10A, "X.509 Certificate for Digital Signature", PivReadAccess.Always, PivSlot.Signature);

    /// <summary>X.509 Certificate for Key Management (slot 9D), 5FC10B.</summary>
    public static PivDataObject CertificateKeyManagement { get; } =
        new(0x5FC10B, "X.509 Certificate for Key Management", PivReadAccess.Always, PivSlot.KeyManagement);

    /// <summary>X.509 Certificate for Card Authentication (slot 9E), 5FC101.</summary>
    public static PivDataObject CertificateCardAuthentication { get; } =
        new(0x5FC101, "X.509 Certificate for Card Authentication", PivReadAccess.Always, PivSlot.CardAuthentication);

    /// <summary>Key History Object, 5FC10C.</summary>
    public static PivDataObject KeyHistory { get; } = new(0x5FC10C, "Key History Object", PivReadAccess.Always);

    /// <summary>Printed Information, 5FC109 (PIN required).</summary>
    public static PivDataObject PrintedInformation { get; } = new(0x5FC109, "Printed Information", PivReadAccess.PinRequired);

    /// <summary>Cardholder Facial Image, 5FC108 (PIN required).</summary>
    public static PivDataObject FacialImage { get; } = new(0x5FC108, "Cardholder Facial Image", PivReadAccess.PinRequired);

    /// <summary>Cardholder Fingerprints, 5FC103 (PIN required).</summary>
    public static PivDataObject Fingerprints { get; } = new(0x5FC103, "Cardholder Fingerprints", PivReadAccess.PinRequired);

    /// <summary>Cardholder Iris Images, 5FC121 (PIN required).</summary>
    public static PivDataObject Iris { get; } = new(0x5FC121, "Cardholder Iris Images", PivReadAccess.PinRequired);

    /// <summary>Security Object, 5FC106.</summary>
    public static PivDataObject SecurityObject { get; } = new(0x5FC106, "Security Object", PivReadAccess.Always);

    /// <summary>Biometric Information Templates Group Template, 7F61 (not wrapped in 53).</summary>
    public static PivDataObject BiometricGroupTemplate { get; } = new(0x7F61, "Biometric Information Templates Group Template", PivReadAccess.Always);

    /// <summary>Secure Messaging Certificate Signer, 5FC122.</summary>
    public static PivDataObject SecureMessagingCertificateSigner { get; } = new(0x5FC122, "Secure Messaging Certificate Signer", PivReadAccess.Always);

    /// <summary>Pairing Code Reference Data Container, 5FC123.</summary>
    public static PivDataObject PairingCodeReferenceData { get; } = new(0x5FC123, "Pairing Code Reference Data Container", PivReadAccess.Always);

    /// <summary>Yubico: the attestation certificate that belongs to slot F9, 5FFF01.</summary>
    public static PivDataObject YubicoAttestationCertificate { get; } =
        new(0x5FFF01, "Attestation Certificate (Yubico)", PivReadAccess.Always, PivSlot.Attestation, "Yubico");

    /// <summary>CardKeep: list of URLs the card manager keeps for the cardholder, 5FFF10.</summary>
    public static PivDataObject CardKeepUrls { get; } = new(0x5FFF10, "CardKeep URL list", PivReadAccess.Always, null, "CardKeep");

    /// <summary>CardKeep: business card as a vCard, 5FFF11.</summary>
    public static PivDataObject CardKeepBusinessCard { get; } = new(0x5FFF11, "CardKeep business card (vCard)", PivReadAccess.Always, null, "CardKeep");

    /// <summary>CardKeep: the cardholder's notes, 5FFF12 (PIN required on CardKeep cards).</summary>
    public static PivDataObject CardKeepNotes { get; } = new(0x5FFF12, "CardKeep notes", PivReadAccess.PinRequired, null, "CardKeep");

    /// <summary>CardKeep: registration token object, 5FFF13 (PIN required on CardKeep cards).</summary>
    public static PivDataObject CardKeepRegistrationToken { get; } =
        new(0x5FFF13, "CardKeep registration token", PivReadAccess.PinRequired, null, "CardKeep");

    /// <summary>
    /// CardKeep: the token's trust anchor, 5FFF14 (readable always): the token serial and the issuer certificate Pi that
    /// TRK1 registration checks server certificates against (<c>80 10 serial 81 L DER</c>).
    /// </summary>
    public static PivDataObject CardKeepTrustAnchor { get; } =
        new(0x5FFF14, "CardKeep trust anchor (issuer certificate)", PivReadAccess.Always, null, "CardKeep");

    /// <summary>The retired key management certificates 5FC10D–5FC120 for slots 82–95, in slot order.</summary>
    public static IReadOnlyList<PivDataObject> RetiredCertificates { get; }

    /// <summary>Every SP 800-73-4 container, in the order of SP 800-73-4 Part 1 Table 3 (Discovery last).</summary>
    public static IReadOnlyList<PivDataObject> Standard { get; }

    /// <summary>
    /// CardKeep: the personal environment's card-resident entries, 5FFF15–5FFF1C (PIN required on CardKeep cards): one
    /// AES-256-GCM blob split across the objects, the first starting with the number of objects used (docs/environment.md).
    /// </summary>
    public static IReadOnlyList<PivDataObject> CardKeepEnvironment { get; }

    /// <summary>CardKeep's vendor objects 5FFF10–5FFF1C.</summary>
    public static IReadOnlyList<PivDataObject> CardKeepObjects { get; }

    /// <summary>Every object this table knows: <see cref="Standard"/>, the Yubico attestation certificate and <see cref="CardKeepObjects"/>.</summary>
    public static IReadOnlyList<PivDataObject> All { get; }

    /// <summary>
    /// True for the objects whose GET DATA response is the object's own TLV rather than a <c>53</c> container:
    /// Discovery (7E) and the BIT group template (7F61).
    /// </summary>
    public bool IsSelfTagged => IsSelfTaggedTag(Tag);

    /// <summary>The tag bytes as sent in the <c>5C</c> tag list of GET DATA / PUT DATA.</summary>
    public byte[] TagBytes => PivObjectEncoding.EncodeTag(Tag);

    /// <summary>The object with <paramref name="tag"/>, or null when the table does not know it.</summary>
    public static PivDataObject? Find(uint tag) => _byTag.GetValueOrDefault(tag);

    /// <summary>The certificate object for <paramref name="slot"/>, or null for a slot without one (9B).</summary>
    public static PivDataObject? ForSlot(PivSlot slot) => _bySlot.GetValueOrDefault(slot);

    /// <summary>The certificate object for <paramref name="slot"/>; throws for a slot without one.</summary>
    public static PivDataObject CertificateFor(PivSlot slot) =>
        ForSlot(slot) ?? throw new ArgumentOutOfRangeException(nameof(slot), slot, "this slot has no certificate object");

    /// <summary>See <see cref="IsSelfTagged"/>.</summary>
    public static bool IsSelfTaggedTag(uint tag) => tag is 0x7E or 0x7F61;

    /// <summary>The read rule for any tag: the table's rule, or <see cref="PivReadAccess.Always"/> for unknown tags.</summary>
    public static PivReadAccess ReadAccessFor(uint tag) => Find(tag)?.ReadAccess ?? PivReadAccess.Always;

    /// <inheritdoc/>
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{Convert.ToHexString(TagBytes)} {Name}");

    internal static bool IsValidTag(uint tag) => tag != 0 && BerTlv.TagLength(tag) <= 3;
}
