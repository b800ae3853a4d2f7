using CardKeep.Cards.Piv;
using FsCheck;
using FsCheck.Fluent;

namespace CardKeep.Cards.Tests.Piv;

public class PivObjectEncodingTests
{
    [Theory]
    [InlineData(0x5FC102u, "5C035FC102")]
    [InlineData(0x7Eu, "5C017E")]
    [InlineData(0x7F61u, "5C027F61")]
    [InlineData(0x5FFF10u, "5C035FFF10")]
    public void GetDataRequest_Tag_EncodesTagList(uint tag, string expected)
    {
        Assert.Equal(expected, Hex.Of(PivObjectEncoding.GetDataRequest(tag)));
        Assert.Equal(tag, PivObjectEncoding.ParseGetDataRequest(Hex.Bytes(expected)));
    }

    [Fact]
    public void PutDataRequest_EmptyContent_IsDelete()
    {
        Assert.Equal("5C035FC10A5300", Hex.Of(PivObjectEncoding.PutDataRequest(0x5FC10A, [])));
        var (tag, content) = PivObjectEncoding.ParsePutDataRequest(Hex.Bytes("5C035FC10A5300"));
        Assert.Equal(0x5FC10Au, tag);
        Assert.True(content.IsEmpty);
    }

    [Fact]
    public void PutDataRequest_Discovery_IsNotWrapped()
    {
        var discovery = Hex.Bytes("7E 12 4F 0B A0 00 00 03 08 00 00 10 00 01 00 5F 2F 02 40 00");
        var data = PivObjectEncoding.PutDataRequest(0x7E, discovery);
        Assert.Equal("5C017E" + Hex.Of(discovery), Hex.Of(data));
        var (tag, content) = PivObjectEncoding.ParsePutDataRequest(data);
        Assert.Equal(0x7Eu, tag);
        Assert.Equal(discovery, content.ToArray());
        Assert.Equal(discovery, PivObjectEncoding.GetDataResponse(0x7E, content.Span));
        Assert.Equal(discovery, PivObjectEncoding.ParseGetDataResponse(0x7E, discovery).ToArray());
    }

    [Fact]
    public void ParsePutDataRequest_WrongContainerTag_Throws()
    {
        Assert.Throws<CardFormatException>(() => PivObjectEncoding.ParsePutDataRequest(Hex.Bytes("5C035FC1055401AA")));
        Assert.Throws<CardFormatException>(() => PivObjectEncoding.ParsePutDataRequest(Hex.Bytes("5C045FC1050153")));
        Assert.Throws<CardFormatException>(() => PivObjectEncoding.ParseGetDataResponse(0x5FC102, Hex.Bytes("5401AA")));
    }

    [Fact]
    public void EncodeTag_TooLong_Throws() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => PivObjectEncoding.EncodeTag(0x5FC1C1C1));

    [Fact]
    public void PutAndGetData_AnyContent_RoundTrips()
    {
        var tags = Gen.Elements(PivDataObject.All.Select(o => o.Tag).Where(t => !PivDataObject.IsSelfTaggedTag(t)).ToArray());
        var contents = Gen.Choose(0, 255).Select(b => (byte)b).ArrayOf().Resize(4000);
        Prop.ForAll(Arb.From(tags), Arb.From(contents), (tag, content) =>
        {
            var (parsedTag, parsed) = PivObjectEncoding.ParsePutDataRequest(PivObjectEncoding.PutDataRequest(tag, content));
            var response = PivObjectEncoding.GetDataResponse(parsedTag, parsed.Span);
            return parsedTag == tag
                && parsed.Span.SequenceEqual(content)
                && PivObjectEncoding.ParseGetDataResponse(tag, response).Span.SequenceEqual(content);
        }).QuickCheckThrowOnFailure();
    }
}
