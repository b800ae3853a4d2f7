using System.Formats.Asn1;
using System.Numerics;
using System.Security.Cryptography;
using CardKeep.Cards.Piv;

namespace CardKeep.Cards.Tests.Piv;

public class PivCardCryptoTests
{
    [Theory]
    [InlineData(1024)]
    [InlineData(2048)]
    public void RsaPrivateOperation_Pkcs1SignatureBlock_EqualsDotNetSignHash(int bits)
    {
        using var rsa = RSA.Create(bits);
        using var key = PivPrivateKey.FromKey(rsa);
        var hash = SHA256.HashData("to be signed"u8);
        var block = PivRsaPadding.PadSignature(hash, HashAlgorithmName.SHA256, bits / 8);
        Assert.Equal("0001FFFF", Hex.Of(block.AsSpan(0, 4)));

        var signature = PivCardCrypto.RsaPrivateOperation(key, block);
        Assert.Equal(rsa.SignHash(hash, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1), signature);
    }

    [Fact]
    public void RsaPrivateOperation_DotNetPkcs1Ciphertext_GivesType2BlockEndingInPlaintext()
    {
        using var rsa = RSA.Create(2048);
        using var key = PivPrivateKey.FromKey(rsa);
        var plaintext = "session key material"u8.ToArray();
        var block = PivCardCrypto.RsaPrivateOperation(key, rsa.Encrypt(plaintext, RSAEncryptionPadding.Pkcs1));
        Assert.Equal(256, block.Length);
        Assert.Equal(0x00, block[0]);
        Assert.Equal(0x02, block[1]);
        Assert.Equal(0x00, block[^(plaintext.Length + 1)]);
        Assert.Equal(plaintext, block[^plaintext.Length..]);
        Assert.Equal(plaintext, PivRsaPadding.UnpadEncryption(block));
    }

    [Fact]
    public void RsaPrivateOperation_ReconstructedImportKey_StillSigns()
    {
        using var rsa = RSA.Create(2048);
        using var original = PivPrivateKey.FromKey(rsa);
        using var imported = PivPrivateKey.ParseImportData(PivAlgorithm.Rsa2048, original.EncodeImportData(), out _);
        var hash = SHA384.HashData("x"u8);
        var block = PivRsaPadding.PadSignature(hash, HashAlgorithmName.SHA384, 256);
        Assert.True(rsa.VerifyHash(hash, PivCardCrypto.RsaPrivateOperation(imported, block), HashAlgorithmName.SHA384, RSASignaturePadding.Pkcs1));
    }

    [Fact]
    public void RsaPrivateOperation_InputNotModulusLengthOrTooLarge_IsInvalidInput()
    {
        using var rsa = RSA.Create(1024);
        using var key = PivPrivateKey.FromKey(rsa);
        var shortInput = Assert.Throws<PivInvalidInputException>(() => PivCardCrypto.RsaPrivateOperation(key, new byte[127]));
        Assert.Equal(0x6A80, shortInput.StatusWord.Value);
        Assert.Throws<PivInvalidInputException>(() => PivCardCrypto.RsaPrivateOperation(key, new byte[129]));
        Assert.Throws<PivInvalidInputException>(() => PivCardCrypto.RsaPrivateOperation(key, key.PublicKey.Modulus.Span));
        Assert.Throws<PivInvalidInputException>(() => PivCardCrypto.RsaPrivateOperation(key, Enumerable.Repeat((byte)0xFF, 128).ToArray()));
    }

    [Fact]
    public void RsaPrivateOperation_EcKey_IsInvalidInput()
    {
        using var key = PivCardCrypto.GenerateKeyPair(PivAlgorithm.EccP256);
        Assert.Throws<PivInvalidInputException>(() => PivCardCrypto.RsaPrivateOperation(key, new byte[256]));
    }

    [Fact]
    public void RsaPrivateOperation_ZeroAndOne_AreFixedPoints()
    {
        using var key = PivCardCrypto.GenerateKeyPair(PivAlgorithm.Rsa1024);
        var one = new byte[128];
        one[^1] = 1;
        Assert.Equal(new byte[128], PivCardCrypto.RsaPrivateOperation(key, new byte[128]));
        Assert.Equal(one, PivCardCrypto.RsaPrivateOperation(key, one));
    }

    [Fact]
    public void EcdsaSignHash_Sha512HashOnP256_VerifiesWithTruncatedHash()
    {
        using var ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var key = PivPrivateKey.FromKey(ecdsa);
        var hash = SHA512.HashData("long hash"u8);
        var der = PivCardCrypto.EcdsaSignHash(key, hash);

        Assert.Equal(0x30, der[0]);
        Assert.True(ecdsa.VerifyHash(hash.AsSpan(0, 32), der, DSASignatureFormat.Rfc3279DerSequence));
        // Finding: .NET on Linux (OpenSSL) truncates an over-long hash itself, so VerifyHash/SignHash on the
        // full 64 bytes agree with the explicit FIPS 186-4 truncation PivCardCrypto applies.
        Assert.True(ecdsa.VerifyHash(hash, der, DSASignatureFormat.Rfc3279DerSequence));
        Assert.True(ecdsa.VerifyHash(hash.AsSpan(0, 32), ecdsa.SignHash(hash, DSASignatureFormat.Rfc3279DerSequence), DSASignatureFormat.Rfc3279DerSequence));
    }

    [Fact]
    public void EcdsaSignHash_P384WithSha256_IsDerSequenceOfTwoIntegers()
    {
        using var key = PivCardCrypto.GenerateKeyPair(PivAlgorithm.EccP384);
        var hash = SHA256.HashData("short"u8);
        var der = PivCardCrypto.EcdsaSignHash(key, hash);
        var sequence = new AsnReader(der, AsnEncodingRules.DER).ReadSequence();
        var r = sequence.ReadInteger();
        var s = sequence.ReadInteger();
        sequence.ThrowIfNotEmpty();
        Assert.True(r > BigInteger.Zero && s > BigInteger.Zero);
        using var verifier = key.PublicKey.ToECDsa();
        Assert.True(verifier.VerifyHash(hash, der, DSASignatureFormat.Rfc3279DerSequence));
    }

    [Fact]
    public void EcdsaSignHash_EmptyHashOrRsaKey_IsInvalidInput()
    {
        using var ec = PivCardCrypto.GenerateKeyPair(PivAlgorithm.EccP256);
        Assert.Throws<PivInvalidInputException>(() => PivCardCrypto.EcdsaSignHash(ec, []));
        using var rsa = PivCardCrypto.GenerateKeyPair(PivAlgorithm.Rsa1024);
        Assert.Throws<PivInvalidInputException>(() => PivCardCrypto.EcdsaSignHash(rsa, new byte[32]));
    }

    [Theory]
    [InlineData(PivAlgorithm.EccP256)]
    [InlineData(PivAlgorithm.EccP384)]
    public void EcdhSharedSecret_DotNetPeer_MatchesDotNetAgreement(PivAlgorithm algorithm)
    {
        using var card = PivCardCrypto.GenerateKeyPair(algorithm);
        using var peer = ECDiffieHellman.Create(algorithm.ToCurve());
        var peerPoint = PivPublicKey.FromKey(peer).Point.ToArray();

        var secret = PivCardCrypto.EcdhSharedSecret(card, peerPoint);
        using var cardPublic = card.PublicKey.ToECDiffieHellman();
        Assert.Equal(algorithm.KeyLength(), secret.Length);
        Assert.Equal(peer.DeriveRawSecretAgreement(cardPublic.PublicKey), secret);
    }

    [Fact]
    public void EcdhSharedSecret_BadPeerPoints_AreInvalidInput()
    {
        using var card = PivCardCrypto.GenerateKeyPair(PivAlgorithm.EccP256);
        var good = card.PublicKey.Point.ToArray();
        var offCurve = (byte[])good.Clone();
        offCurve[^1] ^= 0x01;
        var compressed = (byte[])good.Clone();
        compressed[0] = 0x03;
        var bigX = Enumerable.Repeat((byte)0xFF, 65).ToArray();
        bigX[0] = 0x04;
        Assert.Throws<PivInvalidInputException>(() => PivCardCrypto.EcdhSharedSecret(card, offCurve));
        Assert.Throws<PivInvalidInputException>(() => PivCardCrypto.EcdhSharedSecret(card, compressed));
        Assert.Throws<PivInvalidInputException>(() => PivCardCrypto.EcdhSharedSecret(card, good.AsSpan(0, 64)));
        Assert.Throws<PivInvalidInputException>(() => PivCardCrypto.EcdhSharedSecret(card, bigX));
        Assert.Throws<PivInvalidInputException>(() => PivCardCrypto.EcdhSharedSecret(card, new byte[97]));
    }

    [Theory]
    [InlineData(PivAlgorithm.Rsa2048)]
    [InlineData(PivAlgorithm.EccP256)]
    [InlineData(PivAlgorithm.EccP384)]
    public void GenerateKeyPair_Algorithm_GivesMatchingPkcs8AndSpki(PivAlgorithm algorithm)
    {
        using var key = PivCardCrypto.GenerateKeyPair(algorithm);
        Assert.Equal(algorithm, key.Algorithm);
        var pkcs8 = key.ExportPkcs8();
        var spki = key.PublicKey.ToSubjectPublicKeyInfo();
        using var reloaded = PivPrivateKey.FromPkcs8(pkcs8);
        Assert.True(reloaded.PublicKey.KeyEquals(PivPublicKey.FromSubjectPublicKeyInfo(spki)));
        CryptographicOperations.ZeroMemory(pkcs8);
    }

    [Fact]
    public void GenerateKeyPair_Curve25519_IsNotSupported()
    {
        Assert.False(PivCardCrypto.CanGenerate(PivAlgorithm.Ed25519));
        var e = Assert.Throws<PivInvalidInputException>(() => PivCardCrypto.GenerateKeyPair(PivAlgorithm.Ed25519));
        Assert.Equal(0x6A81, e.StatusWord.Value);
    }

    [Fact]
    public void Authenticate_EcOrRsaKey_DispatchesOnKeyType()
    {
        using var ec = PivCardCrypto.GenerateKeyPair(PivAlgorithm.EccP256);
        Assert.Equal(0x30, PivCardCrypto.Authenticate(ec, new byte[32])[0]);
        using var rsa = PivCardCrypto.GenerateKeyPair(PivAlgorithm.Rsa1024);
        Assert.Equal(128, PivCardCrypto.Authenticate(rsa, new byte[128]).Length);
    }

    [Fact]
    public void UnpadEncryption_Malformed_Throws()
    {
        Assert.Throws<CryptographicException>(() => PivRsaPadding.UnpadEncryption(Hex.Bytes("0001FFFFFFFFFFFFFFFFFF0041")));
        Assert.Throws<CryptographicException>(() => PivRsaPadding.UnpadEncryption(Hex.Bytes("000201020304050607000041")));
        Assert.Throws<ArgumentException>(() => PivRsaPadding.PadSignature(new byte[20], HashAlgorithmName.SHA256, 256));
    }
}
