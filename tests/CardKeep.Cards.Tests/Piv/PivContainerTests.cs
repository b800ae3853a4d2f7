using CardKeep.Cards.Piv;
using FsCheck;
using FsCheck.Fluent;

namespace CardKeep.Cards.Tests.Piv;

public class PivContainerTests
{
    [Fact]
    public void CccCreate_ZeroCardId_MatchesYubicoTemplate()
    {
        const string template = "F0 15 A0 00 00 01 16 FF 02 00 00 00 00 00 00 00 00 00 00 00 00 00 00 F1 01 21 F2 01 21 F3 00 F4 01 00"
            + " F5 01 10 F6 00 F7 00 FA 00 FB 00 FC 00 FD 00 FE 00";
        Assert.Equal(Hex.Bytes(template), PivCardCapabilityContainer.Create(new byte[14]));
    }

    [Fact]
    public void CccCreate_NoCardId_IsRandom() =>
        Assert.NotEqual(PivCardCapabilityContainer.Create(), PivCardCapabilityContainer.Create());

    [Fact]
    public void CccParse_RandomCardIds_RoundTrip() =>
        Prop.ForAll(Arb.From(Gen.Choose(0, 255).Select(b => (byte)b).ArrayOf(14)), id =>
        {
            var ccc = PivCardCapabilityContainer.Parse(PivCardCapabilityContainer.Create(id));
            return ccc.CardId.Span.SequenceEqual(id) && ccc.ContainerVersion == 0x21 && ccc.GrammarVersion == 0x21
                && ccc.DataModelNumber == 0x10 && ccc.Elements.Count == 13;
        }).QuickCheckThrowOnFailure();

    [Fact]
    public void CccParse_NoCardIdentifier_Throws() =>
        Assert.Throws<CardFormatException>(() => PivCardCapabilityContainer.Parse(Hex.Bytes("F1 01 21")));

    [Fact]
    public void CertificateEncode_Uncompressed_MatchesYubicoLayout()
    {
        var content = PivCertificateContainer.Encode(Hex.Bytes("3003020101"));
        Assert.Equal("70053003020101" + "710100" + "FE00", Hex.Of(content));
        Assert.Equal("5C035FC105" + "530C" + Hex.Of(content), Hex.Of(PivObjectEncoding.PutDataRequest(0x5FC105, content)));
    }

    [Fact]
    public void CertificateEncode_Compressed_SetsFlagAndGzips()
    {
        var der = Enumerable.Repeat((byte)0x30, 2000).ToArray();
        var content = PivCertificateContainer.Encode(der, compress: true);
        Assert.True(content.Length < 200);
        Assert.Contains("710101FE00", Hex.Of(content), StringComparison.Ordinal);
        Assert.Equal(der, PivCertificateContainer.Decode(content, out bool compressed));
        Assert.True(compressed);
    }

    [Fact]
    public void CertificateDecode_OnlyTag70_IsAccepted() =>
        Assert.Equal(Hex.Bytes("3000"), PivCertificateContainer.Decode(Hex.Bytes("70023000")));

    [Fact]
    public void CertificateDecode_BadGzip_Throws() =>
        Assert.Throws<CardFormatException>(() => PivCertificateContainer.Decode(Hex.Bytes("7003010203 710101")));

    [Fact]
    public void CertificateDecode_GzipBomb_Throws()
    {
        var content = PivCertificateContainer.Encode(new byte[PivCertificateContainer.MaxDecompressedLength + 1], compress: true);
        Assert.Throws<CardFormatException>(() => PivCertificateContainer.Decode(content));
    }

    [Fact]
    public void CertificateEncodeDecode_AnyBytes_RoundTrip() =>
        Prop.ForAll(Arb.From(Gen.Choose(0, 255).Select(b => (byte)b).ArrayOf().Where(a => a.Length > 0).Resize(3000)), Arb.From(Gen.Elements(true, false)),
            (der, compress) => PivCertificateContainer.Decode(PivCertificateContainer.Encode(der, compress)).AsSpan().SequenceEqual(der))
            .QuickCheckThrowOnFailure();
}
