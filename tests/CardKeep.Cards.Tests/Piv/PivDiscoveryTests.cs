using CardKeep.Cards.Piv;
using FsCheck;
using FsCheck.Fluent;

namespace CardKeep.Cards.Tests.Piv;

public class PivDiscoveryTests
{
    private const string Expected = "7E 12 4F 0B A0 00 00 03 08 00 00 10 00 01 00 5F 2F 02 40 00";

    [Fact]
    public void Encode_Default_MatchesSpecBytes() => Assert.Equal(Hex.Bytes(Expected), PivDiscovery.Default.Encode());

    [Fact]
    public void Parse_SpecBytes_ReadsPivPinPolicy()
    {
        var discovery = PivDiscovery.Parse(Hex.Bytes(Expected));
        Assert.Equal(0x4000, discovery.PinUsagePolicy);
        Assert.True(discovery.PivPinSatisfiesAccess);
        Assert.False(discovery.GlobalPinSatisfiesAccess);
        Assert.False(discovery.GlobalPinIsPrimary);
        Assert.Equal(Hex.Bytes("A0000003080000100001 00"), discovery.Aid.ToArray());
    }

    [Fact]
    public void Parse_Policy6020_GlobalPinIsPrimary()
    {
        var discovery = PivDiscovery.Parse(new PivDiscovery(0x6020).Encode());
        Assert.True(discovery.GlobalPinSatisfiesAccess);
        Assert.True(discovery.GlobalPinIsPrimary);
    }

    [Theory]
    [InlineData("7E 12 4F 0B A0 00 00 03 09 00 00 10 00 01 00 5F 2F 02 40 00")]
    [InlineData("7E 0D 4F 0B A0 00 00 03 08 00 00 10 00 01 00")]
    [InlineData("7E 11 4F 0B A0 00 00 03 08 00 00 10 00 01 00 5F 2F 01 40")]
    [InlineData("53 12 4F 0B A0 00 00 03 08 00 00 10 00 01 00 5F 2F 02 40 00")]
    public void Parse_Malformed_Throws(string hex) =>
        Assert.Throws<CardFormatException>(() => PivDiscovery.Parse(Hex.Bytes(hex)));

    [Fact]
    public void EncodeParse_AnyPolicy_RoundTrips() =>
        Prop.ForAll<ushort>(policy => PivDiscovery.Parse(new PivDiscovery(policy).Encode()).PinUsagePolicy == policy)
            .QuickCheckThrowOnFailure();
}
