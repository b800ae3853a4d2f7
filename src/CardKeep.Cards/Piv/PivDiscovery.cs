using CardKeep.Cards.Iso7816;

namespace CardKeep.Cards.Piv;

/// <summary>
/// The Discovery Object (tag 7E, SP 800-73-4 Part 1 §3.3.2): <c>7E 12 4F 0B &lt;full PIV AID&gt; 5F 2F 02 &lt;PIN usage policy&gt;</c>.
/// It is returned by GET DATA as is, not inside a 53 container.
/// </summary>
public sealed class PivDiscovery
{
    /// <summary>The object's tag.</summary>
    public const uint Tag = 0x7E;

    /// <summary>PIN usage policy of a card with only the PIV application PIN: 40 00.</summary>
    public const ushort PivPinOnly = 0x4000;

    private const uint TagAid = 0x4F;
    private const uint TagPinUsagePolicy = 0x5F2F;

    /// <summary>Creates a discovery object.</summary>
    /// <param name="pinUsagePolicy">Tag 5F2F as a big-endian number (default 40 00: PIV PIN only).</param>
    /// <param name="aid">Tag 4F; defaults to the full PIV AID.</param>
    public PivDiscovery(ushort pinUsagePolicy = PivPinOnly, ReadOnlySpan<byte> aid = default)
    {
        var value = aid.IsEmpty ? PivAid.Full : aid;
        if (!PivAid.IsPiv(value))
        {
            throw new ArgumentException("the discovery AID must start with the PIV AID A0 00 00 03 08 00 00 10 00", nameof(aid));
        }

        Aid = value.ToArray();
        PinUsagePolicy = pinUsagePolicy;
    }

    /// <summary>The default object: full PIV AID, PIN usage policy 40 00.</summary>
    public static PivDiscovery Default { get; } = new();

    /// <summary>Tag 4F: the PIV AID.</summary>
    public ReadOnlyMemory<byte> Aid { get; }

    /// <summary>Tag 5F2F: first byte = which PINs satisfy access rules, second byte = which one is primary.</summary>
    public ushort PinUsagePolicy { get; }

    /// <summary>First byte bit 0x40: the PIV application PIN satisfies the PIV access control rules.</summary>
    public bool PivPinSatisfiesAccess => (PinUsagePolicy & 0x4000) != 0;

    /// <summary>First byte bit 0x20: the global PIN satisfies the PIV access control rules.</summary>
    public bool GlobalPinSatisfiesAccess => (PinUsagePolicy & 0x2000) != 0;

    /// <summary>First byte bit 0x10: on-card biometric comparison satisfies the access rules.</summary>
    public bool OccSatisfiesAccess => (PinUsagePolicy & 0x1000) != 0;

    /// <summary>Second byte 0x20: the global PIN is the primary PIN (OpenSC then uses key reference 00).</summary>
    public bool GlobalPinIsPrimary => GlobalPinSatisfiesAccess && (PinUsagePolicy & 0xFF) == 0x20;

    /// <summary>Encodes the object, tag 7E included.</summary>
    public byte[] Encode() =>
        BerTlv.EncodeConstructed(Tag, BerTlv.Encode(TagAid, Aid.Span), BerTlv.Encode(TagPinUsagePolicy, [(byte)(PinUsagePolicy >> 8), (byte)PinUsagePolicy]));

    /// <summary>Parses the object (tag 7E included). Raises <see cref="CardFormatException"/>.</summary>
    public static PivDiscovery Parse(ReadOnlyMemory<byte> data)
    {
        var root = BerTlv.ParseSingle(data);
        if (root.Tag != Tag)
        {
            throw new CardFormatException("PIV discovery object", 0, $"expected tag 7E, found {root.Tag:X}");
        }

        var aid = root.Get(TagAid);
        if (!PivAid.IsPiv(aid.Value.Span))
        {
            throw new CardFormatException("PIV discovery object", aid.Offset, "tag 4F does not start with the PIV AID");
        }

        var policy = root.Get(TagPinUsagePolicy);
        if (policy.Value.Length != 2)
        {
            throw new CardFormatException("PIV discovery object", policy.Offset, $"PIN usage policy has {policy.Value.Length} bytes, expected 2");
        }

        var p = policy.Value.Span;
        return new PivDiscovery((ushort)((p[0] << 8) | p[1]), aid.Value.Span);
    }
}
