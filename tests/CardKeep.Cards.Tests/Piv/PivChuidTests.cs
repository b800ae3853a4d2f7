using CardKeep.Cards.Piv;
using FsCheck;
using FsCheck.Fluent;

namespace CardKeep.Cards.Tests.Piv;

public class PivChuidTests
{
    // The FASC-N in the CHUID template of yubico-piv-tool 2.x (agency 9999), used as an interop vector.
    private const string YubicoFascn = "D4 E7 39 DA 73 9C ED 39 CE 73 9D 83 68 58 21 08 42 10 84 21 C8 42 10 C3 EB";

    [Fact]
    public void Fascn_NonFederal_StartsWithAgency9999Prefix()
    {
        var bytes = Fascn.NonFederal.Encode();
        Assert.Equal(25, bytes.Length);
        Assert.StartsWith("D4E739", Hex.Of(bytes), StringComparison.Ordinal);
        Assert.True(Fascn.Parse(bytes).IsNonFederal);
    }

    [Fact]
    public void Fascn_YubicoTemplate_DecodesAndReencodesExactly()
    {
        var fascn = Fascn.Parse(Hex.Bytes(YubicoFascn));
        Assert.Equal("9999", fascn.AgencyCode);
        Assert.Equal("9999", fascn.SystemCode);
        Assert.Equal("999999", fascn.CredentialNumber);
        Assert.Equal(Hex.Bytes(YubicoFascn), fascn.Encode());
    }

    [Fact]
    public void Fascn_FlippedBit_FailsParity()
    {
        var bytes = Fascn.NonFederal.Encode();
        bytes[5] ^= 0x10;
        Assert.Throws<CardFormatException>(() => Fascn.Parse(bytes));
    }

    [Fact]
    public void Fascn_NonDigitField_Throws() =>
        Assert.Throws<ArgumentException>(() => (Fascn.NonFederal with { AgencyCode = "99A9" }).Encode());

    [Fact]
    public void Fascn_RandomDigits_RoundTrip()
    {
        Gen<string> Digits(int n) => Gen.Choose(0, 9).Select(d => (char)('0' + d)).ArrayOf(n).Select(c => new string(c));
        var gen = from agency in Digits(4)
                  from system in Digits(4)
                  from credential in Digits(6)
                  from series in Digits(1)
                  from issue in Digits(1)
                  from person in Digits(10)
                  from category in Digits(1)
                  from organization in Digits(4)
                  from association in Digits(1)
                  select new Fascn(agency, system, credential, series, issue, person, category, organization, association);
        Prop.ForAll(Arb.From(gen), f => Fascn.Parse(f.Encode()) == f).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void Encode_YubicoLayout_MatchesTemplateShape()
    {
        var chuid = new PivChuid(Hex.Bytes(YubicoFascn), new byte[16], new DateOnly(2030, 1, 1));
        var expected = "30 19 " + YubicoFascn + " 34 10 " + string.Concat(Enumerable.Repeat("00 ", 16))
            + "35 08 32 30 33 30 30 31 30 31 3E 00 FE 00";
        Assert.Equal(Hex.Bytes(expected), chuid.Encode());
    }

    [Fact]
    public void Create_CardUuid_IsReadBack()
    {
        var uuid = Guid.Parse("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0");
        var parsed = PivChuid.Parse(PivChuid.Create(uuid, new DateOnly(2035, 12, 31)).Encode());
        Assert.Equal(uuid, parsed.CardUuid);
        Assert.Equal("0F1E2D3C4B5A69788796A5B4C3D2E1F0", Hex.Of(parsed.CardUuidBytes));
        Assert.Equal(new DateOnly(2035, 12, 31), parsed.Expiration);
        Assert.Equal(Fascn.NonFederal, parsed.Fascn);
        Assert.True(parsed.IssuerSignature.IsEmpty);
    }

    [Theory]
    [InlineData("34 10 00000000000000000000000000000000 35 08 3230333030313031")]
    [InlineData("30 02 0000 34 10 00000000000000000000000000000000 35 08 3230333030313031")]
    public void Parse_MissingOrShortElements_Throws(string hex) =>
        Assert.Throws<CardFormatException>(() => PivChuid.Parse(Hex.Bytes(hex)));

    [Fact]
    public void Parse_BadExpiry_Throws()
    {
        var bytes = PivChuid.Create(Guid.NewGuid(), new DateOnly(2030, 1, 1)).Encode();
        int at = Hex.Of(bytes).IndexOf("3508", StringComparison.Ordinal) / 2 + 2;
        bytes[at + 4] = (byte)'9';
        Assert.Throws<CardFormatException>(() => PivChuid.Parse(bytes));
    }

    [Fact]
    public void EncodeParse_RandomChuids_RoundTrip()
    {
        var bytes16 = Gen.Choose(0, 255).Select(b => (byte)b).ArrayOf(16);
        var dates = Gen.Choose(0, 36000).Select(d => DateOnly.FromDayNumber(730000 + d));
        var signatures = Gen.Choose(0, 255).Select(b => (byte)b).ArrayOf().Resize(300);
        var gen = from uuid in bytes16
                  from date in dates
                  from signature in signatures
                  select new PivChuid(Fascn.NonFederal.Encode(), uuid, date, signature, cardholderUuid: uuid);
        Prop.ForAll(Arb.From(gen), c =>
        {
            var p = PivChuid.Parse(c.Encode());
            return p.CardUuidBytes.Span.SequenceEqual(c.CardUuidBytes.Span) && p.Expiration == c.Expiration
                && p.IssuerSignature.Span.SequenceEqual(c.IssuerSignature.Span) && p.CardholderUuid.Span.SequenceEqual(c.CardholderUuid.Span)
                && p.Encode().AsSpan().SequenceEqual(c.Encode());
        }).QuickCheckThrowOnFailure();
    }
}
