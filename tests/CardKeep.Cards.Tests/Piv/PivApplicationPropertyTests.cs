using CardKeep.Cards.Piv;
using FsCheck;
using FsCheck.Fluent;

namespace CardKeep.Cards.Tests.Piv;

public class PivApplicationPropertyTests
{
    // The YubiKey APT from the yubico-piv-tool#448 trace (spec §2.1).
    private const string YubiKeyApt = "61 11 4F 06 00 00 10 00 01 00 79 07 4F 05 A0 00 00 03 08";

    [Fact]
    public void Encode_YubiKey_MatchesTraceBytes() =>
        Assert.Equal(Hex.Bytes(YubiKeyApt), PivApplicationProperty.YubiKey.Encode());

    [Fact]
    public void Parse_YubiKeyTrace_ReadsPixAuthorityAndVersion()
    {
        var apt = PivApplicationProperty.Parse(Hex.Bytes(YubiKeyApt));
        Assert.Equal("000010000100", Hex.Of(apt.Aid));
        Assert.Equal("A000000308", Hex.Of(apt.AuthorityAid));
        Assert.Equal(new Version(1, 0), apt.ApplicationVersion);
        Assert.True(apt.IsPiv);
        Assert.Null(apt.Label);
        Assert.Null(apt.Algorithms);
    }

    [Fact]
    public void Parse_FullAidWithOptionalElements_ReadsThem()
    {
        var apt = new PivApplicationProperty(PivAid.Full, PivAid.NistRid, "CardKeep PIV", "https://example.org/piv",
            [PivAlgorithm.Rsa2048, PivAlgorithm.EccP256]);
        var parsed = PivApplicationProperty.Parse(apt.Encode());
        Assert.Equal(new Version(1, 0), parsed.ApplicationVersion);
        Assert.Equal("CardKeep PIV", parsed.Label);
        Assert.Equal("https://example.org/piv", parsed.Url);
        Assert.Equal([PivAlgorithm.Rsa2048, PivAlgorithm.EccP256], parsed.Algorithms);
        Assert.Contains("AC08800107800111" + "0600", Hex.Of(apt.Encode()), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("6F 03 4F 01 00")]
    [InlineData("61 03 50 01 41")]
    public void Parse_NotAnAptOrMissingAid_Throws(string hex) =>
        Assert.Throws<CardFormatException>(() => PivApplicationProperty.Parse(Hex.Bytes(hex)));

    [Fact]
    public void Parse_NonPivAid_IsNotPiv() =>
        Assert.False(PivApplicationProperty.Parse(Hex.Bytes("61 07 4F 05 A0 00 00 00 01")).IsPiv);

    [Fact]
    public void EncodeParse_RandomTemplates_RoundTrip()
    {
        var bytes = Gen.Choose(0, 255).Select(b => (byte)b).ArrayOf();
        var text = Gen.Elements("abcXYZ019 :/.-".ToCharArray()).ArrayOf().Select(c => new string(c));
        var algorithms = Gen.Elements(Enum.GetValues<PivAlgorithm>()).ListOf();
        var templates = Gen.Zip(Gen.Zip(bytes.Where(b => b.Length > 0), bytes), Gen.Zip(text.OrNull(), algorithms.OrNull()))
            .Select(t => new PivApplicationProperty(t.Item1.Item1, t.Item1.Item2, t.Item2.Item1, null, t.Item2.Item2?.ToList()));
        Prop.ForAll(Arb.From(templates), apt =>
        {
            var parsed = PivApplicationProperty.Parse(apt.Encode());
            return parsed.Aid.Span.SequenceEqual(apt.Aid.Span)
                && parsed.AuthorityAid.Span.SequenceEqual(apt.AuthorityAid.Span)
                && parsed.Label == apt.Label
                && (parsed.Algorithms ?? []).SequenceEqual(apt.Algorithms ?? []);
        }).QuickCheckThrowOnFailure();
    }
}
