using System.Security.Cryptography;
using CardKeep.Cards.Iso7816;

namespace CardKeep.Cards.Piv;

/// <summary>
/// The Card Capability Container (object 5FC107, SP 800-73-4 Part 1 Appendix A Table 8), content of the 53 container,
/// in the form yubico-piv-tool's set-ccc writes: F0 card identifier (GSC-IS RID A0 00 00 01 16, manufacturer FF,
/// card type 02, 14-byte card ID), F1 container version 21, F2 grammar version 21, F3 empty, F4 PKCS#15 00,
/// F5 data model 10, F6 F7 FA FB FC FD empty, FE error detection code.
/// </summary>
public sealed class PivCardCapabilityContainer
{
    /// <summary>Length of the card-specific part of the card identifier.</summary>
    public const int CardIdLength = 14;

    private const byte TagCardIdentifier = 0xF0;
    private const byte TagContainerVersion = 0xF1;
    private const byte TagGrammarVersion = 0xF2;
    private const byte TagPkcs15 = 0xF4;
    private const byte TagDataModel = 0xF5;

    private static readonly byte[] _identifierPrefix = [0xA0, 0x00, 0x00, 0x01, 0x16, 0xFF, 0x02];

    private PivCardCapabilityContainer(ReadOnlyMemory<byte> cardIdentifier, byte containerVersion, byte grammarVersion, byte pkcs15, byte dataModel,
        IReadOnlyList<TlvNode> elements)
    {
        CardIdentifier = cardIdentifier;
        ContainerVersion = containerVersion;
        GrammarVersion = grammarVersion;
        Pkcs15 = pkcs15;
        DataModelNumber = dataModel;
        Elements = elements;
    }

    /// <summary>Tag F0: the whole card identifier (21 bytes in the yubico-piv-tool form).</summary>
    public ReadOnlyMemory<byte> CardIdentifier { get; }

    /// <summary>The last 14 bytes of the card identifier when it has the GSC-IS form, otherwise empty.</summary>
    public ReadOnlyMemory<byte> CardId =>
        CardIdentifier.Length == _identifierPrefix.Length + CardIdLength && CardIdentifier.Span.StartsWith(_identifierPrefix)
            ? CardIdentifier[_identifierPrefix.Length..]
            : ReadOnlyMemory<byte>.Empty;

    /// <summary>Tag F1: capability container version number (0x21).</summary>
    public byte ContainerVersion { get; }

    /// <summary>Tag F2: capability grammar version number (0x21).</summary>
    public byte GrammarVersion { get; }

    /// <summary>Tag F4: PKCS#15 (0x00 = not PKCS#15).</summary>
    public byte Pkcs15 { get; }

    /// <summary>Tag F5: registered data model number (0x10).</summary>
    public byte DataModelNumber { get; }

    /// <summary>Every element in order, including those without a property here.</summary>
    public IReadOnlyList<TlvNode> Elements { get; }

    /// <summary>Encodes a CCC in yubico-piv-tool's template with the given 14-byte card ID (random when empty).</summary>
    public static byte[] Create(ReadOnlySpan<byte> cardId = default)
    {
        Span<byte> id = stackalloc byte[CardIdLength];
        if (cardId.IsEmpty)
        {
            RandomNumberGenerator.Fill(id);
        }
        else if (cardId.Length == CardIdLength)
        {
            cardId.CopyTo(id);
        }
        else
        {
            throw new ArgumentException($"the card ID has {CardIdLength} bytes", nameof(cardId));
        }

        var writer = new TlvWriter()
            .Write(TagCardIdentifier, [.. _identifierPrefix, .. id])
            .Write(TagContainerVersion, [0x21])
            .Write(TagGrammarVersion, [0x21])
            .Write(0xF3, [])
            .Write(TagPkcs15, [0x00])
            .Write(TagDataModel, [0x10]);
        foreach (byte emptyTag in (ReadOnlySpan<byte>)[0xF6, 0xF7, 0xFA, 0xFB, 0xFC, 0xFD, 0xFE])
        {
            writer.Write(emptyTag, []);
        }

        return writer.ToArray();
    }

    /// <summary>Parses the content (without the 53 container). Raises <see cref="CardFormatException"/>.</summary>
    public static PivCardCapabilityContainer Parse(ReadOnlyMemory<byte> content)
    {
        var nodes = BerTlv.Parse(content);
        var identifier = nodes.FirstOrDefault(n => n.Tag == TagCardIdentifier)
            ?? throw new CardFormatException("CCC: required tag F0 (card identifier) missing");
        byte One(byte tag) => nodes.FirstOrDefault(n => n.Tag == tag) is { Value.Length: 1 } node ? node.Value.Span[0] : (byte)0;
        return new PivCardCapabilityContainer(identifier.Value, One(TagContainerVersion), One(TagGrammarVersion), One(TagPkcs15), One(TagDataModel), nodes);
    }
}
