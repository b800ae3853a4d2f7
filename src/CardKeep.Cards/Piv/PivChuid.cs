using System.Globalization;
using System.Text;
using CardKeep.Cards.Iso7816;

namespace CardKeep.Cards.Piv;

/// <summary>
/// The Card Holder Unique Identifier (object 5FC102, SP 800-73-4 Part 1 Appendix A Table 9), content of the 53
/// container: <c>30 FASC-N(25) [32 org] [33 DUNS] 34 GUID(16) 35 expiry "YYYYMMDD" [36 cardholder UUID] 3E signature FE</c>.
/// CardKeep cards leave the issuer signature empty, as yubico-piv-tool's set-chuid does.
/// </summary>
public sealed class PivChuid
{
    private const byte TagFascn = 0x30;
    private const byte TagOrganization = 0x32;
    private const byte TagDuns = 0x33;
    private const byte TagGuid = 0x34;
    private const byte TagExpiration = 0x35;
    private const byte TagCardholderUuid = 0x36;
    private const byte TagSignature = 0x3E;
    private const byte TagErrorDetection = 0xFE;

    /// <summary>Creates a CHUID.</summary>
    /// <param name="fascn">Tag 30, exactly 25 bytes (see <see cref="Piv.Fascn"/>).</param>
    /// <param name="cardUuid">Tag 34, exactly 16 bytes (the card UUID, RFC 4122 byte order).</param>
    /// <param name="expiration">Tag 35.</param>
    /// <param name="issuerSignature">Tag 3E; empty for an unsigned CHUID.</param>
    /// <param name="organizationIdentifier">Tag 32, or empty to omit.</param>
    /// <param name="duns">Tag 33, or empty to omit.</param>
    /// <param name="cardholderUuid">Tag 36, or empty to omit (16 bytes when present).</param>
    public PivChuid(ReadOnlySpan<byte> fascn, ReadOnlySpan<byte> cardUuid, DateOnly expiration, ReadOnlySpan<byte> issuerSignature = default,
        ReadOnlySpan<byte> organizationIdentifier = default, ReadOnlySpan<byte> duns = default, ReadOnlySpan<byte> cardholderUuid = default)
    {
        if (fascn.Length != Fascn.Length)
        {
            throw new ArgumentException($"the FASC-N has {Fascn.Length} bytes", nameof(fascn));
        }

        if (cardUuid.Length != 16)
        {
            throw new ArgumentException("the GUID has 16 bytes", nameof(cardUuid));
        }

        if (!cardholderUuid.IsEmpty && cardholderUuid.Length != 16)
        {
            throw new ArgumentException("the cardholder UUID has 16 bytes", nameof(cardholderUuid));
        }

        FascnBytes = fascn.ToArray();
        CardUuidBytes = cardUuid.ToArray();
        Expiration = expiration;
        IssuerSignature = issuerSignature.ToArray();
        OrganizationIdentifier = organizationIdentifier.ToArray();
        Duns = duns.ToArray();
        CardholderUuid = cardholderUuid.ToArray();
    }

    /// <summary>Tag 30: the 25-byte FASC-N.</summary>
    public ReadOnlyMemory<byte> FascnBytes { get; }

    /// <summary>Tag 30 decoded, or null when the bytes are not a valid FASC-N.</summary>
    public Fascn? Fascn
    {
        get
        {
            try
            {
                return Piv.Fascn.Parse(FascnBytes.Span);
            }
            catch (CardFormatException)
            {
                return null;
            }
        }
    }

    /// <summary>Tag 34: the 16-byte card GUID.</summary>
    public ReadOnlyMemory<byte> CardUuidBytes { get; }

    /// <summary>Tag 34 as a <see cref="Guid"/> (bytes read in RFC 4122 big-endian order).</summary>
    public Guid CardUuid => new(CardUuidBytes.Span, bigEndian: true);

    /// <summary>Tag 35: expiration date.</summary>
    public DateOnly Expiration { get; }

    /// <summary>Tag 3E: issuer asymmetric signature (CMS), empty when unsigned.</summary>
    public ReadOnlyMemory<byte> IssuerSignature { get; }

    /// <summary>Tag 32: organizational identifier; empty when absent.</summary>
    public ReadOnlyMemory<byte> OrganizationIdentifier { get; }

    /// <summary>Tag 33: DUNS; empty when absent.</summary>
    public ReadOnlyMemory<byte> Duns { get; }

    /// <summary>Tag 36: cardholder UUID; empty when absent.</summary>
    public ReadOnlyMemory<byte> CardholderUuid { get; }

    /// <summary>
    /// A CHUID for a CardKeep card: the non-federal FASC-N (agency 9999), the card UUID and an expiry.
    /// </summary>
    public static PivChuid Create(Guid cardUuid, DateOnly expiration, Fascn? fascn = null) =>
        new((fascn ?? Piv.Fascn.NonFederal).Encode(), cardUuid.ToByteArray(bigEndian: true), expiration);

    /// <summary>Encodes the content (without the 53 container).</summary>
    public byte[] Encode()
    {
        var writer = new TlvWriter();
        writer.Write(TagFascn, FascnBytes.Span);
        if (!OrganizationIdentifier.IsEmpty)
        {
            writer.Write(TagOrganization, OrganizationIdentifier.Span);
        }

        if (!Duns.IsEmpty)
        {
            writer.Write(TagDuns, Duns.Span);
        }

        writer.Write(TagGuid, CardUuidBytes.Span);
        writer.Write(TagExpiration, Encoding.ASCII.GetBytes(Expiration.ToString("yyyyMMdd", CultureInfo.InvariantCulture)));
        if (!CardholderUuid.IsEmpty)
        {
            writer.Write(TagCardholderUuid, CardholderUuid.Span);
        }

        writer.Write(TagSignature, IssuerSignature.Span);
        writer.Write(TagErrorDetection, []);
        return writer.ToArray();
    }

    /// <summary>Parses the content (without the 53 container). Raises <see cref="CardFormatException"/>.</summary>
    public static PivChuid Parse(ReadOnlyMemory<byte> content)
    {
        var nodes = BerTlv.Parse(content);
        TlvNode Get(byte tag) => nodes.FirstOrDefault(n => n.Tag == tag)
            ?? throw new CardFormatException(string.Create(CultureInfo.InvariantCulture, $"CHUID: required tag {tag:X2} missing"));
        ReadOnlySpan<byte> Optional(byte tag) => nodes.FirstOrDefault(n => n.Tag == tag) is { } node ? node.Value.Span : default;

        var fascn = Get(TagFascn);
        var guid = Get(TagGuid);
        var expiration = Get(TagExpiration);
        if (fascn.Value.Length != Fascn.Length || guid.Value.Length != 16)
        {
            throw new CardFormatException("CHUID", fascn.Value.Length != Fascn.Length ? fascn.Offset : guid.Offset,
                "FASC-N must have 25 bytes and GUID 16 bytes");
        }

        string text = Encoding.ASCII.GetString(expiration.Value.Span);
        if (!DateOnly.TryParseExact(text, "yyyyMMdd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date))
        {
            throw new CardFormatException("CHUID", expiration.Offset, "expiration date is not YYYYMMDD");
        }

        var uuid = Optional(TagCardholderUuid);
        if (!uuid.IsEmpty && uuid.Length != 16)
        {
            throw new CardFormatException("CHUID", 0, "cardholder UUID must have 16 bytes");
        }

        return new PivChuid(fascn.Value.Span, guid.Value.Span, date, Optional(TagSignature), Optional(TagOrganization), Optional(TagDuns), uuid);
    }
}
