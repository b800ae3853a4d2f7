using System.Globalization;
using CardKeep.Cards.Iso7816;

namespace CardKeep.Cards.Piv;

/// <summary>
/// The data fields of GET DATA and PUT DATA (SP 800-73-4 Part 2 §3.1.2, §3.3.2):
/// request <c>5C L tag</c>; object content wrapped as <c>53 L content</c>, except for the self-tagged
/// objects 7E and 7F61, which travel as their own TLV.
/// </summary>
public static class PivObjectEncoding
{
    /// <summary>Tag of the tag list in GET DATA / PUT DATA.</summary>
    public const byte TagList = 0x5C;

    /// <summary>Tag of the data object container.</summary>
    public const byte Container = 0x53;

    /// <summary>The tag's big-endian bytes: 0x5FC102 → 5F C1 02, 0x7E → 7E.</summary>
    public static byte[] EncodeTag(uint tag)
    {
        if (!PivDataObject.IsValidTag(tag))
        {
            throw new ArgumentOutOfRangeException(nameof(tag), tag, "a PIV object tag has 1 to 3 bytes");
        }

        var bytes = new byte[BerTlv.TagLength(tag)];
        int offset = 0;
        BerTlv.WriteTag(tag, bytes, ref offset);
        return bytes;
    }

    /// <summary>GET DATA request data: <c>5C 03 5F C1 02</c> for the CHUID.</summary>
    public static byte[] GetDataRequest(uint tag) => BerTlv.Encode(TagList, EncodeTag(tag));

    /// <summary>Parses GET DATA request data (<c>5C L tag</c>) into the tag. Raises <see cref="CardFormatException"/>.</summary>
    public static uint ParseGetDataRequest(ReadOnlyMemory<byte> data)
    {
        var node = BerTlv.ParseSingle(data);
        return ParseTagList(node);
    }

    /// <summary>
    /// PUT DATA request data: <c>5C L tag 53 L content</c>; for 7E / 7F61 <paramref name="content"/> is the object's
    /// own TLV and is sent after the tag list as is. Empty content deletes the object.
    /// </summary>
    public static byte[] PutDataRequest(uint tag, ReadOnlySpan<byte> content)
    {
        var tagList = GetDataRequest(tag);
        if (PivDataObject.IsSelfTaggedTag(tag))
        {
            return [.. tagList, .. content.IsEmpty ? BerTlv.Encode(tag, ReadOnlySpan<byte>.Empty) : content];
        }

        var buffer = new byte[tagList.Length + BerTlv.EncodedLength(Container, content.Length)];
        tagList.CopyTo(buffer, 0);
        int offset = tagList.Length;
        BerTlv.WriteTag(Container, buffer, ref offset);
        BerTlv.WriteLength(content.Length, buffer, ref offset);
        content.CopyTo(buffer.AsSpan(offset));
        return buffer;
    }

    /// <summary>
    /// Parses PUT DATA request data into the tag and the content to store: the inside of <c>53</c>, or the whole
    /// TLV for 7E / 7F61. The content is a slice of <paramref name="data"/>.
    /// </summary>
    public static (uint Tag, ReadOnlyMemory<byte> Content) ParsePutDataRequest(ReadOnlyMemory<byte> data)
    {
        int offset = 0;
        var tagList = BerTlv.ReadOne(data, ref offset);
        uint tag = ParseTagList(tagList);
        var rest = data[offset..];
        var body = BerTlv.ParseSingle(rest);
        if (PivDataObject.IsSelfTaggedTag(tag))
        {
            if (body.Tag != tag)
            {
                throw new CardFormatException("PUT DATA", offset, string.Create(CultureInfo.InvariantCulture, $"object {tag:X} must carry its own tag, found {body.Tag:X}"));
            }

            return (tag, rest);
        }

        if (body.Tag != Container)
        {
            throw new CardFormatException("PUT DATA", offset, string.Create(CultureInfo.InvariantCulture, $"expected container tag 53, found {body.Tag:X}"));
        }

        return (tag, body.Value);
    }

    /// <summary>What the card answers to GET DATA for stored <paramref name="content"/>: <c>53 L content</c>, or the content itself for 7E / 7F61.</summary>
    public static byte[] GetDataResponse(uint tag, ReadOnlySpan<byte> content) =>
        PivDataObject.IsSelfTaggedTag(tag) ? content.ToArray() : Wrap(content);

    /// <summary>Wraps content in the <c>53</c> container.</summary>
    public static byte[] Wrap(ReadOnlySpan<byte> content) => BerTlv.Encode(Container, content);

    /// <summary>
    /// The content of a GET DATA response: the inside of <c>53</c>, or the whole TLV for 7E / 7F61.
    /// Raises <see cref="CardFormatException"/> when the response is not one such TLV.
    /// </summary>
    public static ReadOnlyMemory<byte> ParseGetDataResponse(uint tag, ReadOnlyMemory<byte> response)
    {
        var node = BerTlv.ParseSingle(response);
        uint expected = PivDataObject.IsSelfTaggedTag(tag) ? tag : Container;
        if (node.Tag != expected)
        {
            throw new CardFormatException("GET DATA response", 0, string.Create(CultureInfo.InvariantCulture, $"expected tag {expected:X} for object {tag:X}, found {node.Tag:X}"));
        }

        return expected == Container ? node.Value : response;
    }

    private static uint ParseTagList(TlvNode node)
    {
        var value = node.Value.Span;
        if (node.Tag != TagList)
        {
            throw new CardFormatException("GET/PUT DATA", node.Offset, string.Create(CultureInfo.InvariantCulture, $"expected tag list 5C, found {node.Tag:X}"));
        }

        if (value.Length is < 1 or > 3)
        {
            throw new CardFormatException("GET/PUT DATA", node.Offset, $"tag list holds {value.Length} bytes; a PIV object tag has 1 to 3");
        }

        uint tag = 0;
        foreach (byte b in value)
        {
            tag = (tag << 8) | b;
        }

        return tag;
    }
}
