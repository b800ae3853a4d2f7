using CardKeep.Cards;
using CardKeep.Cards.Iso7816;
using FsCheck;
using FsCheck.Fluent;

namespace CardKeep.Cards.Tests.Iso7816;

public sealed class BerTlvTests
{
    [Fact]
    public void Parse_GetDataRequest_MultiByteTag()
    {
        var node = BerTlv.ParseSingle(Convert.FromHexString("5C035FC102"));
        Assert.Equal(0x5Cu, node.Tag);
        Assert.Equal("5FC102", Convert.ToHexString(node.Value.Span));
        Assert.Equal(0x5FC101u, BerTlv.ParseSingle(Convert.FromHexString("5FC10100")).Tag);
    }

    [Fact]
    public void Parse_DiscoveryObject_NestedTemplate()
    {
        // SP 800-73-4 discovery object as YubiKeys return it.
        var discovery = BerTlv.ParseSingle(Convert.FromHexString("7E124F0BA0000003080000100001005F2F024000"));
        Assert.Equal(0x7Eu, discovery.Tag);
        Assert.True(discovery.IsConstructed);
        Assert.Equal("A000000308000010000100", Convert.ToHexString(discovery.Get(0x4F).Value.Span));
        Assert.Equal("4000", Convert.ToHexString(discovery.Get(0x5F2F).Value.Span));
        Assert.Equal(2, discovery.Get(0x5F2F).Offset - discovery.Get(0x4F).Offset - 11);
    }

    [Fact]
    public void Parse_GeneralAuthenticateResponse_LongFormLength()
    {
        var value = new byte[256];
        byte[] encoded = BerTlv.Encode(0x7C, BerTlv.Encode(0x82, value));
        Assert.Equal("7C82010482820100", Convert.ToHexString(encoded.AsSpan(0, 8)));
        var parsed = BerTlv.ParseSingle(encoded);
        Assert.Equal(256, parsed.Get(0x82).Value.Length);
    }

    [Theory]
    [InlineData(0, "01")]
    [InlineData(0x7F, "01")]
    [InlineData(0x80, "02")]
    [InlineData(0xFF, "02")]
    [InlineData(0x100, "03")]
    [InlineData(0x10000, "04")]
    public void LengthFieldLength_Boundaries(int length, string expected) =>
        Assert.Equal(int.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), BerTlv.LengthFieldLength(length));

    [Theory]
    [InlineData("", "input ends where a tag should start", 0)]
    [InlineData("53", "input ends where a length should start", 1)]
    [InlineData("5303AABB", "declares 3 value bytes but only 2 remain", 0)]
    [InlineData("5380", "indefinite length", 1)]
    [InlineData("5385000000000001", "length field of 5 bytes", 1)]
    [InlineData("538201", "input ends inside a 2-byte length field", 2)]
    [InlineData("5F", "input ends inside a multi-byte tag", 1)]
    [InlineData("5F8001", "leading 0x80", 1)]
    [InlineData("5FFFFFFF01", "longer than 4 bytes", 0)]
    [InlineData("0001AA", "not a valid tag", 0)]
    public void Parse_Malformed_ThrowsWithOffset(string hex, string problem, int offset)
    {
        var e = Assert.Throws<CardFormatException>(() => BerTlv.ParseSingle(Convert.FromHexString(hex)));
        Assert.Contains(problem, e.Message, StringComparison.Ordinal);
        Assert.Equal(offset, e.Offset);
    }

    [Fact]
    public void Children_MalformedInsideTemplate_ReportsAbsoluteOffset()
    {
        var outer = BerTlv.ParseSingle(Convert.FromHexString("7C0482058100"));
        var e = Assert.Throws<CardFormatException>(() => outer.Children);
        Assert.Equal(2, e.Offset);
    }

    [Theory]
    [InlineData(0x5Fu, false)]
    [InlineData(0x9F7F2Au, false)]
    [InlineData(0x5F80u, false)]
    [InlineData(0x00u, false)]
    [InlineData(0x53u, true)]
    [InlineData(0x7F49u, true)]
    [InlineData(0x5FC102u, true)]
    [InlineData(0x9F8101u, true)]
    public void IsValidTag_Cases(uint tag, bool valid)
    {
        Assert.Equal(valid, BerTlv.IsValidTag(tag));
        if (!valid)
        {
            Assert.Throws<ArgumentException>(() => BerTlv.Encode(tag, []));
        }
    }

    [Fact]
    public void Writer_NestedTemplates_EncodesAsExpected()
    {
        var writer = new TlvWriter();
        using (writer.Push(0x7C))
        {
            writer.Write(0x82, []);
            writer.Write(0x81, [0x01, 0x02]);
        }

        writer.Write(0x5FC102, [0xAA]);
        Assert.Equal("7C068200810201025FC10201AA", Convert.ToHexString(writer.ToArray()));
    }

    [Fact]
    public void ParseEncode_RandomTrees_RoundTrip()
    {
        var primitiveTags = Gen.Elements(0x80u, 0x81u, 0x82u, 0x4Fu, 0x5Cu, 0x5F2Fu, 0x5FC102u, 0x9F8101u);
        var constructedTags = Gen.Elements(0x7Cu, 0x7Eu, 0x7F49u, 0xBF8101u, 0x61u);
        var leaf =
            from tag in primitiveTags
            from length in Gen.Frequency((5, Gen.Choose(0, 40)), (1, Gen.Choose(120, 300)), (1, Gen.Choose(65530, 65540)))
            from seed in Gen.Choose(0, int.MaxValue)
            select BerTlv.Encode(tag, RandomBytes(seed, length));
        var node =
            from tag in constructedTags
            from children in Gen.ListOf(leaf).Select(l => l.Take(4).ToList())
            select BerTlv.Encode(tag, children.SelectMany(c => c).ToArray());
        var sequence = Gen.ListOf(Gen.OneOf(leaf, node)).Select(l => l.Take(3).SelectMany(x => x).ToArray());
        Prop.ForAll(sequence.ToArbitrary(), bytes =>
        {
            var nodes = BerTlv.Parse(bytes);
            var reencoded = nodes.SelectMany(n => n.IsConstructed
                ? BerTlv.Encode(n.Tag, n.Children.SelectMany(c => c.Encode()).ToArray())
                : n.Encode()).ToArray();
            return reencoded.AsSpan().SequenceEqual(bytes);
        }).QuickCheckThrowOnFailure();
    }

    private static byte[] RandomBytes(int seed, int length)
    {
        // FsCheck's fixed-length ArrayOf recurses per element; 64 KiB values would overflow the stack.
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    [Fact]
    public void Parse_RandomBytes_NeverThrowsAnythingButCardFormatException()
    {
        var random = new Random(8825);
        for (int i = 0; i < 50_000; i++)
        {
            var bytes = new byte[random.Next(0, 24)];
            random.NextBytes(bytes);
            try
            {
                foreach (var node in BerTlv.Parse(bytes))
                {
                    if (node.IsConstructed)
                    {
                        _ = node.Children.Count;
                    }
                }
            }
            catch (CardFormatException)
            {
                // The only acceptable failure.
            }
        }
    }

    // Regression: the params overload called itself with the concatenated byte[] and overflowed the stack.
    [Fact]
    public void EncodeConstructed_FromChildren_ConcatenatesChildren()
    {
        var encoded = BerTlv.EncodeConstructed(0x7C, BerTlv.Encode(0x82, ReadOnlySpan<byte>.Empty), BerTlv.Encode(0x81, [0xAA]));
        Assert.Equal("7C0582008101AA", Convert.ToHexString(encoded));
    }

    [Fact]
    public void Encode_ByteArrayValue_EqualsSpanEncoding()
    {
        byte[] value = [0x01, 0x02];
        Assert.Equal(BerTlv.Encode(0x53, value.AsSpan()), BerTlv.Encode(0x53, value));
    }

    [Fact]
    public void Parse_VendorTag5FFF10_ReadsThreeByteTag() =>
        Assert.Equal(0x5FFF10u, BerTlv.ParseSingle(Convert.FromHexString("5FFF1001AA")).Tag);
}
