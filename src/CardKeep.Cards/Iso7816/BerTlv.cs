using System.Globalization;

namespace CardKeep.Cards.Iso7816;

/// <summary>
/// One BER-TLV data object (ISO/IEC 7816-4 §6.3, X.690 §8.1): tag up to 4 bytes, definite length up to
/// 4 length bytes (long form 81–84), value. Constructed objects expose their parsed children.
/// </summary>
public sealed class TlvNode
{
    private IReadOnlyList<TlvNode>? _children;

    public TlvNode(uint tag, ReadOnlyMemory<byte> value, int offset = 0)
    {
        Tag = tag;
        Value = value;
        Offset = offset;
    }

    /// <summary>The tag as its big-endian bytes read as a number, e.g. 0x5FC102 or 0x7F49.</summary>
    public uint Tag { get; }

    public ReadOnlyMemory<byte> Value { get; }

    /// <summary>Offset of the tag's first byte in the buffer it was parsed from.</summary>
    public int Offset { get; }

    public bool IsConstructed => BerTlv.IsConstructed(Tag);

    /// <summary>Children of a constructed object; parsed on first use, strictly.</summary>
    public IReadOnlyList<TlvNode> Children =>
        _children ??= IsConstructed
            ? BerTlv.Parse(Value, Offset + BerTlv.HeaderLength(Tag, Value.Length))
            : throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture, $"tag {Tag:X} is primitive and has no children"));

    /// <summary>The first child with <paramref name="tag"/>, or null.</summary>
    public TlvNode? Find(uint tag) => Children.FirstOrDefault(c => c.Tag == tag);

    /// <summary>The first child with <paramref name="tag"/>, or a <see cref="CardFormatException"/> saying it is missing.</summary>
    public TlvNode Get(uint tag) =>
        Find(tag) ?? throw new CardFormatException(string.Create(CultureInfo.InvariantCulture, $"TLV {Tag:X}: required tag {tag:X} missing"));

    public byte[] Encode() => BerTlv.Encode(Tag, Value.Span);

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Tag:X} [{Value.Length}] {Convert.ToHexString(Value.Span)}");
}

/// <summary>Strict BER-TLV encoding and decoding. Errors raise <see cref="CardFormatException"/> with the offset.</summary>
public static class BerTlv
{
    private const string What = "BER-TLV";

    public static bool IsConstructed(uint tag)
    {
        uint first = tag;
        while (first > 0xFF)
        {
            first >>= 8;
        }

        return (first & 0x20) != 0;
    }

    /// <summary>Number of bytes the tag occupies.</summary>
    public static int TagLength(uint tag) => tag > 0xFFFFFF ? 4 : tag > 0xFFFF ? 3 : tag > 0xFF ? 2 : 1;

    public static int LengthFieldLength(int length) => length switch
    {
        < 0x80 => 1,
        <= 0xFF => 2,
        <= 0xFFFF => 3,
        <= 0xFFFFFF => 4,
        _ => 5,
    };

    public static int HeaderLength(uint tag, int valueLength) => TagLength(tag) + LengthFieldLength(valueLength);

    public static int EncodedLength(uint tag, int valueLength) => HeaderLength(tag, valueLength) + valueLength;

    /// <summary>Parses a sequence of TLVs that must fill <paramref name="input"/> exactly.</summary>
    public static IReadOnlyList<TlvNode> Parse(ReadOnlyMemory<byte> input, int baseOffset = 0)
    {
        var nodes = new List<TlvNode>();
        int offset = 0;
        while (offset < input.Length)
        {
            nodes.Add(ReadOne(input, ref offset, baseOffset));
        }

        return nodes;
    }

    /// <summary>Parses exactly one TLV that must fill <paramref name="input"/> exactly.</summary>
    public static TlvNode ParseSingle(ReadOnlyMemory<byte> input)
    {
        int offset = 0;
        var node = ReadOne(input, ref offset, 0);
        if (offset != input.Length)
        {
            throw new CardFormatException(What, offset, $"{input.Length - offset} bytes follow the single expected object");
        }

        return node;
    }

    /// <summary>Reads one TLV at <paramref name="offset"/> and advances past it.</summary>
    public static TlvNode ReadOne(ReadOnlyMemory<byte> input, ref int offset, int baseOffset = 0)
    {
        var span = input.Span;
        int start = offset;
        uint tag = ReadTag(span, ref offset, baseOffset);
        int length = ReadLength(span, ref offset, baseOffset);
        if (length > span.Length - offset)
        {
            throw new CardFormatException(What, baseOffset + start, string.Create(CultureInfo.InvariantCulture,
                $"tag {tag:X} declares {length} value bytes but only {span.Length - offset} remain"));
        }

        var node = new TlvNode(tag, input.Slice(offset, length), baseOffset + start);
        offset += length;
        return node;
    }

    private static uint ReadTag(ReadOnlySpan<byte> span, ref int offset, int baseOffset)
    {
        int start = offset;
        if (offset >= span.Length)
        {
            throw new CardFormatException(What, baseOffset + offset, "input ends where a tag should start");
        }

        byte first = span[offset++];
        if (first is 0x00 or 0xFF)
        {
            throw new CardFormatException(What, baseOffset + start, $"0x{first:X2} is not a valid tag (padding is not allowed here)");
        }

        uint tag = first;
        if ((first & 0x1F) != 0x1F)
        {
            return tag;
        }

        for (int i = 0; ; i++)
        {
            if (i == 3)
            {
                throw new CardFormatException(What, baseOffset + start, "tag longer than 4 bytes is not supported");
            }

            if (offset >= span.Length)
            {
                throw new CardFormatException(What, baseOffset + offset, "input ends inside a multi-byte tag");
            }

            byte next = span[offset++];
            if (i == 0 && next == 0x80)
            {
                throw new CardFormatException(What, baseOffset + offset - 1, "multi-byte tag with a leading 0x80 byte is not minimal");
            }

            tag = (tag << 8) | next;
            if ((next & 0x80) == 0)
            {
                return tag;
            }
        }
    }

    private static int ReadLength(ReadOnlySpan<byte> span, ref int offset, int baseOffset)
    {
        if (offset >= span.Length)
        {
            throw new CardFormatException(What, baseOffset + offset, "input ends where a length should start");
        }

        byte first = span[offset++];
        if (first < 0x80)
        {
            return first;
        }

        if (first == 0x80)
        {
            throw new CardFormatException(What, baseOffset + offset - 1, "indefinite length (0x80) is not allowed");
        }

        int count = first & 0x7F;
        if (count > 4)
        {
            throw new CardFormatException(What, baseOffset + offset - 1, $"length field of {count} bytes is too long (at most 4)");
        }

        if (span.Length - offset < count)
        {
            throw new CardFormatException(What, baseOffset + offset, $"input ends inside a {count}-byte length field");
        }

        long length = 0;
        for (int i = 0; i < count; i++)
        {
            length = (length << 8) | span[offset++];
        }

        if (length > int.MaxValue)
        {
            throw new CardFormatException(What, baseOffset + offset - count, "length exceeds 2 GiB");
        }

        return (int)length;
    }

    public static void WriteTag(uint tag, Span<byte> destination, ref int offset)
    {
        for (int shift = (TagLength(tag) - 1) * 8; shift >= 0; shift -= 8)
        {
            destination[offset++] = (byte)(tag >> shift);
        }
    }

    public static void WriteLength(int length, Span<byte> destination, ref int offset)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        int n = LengthFieldLength(length);
        if (n == 1)
        {
            destination[offset++] = (byte)length;
            return;
        }

        destination[offset++] = (byte)(0x80 | (n - 1));
        for (int shift = (n - 2) * 8; shift >= 0; shift -= 8)
        {
            destination[offset++] = (byte)(length >> shift);
        }
    }

    public static byte[] Encode(uint tag, ReadOnlySpan<byte> value)
    {
        var buffer = new byte[EncodedLength(tag, value.Length)];
        int offset = 0;
        WriteTag(tag, buffer, ref offset);
        WriteLength(value.Length, buffer, ref offset);
        value.CopyTo(buffer.AsSpan(offset));
        return buffer;
    }

    /// <summary>Encodes a constructed object from already-encoded children.</summary>
    public static byte[] Encode(uint tag, params IEnumerable<byte[]> children) =>
        // The explicit span keeps overload resolution off this params overload: a bare byte[] binds here as one
        // child (identity beats the span conversion), which recursed until the stack overflowed.
        Encode(tag, new ReadOnlySpan<byte>([.. children.SelectMany(c => c)]));
}

/// <summary>Builds nested TLV structures: <c>using (w.Push(0x7C)) { w.Write(0x82, …); }</c>.</summary>
public sealed class TlvWriter
{
    private readonly Stack<(uint Tag, List<byte> Outer)> _open = new();
    private List<byte> _current = [];

    public TlvWriter Write(uint tag, ReadOnlySpan<byte> value)
    {
        _current.AddRange(BerTlv.Encode(tag, value));
        return this;
    }

    public TlvWriter WriteRaw(ReadOnlySpan<byte> encoded)
    {
        _current.AddRange(encoded);
        return this;
    }

    /// <summary>Opens a constructed object; disposing the result closes it.</summary>
    public IDisposable Push(uint tag)
    {
        _open.Push((tag, _current));
        _current = [];
        return new Closer(this);
    }

    public byte[] ToArray()
    {
        if (_open.Count != 0)
        {
            throw new InvalidOperationException("a constructed TLV is still open");
        }

        return _current.ToArray();
    }

    private void Pop()
    {
        var (tag, outer) = _open.Pop();
        var inner = _current.ToArray();
        _current = outer;
        Write(tag, inner);
    }

    private sealed class Closer(TlvWriter writer) : IDisposable
    {
        private bool _closed;

        public void Dispose()
        {
            if (!_closed)
            {
                _closed = true;
                writer.Pop();
            }
        }
    }
}
