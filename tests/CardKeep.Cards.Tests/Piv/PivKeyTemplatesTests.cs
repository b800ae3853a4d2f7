using CardKeep.Cards.Piv;
using FsCheck;
using FsCheck.Fluent;

namespace CardKeep.Cards.Tests.Piv;

public class PivKeyTemplatesTests
{
    [Fact]
    public void GenerationTemplate_DefaultPolicies_IsOpenScForm() =>
        Assert.Equal("AC03800111", Hex.Of(new PivKeyGenerationTemplate(PivAlgorithm.EccP256).Encode()));

    [Fact]
    public void GenerationTemplate_WithPolicies_AddsAaAb() =>
        Assert.Equal("AC09800107AA0102AB0103",
            Hex.Of(new PivKeyGenerationTemplate(PivAlgorithm.Rsa2048, new PivKeyPolicy(PinPolicy.Once, TouchPolicy.Cached)).Encode()));

    [Fact]
    public void GenerationTemplate_ManagementAlgorithm_Throws() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new PivKeyGenerationTemplate(PivAlgorithm.TripleDes).Encode());

    [Theory]
    [InlineData("AC 03 81 01 11")]
    [InlineData("AC 04 80 02 11 11")]
    [InlineData("AC 06 80 01 11 AA 01 09")]
    [InlineData("AD 03 80 01 11")]
    public void GenerationTemplate_Malformed_Throws(string hex) =>
        Assert.Throws<CardFormatException>(() => PivKeyGenerationTemplate.Parse(Hex.Bytes(hex)));

    [Fact]
    public void GenerationTemplate_AnyPolicy_RoundTrips()
    {
        var gen = from algorithm in Gen.Elements(Enum.GetValues<PivAlgorithm>().Where(a => a.IsAsymmetric()).ToArray())
                  from pin in Gen.Elements(Enum.GetValues<PinPolicy>())
                  from touch in Gen.Elements(Enum.GetValues<TouchPolicy>())
                  select new PivKeyGenerationTemplate(algorithm, new PivKeyPolicy(pin, touch));
        Prop.ForAll(Arb.From(gen), t => PivKeyGenerationTemplate.Parse(t.Encode()) == t).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void Metadata_PinForm_EncodesYubicoLayout()
    {
        var metadata = new PivMetadata
        {
            AlgorithmId = PivMetadata.PinAlgorithm,
            Policy = new PivKeyPolicy(PinPolicy.Default, TouchPolicy.Default),
            IsDefault = true,
            RetriesTotal = 3,
            RetriesRemaining = 2,
        };
        Assert.Equal("0101FF" + "02020000" + "050101" + "06020302", Hex.Of(metadata.Encode()));
        var parsed = PivMetadata.Parse(metadata.Encode());
        Assert.Null(parsed.Algorithm);
        Assert.Equal((byte?)0xFF, parsed.AlgorithmId);
        Assert.Equal(2, parsed.RetriesRemaining);
        Assert.True(parsed.IsDefault);
    }

    [Fact]
    public void Metadata_KeySlot_RoundTripsPublicKey()
    {
        using var ecdsa = System.Security.Cryptography.ECDsa.Create(PivAlgorithm.EccP384.ToCurve());
        using var key = PivPrivateKey.FromKey(ecdsa);
        var metadata = new PivMetadata
        {
            AlgorithmId = (byte)PivAlgorithm.EccP384,
            Policy = new PivKeyPolicy(PinPolicy.Always, TouchPolicy.Never),
            Origin = PivKeyOrigin.Generated,
            PublicKey = key.PublicKey,
        };
        var encoded = metadata.Encode();
        Assert.StartsWith("010114" + "02020301" + "030101" + "0463" + "8661", Hex.Of(encoded), StringComparison.Ordinal);
        var parsed = PivMetadata.Parse(encoded);
        Assert.Equal(PivAlgorithm.EccP384, parsed.Algorithm);
        Assert.Equal(PivKeyOrigin.Generated, parsed.Origin);
        Assert.True(parsed.PublicKey!.KeyEquals(key.PublicKey));
        Assert.Null(parsed.RetriesTotal);
    }

    [Fact]
    public void Metadata_WrongElementLength_Throws() =>
        Assert.Throws<CardFormatException>(() => PivMetadata.Parse(Hex.Bytes("06 01 03")));

    [Fact]
    public void Metadata_RandomFields_RoundTrip()
    {
        var gen = from algorithm in Gen.Elements<byte?>(null, 0x03, 0x08, 0x0A, 0x0C, 0x11, 0xFF)
                  from retries in Gen.Choose(0, 15)
                  from flag in Gen.Elements(true, false)
                  select new PivMetadata { AlgorithmId = algorithm, RetriesTotal = 15, RetriesRemaining = retries, IsDefault = flag };
        Prop.ForAll(Arb.From(gen), m =>
        {
            var p = PivMetadata.Parse(m.Encode());
            return p.AlgorithmId == m.AlgorithmId && p.RetriesRemaining == m.RetriesRemaining && p.IsDefault == m.IsDefault;
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void Version_ThreeBytes_ParsesAndOrders()
    {
        var version = YubicoVersion.Parse(Hex.Bytes("050403"));
        Assert.Equal("5.4.3", version.ToString());
        Assert.Equal("050403", Hex.Of(version.Encode()));
        Assert.True(version >= new YubicoVersion(5, 4, 2));
        Assert.True(version < new YubicoVersion(5, 7, 0));
        Assert.Throws<CardFormatException>(() => YubicoVersion.Parse(Hex.Bytes("0504")));
    }

    [Fact]
    public void Serial_FourBytesBigEndian_RoundTrips()
    {
        Assert.Equal(0x01020304u, YubicoSerial.Parse(Hex.Bytes("01020304")));
        Prop.ForAll<uint>(serial => YubicoSerial.Parse(YubicoSerial.Encode(serial)) == serial).QuickCheckThrowOnFailure();
        Assert.Throws<CardFormatException>(() => YubicoSerial.Parse(Hex.Bytes("010203")));
    }
}
