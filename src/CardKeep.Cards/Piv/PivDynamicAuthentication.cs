using System.Globalization;
using CardKeep.Cards.Iso7816;

namespace CardKeep.Cards.Piv;

/// <summary>
/// The dynamic authentication template (tag 7C) that GENERAL AUTHENTICATE carries both ways (SP 800-73-4 Part 2
/// §3.2.4, Table 7): 80 witness, 81 challenge, 82 response, 85 exponentiation (ECDH peer point).
/// An element present with length 0 asks the card to fill it in (e.g. <c>82 00</c>: "return the response").
/// </summary>
public sealed class PivDynamicAuthentication
{
    /// <summary>Template tag.</summary>
    public const uint Tag = 0x7C;

    /// <summary>Witness (80).</summary>
    public const byte TagWitness = 0x80;

    /// <summary>Challenge (81).</summary>
    public const byte TagChallenge = 0x81;

    /// <summary>Response (82).</summary>
    public const byte TagResponse = 0x82;

    /// <summary>Exponentiation (85).</summary>
    public const byte TagExponentiation = 0x85;

    private PivDynamicAuthentication(ReadOnlyMemory<byte>? witness, ReadOnlyMemory<byte>? challenge, ReadOnlyMemory<byte>? response,
        ReadOnlyMemory<byte>? exponentiation)
    {
        Witness = witness;
        Challenge = challenge;
        Response = response;
        Exponentiation = exponentiation;
    }

    /// <summary>Tag 80: null when absent, empty when requested.</summary>
    public ReadOnlyMemory<byte>? Witness { get; }

    /// <summary>Tag 81: null when absent, empty when requested.</summary>
    public ReadOnlyMemory<byte>? Challenge { get; }

    /// <summary>Tag 82: null when absent, empty when requested.</summary>
    public ReadOnlyMemory<byte>? Response { get; }

    /// <summary>Tag 85: null when absent.</summary>
    public ReadOnlyMemory<byte>? Exponentiation { get; }

    /// <summary>Sign or decrypt request: <c>7C L { 82 00, 81 L data }</c>.</summary>
    public static byte[] SignRequest(ReadOnlySpan<byte> data) => Encode((TagResponse, []), (TagChallenge, data.ToArray()));

    /// <summary>Key agreement request: <c>7C L { 82 00, 85 L point }</c>.</summary>
    public static byte[] KeyAgreementRequest(ReadOnlySpan<byte> peerPoint) => Encode((TagResponse, []), (TagExponentiation, peerPoint.ToArray()));

    /// <summary>First step of mutual authentication: <c>7C 02 80 00</c> (send me a witness).</summary>
    public static byte[] WitnessRequest() => Encode((TagWitness, []));

    /// <summary>Challenge request: <c>7C 02 81 00</c> (card-generated random / single-step auth).</summary>
    public static byte[] ChallengeRequest() => Encode((TagChallenge, []));

    /// <summary>Second step of mutual authentication: <c>7C L { 80 L decrypted-witness, 81 L host-challenge }</c>.</summary>
    public static byte[] MutualAuthenticationRequest(ReadOnlySpan<byte> decryptedWitness, ReadOnlySpan<byte> challenge) =>
        Encode((TagWitness, decryptedWitness.ToArray()), (TagChallenge, challenge.ToArray()));

    /// <summary>Single-step answer to a card challenge: <c>7C L { 82 L response }</c>.</summary>
    public static byte[] ResponseOnly(ReadOnlySpan<byte> response) => Encode((TagResponse, response.ToArray()));

    /// <summary>
    /// A template with the given elements in order, e.g. the card's answer <c>Encode((0x82, signature))</c>.
    /// </summary>
    public static byte[] Encode(params ReadOnlySpan<(byte Tag, byte[] Value)> elements)
    {
        var writer = new TlvWriter();
        using (writer.Push(Tag))
        {
            foreach (var (tag, value) in elements)
            {
                writer.Write(tag, value);
            }
        }

        return writer.ToArray();
    }

    /// <summary>Parses a template (tag 7C included). Raises <see cref="CardFormatException"/>.</summary>
    public static PivDynamicAuthentication Parse(ReadOnlyMemory<byte> data)
    {
        var root = BerTlv.ParseSingle(data);
        if (root.Tag != Tag)
        {
            throw new CardFormatException("dynamic authentication template", 0, string.Create(CultureInfo.InvariantCulture,
                $"expected tag 7C, found {root.Tag:X}"));
        }

        return new PivDynamicAuthentication(root.Find(TagWitness)?.Value, root.Find(TagChallenge)?.Value, root.Find(TagResponse)?.Value,
            root.Find(TagExponentiation)?.Value);
    }

    /// <summary>The value of a required, non-empty element, or a <see cref="CardFormatException"/> naming it.</summary>
    public static ReadOnlyMemory<byte> Required(ReadOnlyMemory<byte>? element, byte tag) =>
        element is { IsEmpty: false } value ? value
            : throw new CardFormatException(string.Create(CultureInfo.InvariantCulture, $"dynamic authentication template: element {tag:X2} missing or empty"));
}
