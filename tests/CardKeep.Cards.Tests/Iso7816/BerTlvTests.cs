using CardKeep.Cards.Iso7816;

namespace CardKeep.Cards.Tests.Iso7816;

public class BerTlvTests
{
    // Regression: the params overload called itself with the concatenated byte[] and overflowed the stack.
    [Fact]
    public void Encode_ConstructedFromChildren_ConcatenatesChildren()
    {
        var encoded = BerTlv.Encode(0x7C, BerTlv.Encode(0x82, ReadOnlySpan<byte>.Empty), BerTlv.Encode(0x81, [0xAA]));
        Assert.Equal("7C05820081 01AA".Replace(" ", "", StringComparison.Ordinal), Hex.Of(encoded));
    }

    [Fact]
    public void Encode_SingleByteArrayChild_EqualsSpanEncoding()
    {
        byte[] value = [0x01, 0x02];
        Assert.Equal(BerTlv.Encode(0x53, value.AsSpan()), BerTlv.Encode(0x53, value));
    }

    [Fact]
    public void Parse_VendorTag5FFF10_ReadsThreeByteTag()
    {
        var node = BerTlv.ParseSingle(Hex.Bytes("5FFF1001AA"));
        Assert.Equal(0x5FFF10u, node.Tag);
    }
}
