using System.Numerics;
using System.Security.Cryptography;
using CardKeep.Cards.Piv;

namespace CardKeep.Cards.Tests.Piv;

public class PivPrivateKeyTests
{
    private static readonly int[] _smallPrimes = [3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 257];

    private static BigInteger Big(byte[]? bytes) => new(bytes, isUnsigned: true, isBigEndian: true);

    private static byte[] Bytes(BigInteger value, int length)
    {
        var raw = value.ToByteArray(isUnsigned: true, isBigEndian: true);
        return [.. new byte[length - raw.Length], .. raw];
    }

    [Fact]
    public void EncodeImportData_Rsa2048_IsYubicoLayout()
    {
        using var rsa = RSA.Create(2048);
        var p = rsa.ExportParameters(true);
        using var key = PivPrivateKey.FromKey(rsa);
        var data = key.EncodeImportData(new PivKeyPolicy(PinPolicy.Once, TouchPolicy.Never));
        var expected = "018180" + Hex.Of(p.P) + "028180" + Hex.Of(p.Q) + "038180" + Hex.Of(p.DP) + "048180" + Hex.Of(p.DQ)
            + "058180" + Hex.Of(p.InverseQ) + "AA0102" + "AB0101";
        Assert.Equal(expected, Hex.Of(data));
    }

    [Fact]
    public void EncodeImportData_Rsa1024_PadsComponentsTo64Bytes()
    {
        using var rsa = RSA.Create(1024);
        using var key = PivPrivateKey.FromKey(rsa);
        var nodes = CardKeep.Cards.Iso7816.BerTlv.Parse(key.EncodeImportData());
        Assert.Equal([1u, 2u, 3u, 4u, 5u], nodes.Select(n => n.Tag));
        Assert.All(nodes, n => Assert.Equal(64, n.Value.Length));
    }

    [Theory]
    [InlineData(PivAlgorithm.EccP256, "0620")]
    [InlineData(PivAlgorithm.EccP384, "0630")]
    public void EncodeImportData_Ec_IsTag06PaddedScalar(PivAlgorithm algorithm, string header)
    {
        using var ecdsa = ECDsa.Create(algorithm.ToCurve());
        var d = ecdsa.ExportParameters(true).D!;
        using var key = PivPrivateKey.FromKey(ecdsa);
        Assert.Equal(header + Hex.Of(d) + "AB0102", Hex.Of(key.EncodeImportData(new PivKeyPolicy(PinPolicy.Default, TouchPolicy.Always))));
    }

    [Fact]
    public void ParseImportData_Rsa_ReconstructsFullKeyThatSigns()
    {
        using var rsa = RSA.Create(2048);
        var original = rsa.ExportParameters(true);
        using var imported = PivPrivateKey.FromKey(rsa);
        var data = imported.EncodeImportData(new PivKeyPolicy(PinPolicy.Always, TouchPolicy.Cached));

        using var parsed = PivPrivateKey.ParseImportData(PivAlgorithm.Rsa2048, data, out var policy);
        Assert.Equal(new PivKeyPolicy(PinPolicy.Always, TouchPolicy.Cached), policy);
        var rebuilt = parsed.ExportRsaParameters();
        Assert.Equal(original.Modulus, rebuilt.Modulus);
        Assert.Equal(original.Exponent, rebuilt.Exponent);
        Assert.Equal(Big(original.D) % ((Big(original.P) - 1) * (Big(original.Q) - 1) / BigInteger.GreatestCommonDivisor(Big(original.P) - 1, Big(original.Q) - 1)),
            Big(rebuilt.D));

        using var signer = parsed.CreateRsa();
        var signature = signer.SignData("message"u8.ToArray(), HashAlgorithmName.SHA256, RSASignaturePadding.Pss);
        Assert.True(rsa.VerifyData("message"u8.ToArray(), signature, HashAlgorithmName.SHA256, RSASignaturePadding.Pss));
        var pkcs8 = parsed.ExportPkcs8();
        using var fromPkcs8 = PivPrivateKey.FromPkcs8(pkcs8);
        Assert.True(fromPkcs8.PublicKey.KeyEquals(imported.PublicKey));
    }

    [Fact]
    public void FromRsaCrt_ExponentOtherThan65537_IsSolvedByCrt()
    {
        using var rsa = RSA.Create(2048);
        var k = rsa.ExportParameters(true);
        BigInteger p = Big(k.P), q = Big(k.Q), p1 = p - 1, q1 = q - 1;
        var lambda = p1 * q1 / BigInteger.GreatestCommonDivisor(p1, q1);
        BigInteger e = _smallPrimes.Select(x => new BigInteger(x)).First(x => BigInteger.GreatestCommonDivisor(x, lambda).IsOne);
        var d = ModInverse(e, lambda);

        using var key = PivPrivateKey.FromRsaCrt(k.P, k.Q, Bytes(d % p1, 128), Bytes(d % q1, 128), k.InverseQ);
        var rebuilt = key.ExportRsaParameters();
        Assert.Equal(e, Big(rebuilt.Exponent));
        Assert.Equal(d, Big(rebuilt.D));
        using var signer = key.CreateRsa();
        using var verifier = key.PublicKey.ToRsa();
        var hash = SHA256.HashData("x"u8);
        Assert.True(verifier.VerifyHash(hash, signer.SignHash(hash, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1), HashAlgorithmName.SHA256,
            RSASignaturePadding.Pkcs1));
    }

    [Fact]
    public void ParseImportData_MinimalRsaComponents_AreAccepted()
    {
        using var rsa = RSA.Create(1024);
        var k = rsa.ExportParameters(true);
        static byte[] Tlv(byte tag, byte[] value) => [tag, (byte)value.Length, .. value];
        static byte[] Strip(byte[] value) => value.SkipWhile(b => b == 0).ToArray();
        byte[] data = [.. Tlv(1, Strip(k.P!)), .. Tlv(2, Strip(k.Q!)), .. Tlv(3, Strip(k.DP!)), .. Tlv(4, Strip(k.DQ!)), .. Tlv(5, Strip(k.InverseQ!))];
        using var key = PivPrivateKey.ParseImportData(PivAlgorithm.Rsa1024, data, out var policy);
        Assert.Equal(PivKeyPolicy.Default, policy);
        Assert.Equal(k.Modulus, key.PublicKey.Modulus.ToArray());
    }

    [Fact]
    public void ParseImportData_OneByteEcScalar_IsLeftPadded()
    {
        using var key = PivPrivateKey.ParseImportData(PivAlgorithm.EccP256, Hex.Bytes("06 01 01"), out _);
        using var reference = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var generator = reference.ExportExplicitParameters(false).Curve.G;
        Assert.Equal("04" + Hex.Of(generator.X) + Hex.Of(generator.Y), Hex.Of(key.PublicKey.Point));
        Assert.Equal(32, key.ExportECParameters().D!.Length);
    }

    [Fact]
    public void ParseImportData_InconsistentComponents_Throws()
    {
        using var rsa = RSA.Create(1024);
        using var key = PivPrivateKey.FromKey(rsa);
        var data = key.EncodeImportData();
        data[^1] ^= 0x01;
        Assert.Throws<CardFormatException>(() => PivPrivateKey.ParseImportData(PivAlgorithm.Rsa1024, data, out _));
    }

    [Fact]
    public void ParseImportData_WrongAlgorithmForSize_Throws()
    {
        using var rsa = RSA.Create(1024);
        using var key = PivPrivateKey.FromKey(rsa);
        Assert.Throws<CardFormatException>(() => PivPrivateKey.ParseImportData(PivAlgorithm.Rsa2048, key.EncodeImportData(), out _));
    }

    [Fact]
    public void ParseImportData_Ec_DerivesPublicPointAndSigns()
    {
        using var ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var original = PivPrivateKey.FromKey(ecdsa);
        using var parsed = PivPrivateKey.ParseImportData(PivAlgorithm.EccP256, original.EncodeImportData(), out _);
        Assert.True(parsed.PublicKey.KeyEquals(original.PublicKey));
        using var signer = parsed.CreateECDsa();
        var hash = SHA256.HashData("m"u8);
        Assert.True(ecdsa.VerifyHash(hash, signer.SignHash(hash)));
    }

    [Theory]
    [InlineData("06 20 0000000000000000000000000000000000000000000000000000000000000000")]
    [InlineData("06 20 FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF")]
    [InlineData("06 21 01 0000000000000000000000000000000000000000000000000000000000000001")]
    [InlineData("07 01 01")]
    public void ParseImportData_BadEcScalar_Throws(string hex) =>
        Assert.Throws<CardFormatException>(() => PivPrivateKey.ParseImportData(PivAlgorithm.EccP256, Hex.Bytes(hex), out _));

    [Fact]
    public void Dispose_Called_ZeroesKeyMaterial()
    {
        using var ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var key = PivPrivateKey.FromKey(ecdsa);
        var borrowed = key.Ec.D!;
        key.Dispose();
        Assert.All(borrowed, b => Assert.Equal(0, b));
        Assert.Throws<ObjectDisposedException>(() => key.EncodeImportData());
    }

    [Fact]
    public void FromPkcs8_UnsupportedAlgorithm_Throws()
    {
        // RFC 8410 §10.3 Ed25519 private key.
        var pkcs8 = Hex.Bytes("302e020100300506032b657004220420d4ee72dbf913584ad5b6d8f1f769f8ad3afe7c28cbf1d4fbe097a88f44755842");
        Assert.Throws<CryptographicException>(() => PivPrivateKey.FromPkcs8(pkcs8));
    }

    private static BigInteger ModInverse(BigInteger a, BigInteger m)
    {
        BigInteger oldR = a, r = m, oldS = 1, s = 0;
        while (!r.IsZero)
        {
            var quotient = oldR / r;
            (oldR, r) = (r, oldR - (quotient * r));
            (oldS, s) = (s, oldS - (quotient * s));
        }

        return ((oldS % m) + m) % m;
    }
}
