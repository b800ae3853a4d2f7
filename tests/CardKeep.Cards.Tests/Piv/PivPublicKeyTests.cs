using System.Security.Cryptography;
using CardKeep.Cards.Piv;
using FsCheck;
using FsCheck.Fluent;

namespace CardKeep.Cards.Tests.Piv;

public class PivPublicKeyTests
{
    [Fact]
    public void Encode_P256_IsExactLibykpivLayout()
    {
        using var ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var q = ecdsa.ExportParameters(false).Q;
        var encoded = PivPublicKey.FromKey(ecdsa).Encode();
        Assert.Equal("7F49438641" + "04" + Hex.Of(q.X) + Hex.Of(q.Y), Hex.Of(encoded));
        Assert.Equal(2 + 1 + 2 + 65, encoded.Length);
    }

    [Fact]
    public void Encode_P384_IsExactLibykpivLayout()
    {
        using var ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        var q = ecdsa.ExportParameters(false).Q;
        Assert.Equal("7F49638661" + "04" + Hex.Of(q.X) + Hex.Of(q.Y), Hex.Of(PivPublicKey.FromKey(ecdsa).Encode()));
    }

    [Fact]
    public void Encode_Rsa2048_IsExactLibykpivLayout()
    {
        using var rsa = RSA.Create(2048);
        var n = rsa.ExportParameters(false).Modulus!;
        Assert.Equal("7F49820109" + "81820100" + Hex.Of(n) + "8203010001", Hex.Of(PivPublicKey.FromKey(rsa).Encode()));
    }

    [Fact]
    public void Parse_GeneratedLayouts_InfersAlgorithmAndConvertsToDotNet()
    {
        using var ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var parsed = PivPublicKey.Parse(PivPublicKey.FromKey(ecdsa).Encode());
        Assert.Equal(PivAlgorithm.EccP256, parsed.Algorithm);
        var hash = SHA256.HashData("data"u8);
        using var verifier = parsed.ToECDsa();
        Assert.True(verifier.VerifyHash(hash, ecdsa.SignHash(hash)));

        using var rsa = RSA.Create(2048);
        var rsaParsed = PivPublicKey.Parse(PivPublicKey.FromKey(rsa).Encode(), PivAlgorithm.Rsa2048);
        using var rsaVerifier = rsaParsed.ToRsa();
        Assert.True(rsaVerifier.VerifyHash(hash, rsa.SignHash(hash, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1), HashAlgorithmName.SHA256,
            RSASignaturePadding.Pkcs1));
    }

    [Fact]
    public void Parse_WrongExpectedAlgorithm_Throws()
    {
        using var ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        Assert.Throws<CardFormatException>(() => PivPublicKey.Parse(PivPublicKey.FromKey(ecdsa).Encode(), PivAlgorithm.EccP384));
    }

    [Theory]
    [InlineData("7F 49 03 86 01 04")]
    [InlineData("7F 49 04 81 02 80 01")]
    [InlineData("7F 49 02 82 00")]
    [InlineData("7F 48 02 86 00")]
    public void Parse_Malformed_Throws(string hex) =>
        Assert.Throws<CardFormatException>(() => PivPublicKey.Parse(Hex.Bytes(hex)));

    [Fact]
    public void Parse_ModulusWithLeadingZero_IsNormalised()
    {
        using var rsa = RSA.Create(1024);
        var p = rsa.ExportParameters(false);
        var key = PivPublicKey.FromRsa([0x00, .. p.Modulus!], [0x00, .. p.Exponent!]);
        Assert.Equal(PivAlgorithm.Rsa1024, key.Algorithm);
        Assert.Equal(128, key.Modulus.Length);
        Assert.Equal("010001", Hex.Of(key.Exponent));
    }

    [Theory]
    [InlineData(PivAlgorithm.Rsa2048)]
    [InlineData(PivAlgorithm.EccP256)]
    [InlineData(PivAlgorithm.EccP384)]
    public void SubjectPublicKeyInfo_DotNetKey_RoundTrips(PivAlgorithm algorithm)
    {
        using AsymmetricAlgorithm key = algorithm.IsRsa() ? RSA.Create(2048) : ECDsa.Create(algorithm.ToCurve());
        var spki = key.ExportSubjectPublicKeyInfo();
        var parsed = PivPublicKey.FromSubjectPublicKeyInfo(spki);
        Assert.Equal(algorithm, parsed.Algorithm);
        Assert.Equal(spki, parsed.ToSubjectPublicKeyInfo());
        Assert.Equal(spki, parsed.ToX509PublicKey().ExportSubjectPublicKeyInfo());
    }

    [Fact]
    public void SubjectPublicKeyInfo_Ed25519_RoundTripsRawKey()
    {
        // RFC 8410 §10.1 example public key.
        var spki = Hex.Bytes("302a300506032b6570032100 19bf44096984cdfe8541bac167dc3b96c85086aa30b6b6cb0c5c38ad703166e1");
        var key = PivPublicKey.FromSubjectPublicKeyInfo(spki);
        Assert.Equal(PivAlgorithm.Ed25519, key.Algorithm);
        Assert.Equal("7F4922862019BF44096984CDFE8541BAC167DC3B96C85086AA30B6B6CB0C5C38AD703166E1", Hex.Of(key.Encode()));
        Assert.Equal(spki, key.ToSubjectPublicKeyInfo());
        Assert.Throws<CardFormatException>(() => PivPublicKey.Parse(key.Encode()));
        Assert.True(PivPublicKey.Parse(key.Encode(), PivAlgorithm.Ed25519).KeyEquals(key));
    }

    [Fact]
    public void FromPoint_WrongLengthOrForm_Throws()
    {
        Assert.Throws<CryptographicException>(() => PivPublicKey.FromPoint(PivAlgorithm.EccP256, new byte[64]));
        Assert.Throws<CryptographicException>(() => PivPublicKey.FromPoint(PivAlgorithm.EccP256, [0x03, .. new byte[64]]));
    }

    [Fact]
    public void EncodeParse_RandomPoints_RoundTrip()
    {
        var points = from algorithm in Gen.Elements(PivAlgorithm.EccP256, PivAlgorithm.EccP384)
                     from xy in Gen.Choose(0, 255).Select(b => (byte)b).ArrayOf(2 * algorithm.KeyLength())
                     select PivPublicKey.FromPoint(algorithm, [0x04, .. xy]);
        Prop.ForAll(Arb.From(points), key => PivPublicKey.Parse(key.Encode()).KeyEquals(key)
                && PivPublicKey.ParseContent(key.EncodeContent(), key.Algorithm).KeyEquals(key))
            .QuickCheckThrowOnFailure();
    }
}
