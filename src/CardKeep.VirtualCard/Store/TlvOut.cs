using CardKeep.Cards.Iso7816;

namespace CardKeep.VirtualCard.Store;

/// <summary>
/// A BER-TLV tree to encode into ONE exactly sized buffer (tag and length bytes via <see cref="BerTlv"/>). Unlike
/// <see cref="TlvWriter"/>, which copies through growing lists at every level, this leaves a single buffer holding the
/// encoded secrets, which the caller can zero after writing it out. Leaf values are referenced, not copied.
/// </summary>
internal sealed class TlvOut
{
    private readonly uint _tag;
    private readonly byte[]? _value;
    private readonly List<TlvOut>? _children;
    private readonly int _valueLength;

    private TlvOut(uint tag, byte[]? value, List<TlvOut>? children)
    {
        _tag = tag;
        _value = value;
        _children = children;
        _valueLength = value?.Length ?? children!.Sum(c => c.EncodedLength);
    }

    public int EncodedLength => BerTlv.EncodedLength(_tag, _valueLength);

    public static TlvOut Leaf(uint tag, byte[] value) => new(tag, value, null);

    /// <summary>A constructed object; null children are skipped (absent optional fields).</summary>
    public static TlvOut Node(uint tag, params IEnumerable<TlvOut?> children) =>
        new(tag, null, children.OfType<TlvOut>().ToList());

    public void WriteTo(Span<byte> destination, ref int offset)
    {
        BerTlv.WriteTag(_tag, destination, ref offset);
        BerTlv.WriteLength(_valueLength, destination, ref offset);
        if (_value is not null)
        {
            _value.CopyTo(destination[offset..]);
            offset += _value.Length;
            return;
        }

        foreach (var child in _children!)
        {
            child.WriteTo(destination, ref offset);
        }
    }
}
