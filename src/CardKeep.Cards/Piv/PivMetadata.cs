using System.Globalization;
using CardKeep.Cards.Iso7816;

namespace CardKeep.Cards.Piv;

/// <summary>
/// The YubiKey GET METADATA response (INS F7, firmware 5.3+): <c>01 alg</c> (FF for PIN/PUK), <c>02 pin-policy touch-policy</c>,
/// <c>03 origin</c> (1 generated, 2 imported), <c>04 public key</c> (7F49 content without the 7F49 tag),
/// <c>05 is-default</c> (PIN, PUK, management key), <c>06 retries-total retries-remaining</c> (PIN, PUK).
/// Every element is optional.
/// </summary>
public sealed class PivMetadata
{
    /// <summary>The algorithm byte a card reports for the PIN and PUK.</summary>
    public const byte PinAlgorithm = 0xFF;

    private const byte TagAlgorithm = 0x01;
    private const byte TagPolicy = 0x02;
    private const byte TagOrigin = 0x03;
    private const byte TagPublicKey = 0x04;
    private const byte TagDefault = 0x05;
    private const byte TagRetries = 0x06;

    /// <summary>Tag 01: the algorithm byte (FF for PIN/PUK).</summary>
    public byte? AlgorithmId { get; init; }

    /// <summary>Tag 01 as a <see cref="PivAlgorithm"/>, or null for PIN/PUK, unknown values or absence.</summary>
    public PivAlgorithm? Algorithm => AlgorithmId is { } id && ((PivAlgorithm)id).IsDefined() ? (PivAlgorithm)id : null;

    /// <summary>Tag 02: PIN and touch policy.</summary>
    public PivKeyPolicy? Policy { get; init; }

    /// <summary>Tag 03: where the key came from.</summary>
    public PivKeyOrigin? Origin { get; init; }

    /// <summary>Tag 04: the public key of an asymmetric slot.</summary>
    public PivPublicKey? PublicKey { get; init; }

    /// <summary>Tag 05: true when the PIN, PUK or management key still has its factory value.</summary>
    public bool? IsDefault { get; init; }

    /// <summary>Tag 06, first byte: the configured number of tries.</summary>
    public int? RetriesTotal { get; init; }

    /// <summary>Tag 06, second byte: tries left.</summary>
    public int? RetriesRemaining { get; init; }

    /// <summary>Encodes the response data, elements in tag order.</summary>
    public byte[] Encode()
    {
        var writer = new TlvWriter();
        if (AlgorithmId is { } algorithm)
        {
            writer.Write(TagAlgorithm, [algorithm]);
        }

        if (Policy is { } policy)
        {
            writer.Write(TagPolicy, [(byte)policy.Pin, (byte)policy.Touch]);
        }

        if (Origin is { } origin)
        {
            writer.Write(TagOrigin, [(byte)origin]);
        }

        if (PublicKey is { } key)
        {
            writer.Write(TagPublicKey, key.EncodeContent());
        }

        if (IsDefault is { } isDefault)
        {
            writer.Write(TagDefault, [isDefault ? (byte)1 : (byte)0]);
        }

        if (RetriesTotal.HasValue || RetriesRemaining.HasValue)
        {
            writer.Write(TagRetries, [checked((byte)(RetriesTotal ?? 0)), checked((byte)(RetriesRemaining ?? 0))]);
        }

        return writer.ToArray();
    }

    /// <summary>Parses the response data. Unknown tags are skipped. Raises <see cref="CardFormatException"/>.</summary>
    public static PivMetadata Parse(ReadOnlyMemory<byte> data)
    {
        var nodes = BerTlv.Parse(data);
        ReadOnlySpan<byte> Value(byte tag, int length)
        {
            var node = nodes.FirstOrDefault(n => n.Tag == tag);
            if (node is null)
            {
                return default;
            }

            if (node.Value.Length != length)
            {
                throw new CardFormatException("PIV metadata", node.Offset, string.Create(CultureInfo.InvariantCulture,
                    $"tag {tag:X2} has {node.Value.Length} bytes, expected {length}"));
            }

            return node.Value.Span;
        }

        var algorithm = Value(TagAlgorithm, 1);
        var policy = Value(TagPolicy, 2);
        var origin = Value(TagOrigin, 1);
        var isDefault = Value(TagDefault, 1);
        var retries = Value(TagRetries, 2);
        var publicKey = nodes.FirstOrDefault(n => n.Tag == TagPublicKey);
        PivAlgorithm? keyAlgorithm = algorithm.IsEmpty || !((PivAlgorithm)algorithm[0]).IsAsymmetric() ? null : (PivAlgorithm)algorithm[0];
        return new PivMetadata
        {
            AlgorithmId = algorithm.IsEmpty ? null : algorithm[0],
            Policy = policy.IsEmpty ? null : new PivKeyPolicy((PinPolicy)policy[0], (TouchPolicy)policy[1]),
            Origin = origin.IsEmpty ? null : (PivKeyOrigin)origin[0],
            PublicKey = publicKey is null ? null : PivPublicKey.ParseContent(publicKey.Value, keyAlgorithm),
            IsDefault = isDefault.IsEmpty ? null : isDefault[0] != 0,
            RetriesTotal = retries.IsEmpty ? null : retries[0],
            RetriesRemaining = retries.IsEmpty ? null : retries[1],
        };
    }
}
