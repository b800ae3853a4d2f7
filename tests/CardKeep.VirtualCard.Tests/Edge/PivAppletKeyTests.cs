using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CardKeep.Cards;
using CardKeep.Cards.Iso7816;
using CardKeep.Cards.Piv;
using CardKeep.VirtualCard.Edge;
using CardKeep.VirtualCard.Store;

namespace CardKeep.VirtualCard.Tests.Edge;

/// <summary>GENERATE, IMPORT KEY, GENERAL AUTHENTICATE with keys, PIN policies, metadata and attestation.</summary>
public sealed class PivAppletKeyTests : IDisposable
{
    private static readonly byte[] _hash = SHA256.HashData("the message"u8);
    private readonly AppletHarness _h = new();

    public void Dispose() => _h.Dispose();

    public static TheoryData<PivAlgorithm> GeneratedAlgorithms => [PivAlgorithm.EccP256, PivAlgorithm.EccP384, PivAlgorithm.Rsa2048];

    [Theory]
    [MemberData(nameof(GeneratedAlgorithms))]
    public void Generate_ThenSign_SignatureVerifiesWithDotNet(PivAlgorithm algorithm)
    {
        _h.AuthenticateDefault();
        var publicKey = _h.Session.GenerateKeyPair(PivSlot.Authentication, algorithm);
        _h.VerifyPin();

        var signature = Sign(PivSlot.Authentication, algorithm);

        Assert.True(VerifySignature(publicKey, signature));
        var info = _h.Card.GetKey(0x9A)!;
        Assert.Equal(((byte)algorithm, (byte)PinPolicy.Once, (byte)TouchPolicy.Never, (byte)PivKeyOrigin.Generated, KeyProtection.Pin),
            (info.Algorithm, info.PinPolicy, info.TouchPolicy, info.Origin, info.Protection));
        Assert.Equal(publicKey.ToSubjectPublicKeyInfo(), info.PublicKeySpki.ToArray());
    }

    [Fact]
    public void Generate_Layouts_AreTheRigidOnesLibykpivParses()
    {
        _h.AuthenticateDefault();
        Assert.StartsWith("7F4943864104", _h.Send("00 47 00 9A 05 AC 03 80 01 11"), StringComparison.Ordinal);
        Assert.StartsWith("7F4963866104", _h.Send("00 47 00 9D 05 AC 03 80 01 14"), StringComparison.Ordinal);
        var first = _h.Send("00 47 00 9C 05 AC 03 80 01 07");
        Assert.StartsWith("7F4982010981820100", first, StringComparison.Ordinal);
        Assert.EndsWith("610E", first, StringComparison.Ordinal);
        Assert.Equal(258 * 2, first.Length);
        var rest = _h.Send("00 C0 00 00 0E");
        Assert.EndsWith("8203010001" + "9000", rest, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("00 47 00 9A 05 AC 03 80 01 11", "6982", false)]
    [InlineData("00 47 00 9B 05 AC 03 80 01 11", "6A86", true)]
    [InlineData("00 47 00 F9 05 AC 03 80 01 11", "6A86", true)]
    [InlineData("00 47 01 9A 05 AC 03 80 01 11", "6A86", true)]
    [InlineData("00 47 00 9A 05 AC 03 80 01 03", "6A80", true)]
    [InlineData("00 47 00 9A 05 AC 03 80 01 E0", "6A80", true)]
    [InlineData("00 47 00 9A 05 AC 03 80 01 55", "6A80", true)]
    [InlineData("00 47 00 9A 08 AC 06 80 01 11 AA 01 05", "6A80", true)]
    [InlineData("00 47 00 9A 08 AC 06 80 01 11 AB 01 07", "6A80", true)]
    [InlineData("00 47 00 9A 05 AD 03 80 01 11", "6A80", true)]
    [InlineData("00 47 00 9A 03 AC 01 80", "6A80", true)]
    [InlineData("00 FE 11 9A 05 06 03 010203", "6982", false)]
    [InlineData("00 FE 11 9B 05 06 03 010203", "6A86", true)]
    [InlineData("00 FE 03 9A 05 06 03 010203", "6A86", true)]
    [InlineData("00 FE 11 9A 05 06 03 000000", "6A80", true)]
    [InlineData("00 FE 11 9A 05 07 03 010203", "6A80", true)]
    [InlineData("00 FE 07 9A 05 01 03 010203", "6A80", true)]
    [InlineData("00 FE 11 9A 08 06 03 010203 AA 01 09", "6A80", true)]
    public void GenerateOrImport_Refused_NoKeyStored(string apdu, string sw, bool authenticate)
    {
        if (authenticate)
        {
            _h.AuthenticateDefault();
        }

        Assert.Equal(sw, _h.Sw(apdu));
        Assert.Empty(_h.Card.Keys);
    }

    [Fact]
    public void ImportEc_ThenSignAndEcdh_MatchDotNet()
    {
        using var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        _h.AuthenticateDefault();
        _h.Session.ImportKey(PivSlot.KeyManagement, ec, PinPolicy.Never, TouchPolicy.Never);

        var signature = Sign(PivSlot.KeyManagement, PivAlgorithm.EccP256);
        Assert.True(ec.VerifyHash(_hash, signature, DSASignatureFormat.Rfc3279DerSequence));

        using var peer = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
        var peerPoint = PivPublicKey.FromKey(peer).Point.Span;
        var shared = _h.Session.KeyAgreement(PivSlot.KeyManagement, PivAlgorithm.EccP256, peerPoint);
        using var mine = ECDiffieHellman.Create(ec.ExportParameters(true));
        Assert.Equal(peer.DeriveRawSecretAgreement(mine.PublicKey), shared);

        var info = _h.Card.GetKey(0x9D)!;
        Assert.Equal(((byte)PinPolicy.Never, (byte)PivKeyOrigin.Imported, KeyProtection.None), (info.PinPolicy, info.Origin, info.Protection));
    }

    [Fact]
    public void ImportEcP384_Ecdh_MatchesDotNet()
    {
        using var ec = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP384);
        _h.AuthenticateDefault();
        _h.Session.ImportKey(PivSlot.Retired1, ec);
        _h.VerifyPin();
        using var peer = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP384);

        var shared = _h.Session.KeyAgreement(PivSlot.Retired1, PivAlgorithm.EccP384, PivPublicKey.FromKey(peer).Point.Span);

        Assert.Equal(peer.DeriveRawSecretAgreement(ec.PublicKey), shared);
    }

    [Fact]
    public void ImportRsa_ThenSignAndDecrypt_MatchDotNet()
    {
        using var rsa = RSA.Create(2048);
        _h.AuthenticateDefault();
        _h.Session.ImportKey(PivSlot.KeyManagement, rsa);
        _h.VerifyPin();

        var signature = Sign(PivSlot.KeyManagement, PivAlgorithm.Rsa2048);
        Assert.True(rsa.VerifyHash(_hash, signature, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1));

        var secret = RandomNumberGenerator.GetBytes(32);
        var ciphertext = rsa.Encrypt(secret, RSAEncryptionPadding.Pkcs1);
        var block = _h.Session.Decrypt(PivSlot.KeyManagement, PivAlgorithm.Rsa2048, ciphertext);
        Assert.Equal(secret, PivRsaPadding.UnpadEncryption(block));
        Assert.Equal((byte)PivKeyOrigin.Imported, _h.Card.GetKey(0x9D)!.Origin);
    }

    [Fact]
    public void ImportRsa1024_Sign_VerifiesWithDotNet()
    {
        using var rsa = RSA.Create(1024);
        _h.AuthenticateDefault();
        _h.Session.ImportKey(PivSlot.Retired20, rsa);
        _h.VerifyPin();

        var signature = Sign(PivSlot.Retired20, PivAlgorithm.Rsa1024);

        Assert.True(rsa.VerifyHash(_hash, signature, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1));
    }

    [Fact]
    public void Sign_EmptySlot_Answers6A88()
    {
        _h.VerifyPin();
        var e = Assert.Throws<CardStatusException>(() => Sign(PivSlot.Authentication, PivAlgorithm.EccP256));
        Assert.Equal(StatusWord.ReferencedDataNotFound, e.StatusWord);
    }

    [Fact]
    public void Sign_AlgorithmNotTheKeys_Answers6A80()
    {
        _h.AuthenticateDefault();
        _h.Session.GenerateKeyPair(PivSlot.Authentication, PivAlgorithm.EccP256);
        _h.VerifyPin();
        Assert.Equal("6A80", _h.Sw("00 87 14 9A 26 7C 24 82 00 81 20 " + Convert.ToHexString(_hash)));
        Assert.Equal("6A80", _h.Sw("00 87 11 9A 26 7C 24 82 00 80 20 " + Convert.ToHexString(_hash)));
        Assert.Equal("6A86", _h.Sw("00 87 11 F9 26 7C 24 82 00 81 20 " + Convert.ToHexString(_hash)));
    }

    [Fact]
    public void Sign_RsaBlockOfWrongLength_Answers6A80()
    {
        _h.AuthenticateDefault();
        _h.Session.GenerateKeyPair(PivSlot.Authentication, PivAlgorithm.Rsa2048);
        _h.VerifyPin();
        Assert.Equal("6A80", _h.Sw("00 87 07 9A 26 7C 24 82 00 81 20 " + Convert.ToHexString(_hash)));
    }

    [Fact]
    public void KeyAgreement_RsaKeyOrPointOffCurve_Answers6A80()
    {
        _h.AuthenticateDefault();
        _h.Session.GenerateKeyPair(PivSlot.KeyManagement, PivAlgorithm.EccP256);
        _h.VerifyPin();
        var offCurve = new byte[65];
        offCurve[0] = 4;
        offCurve[64] = 1;
        var e = Assert.Throws<CardStatusException>(() => _h.Session.KeyAgreement(PivSlot.KeyManagement, PivAlgorithm.EccP256, offCurve));
        Assert.Equal(StatusWord.IncorrectDataField, e.StatusWord);
    }

    [Fact]
    public void PinPolicyOnce_NoPin_Answers6982ThenWorksAfterVerify()
    {
        _h.AuthenticateDefault();
        _h.Session.GenerateKeyPair(PivSlot.Authentication, PivAlgorithm.EccP256);
        var e = Assert.Throws<CardStatusException>(() => Sign(PivSlot.Authentication, PivAlgorithm.EccP256));
        Assert.Equal(StatusWord.SecurityStatusNotSatisfied, e.StatusWord);

        _h.VerifyPin();
        Sign(PivSlot.Authentication, PivAlgorithm.EccP256);
        Sign(PivSlot.Authentication, PivAlgorithm.EccP256);
    }

    [Fact]
    public void PinPolicyAlways_SignatureSlot_NeedsAVerifyBeforeEachUse()
    {
        _h.AuthenticateDefault();
        _h.Session.GenerateKeyPair(PivSlot.Signature, PivAlgorithm.EccP256);
        Assert.Equal((byte)PinPolicy.Always, _h.Card.GetKey(0x9C)!.PinPolicy);
        _h.VerifyPin();
        Sign(PivSlot.Signature, PivAlgorithm.EccP256);

        var e = Assert.Throws<CardStatusException>(() => Sign(PivSlot.Signature, PivAlgorithm.EccP256));
        Assert.Equal(StatusWord.SecurityStatusNotSatisfied, e.StatusWord);

        _h.VerifyPin();
        _h.Session.ReadCertificate(PivSlot.Signature);
        Sign(PivSlot.Signature, PivAlgorithm.EccP256);
    }

    [Fact]
    public void PinPolicyAlways_RsaChained_WorksRightAfterVerify()
    {
        _h.AuthenticateDefault();
        var publicKey = _h.Session.GenerateKeyPair(PivSlot.Signature, PivAlgorithm.Rsa2048);
        _h.VerifyPin();
        Assert.True(VerifySignature(publicKey, Sign(PivSlot.Signature, PivAlgorithm.Rsa2048)));
        _h.VerifyPin();
        Assert.True(VerifySignature(publicKey, Sign(PivSlot.Signature, PivAlgorithm.Rsa2048)));
    }

    [Fact]
    public void PinPolicyNever_CardAuthentication_SignsWithoutPin()
    {
        _h.AuthenticateDefault();
        var publicKey = _h.Session.GenerateKeyPair(PivSlot.CardAuthentication, PivAlgorithm.EccP256);
        _h.Applet.Reset();
        _h.Session.Select();

        Assert.True(VerifySignature(publicKey, Sign(PivSlot.CardAuthentication, PivAlgorithm.EccP256)));
        Assert.Equal(KeyProtection.None, _h.Card.GetKey(0x9E)!.Protection);
    }

    [Fact]
    public void PinPolicyOnceOnCardAuthentication_NeedsPinDespitePlainStorage()
    {
        _h.AuthenticateDefault();
        _h.Session.GenerateKeyPair(PivSlot.CardAuthentication, PivAlgorithm.EccP256, PinPolicy.Once);
        Assert.Equal("6982", _h.Sw("00 87 11 9E 26 7C 24 82 00 81 20 " + Convert.ToHexString(_hash)));
        _h.VerifyPin();
        Sign(PivSlot.CardAuthentication, PivAlgorithm.EccP256);
    }

    [Fact]
    public void Reset_Applet_ForgetsPinSoKeysNeedVerifyAgain()
    {
        _h.AuthenticateDefault();
        _h.Session.GenerateKeyPair(PivSlot.Authentication, PivAlgorithm.EccP256);
        _h.VerifyPin();
        _h.Applet.Reset();
        _h.Session.Select();
        Assert.Equal("6982", _h.Sw("00 87 11 9A 26 7C 24 82 00 81 20 " + Convert.ToHexString(_hash)));
    }

    [Fact]
    public void Metadata_GeneratedAndImportedKeys_ReportPoliciesOriginAndPublicKey()
    {
        _h.AuthenticateDefault();
        var generated = _h.Session.GenerateKeyPair(PivSlot.Signature, PivAlgorithm.EccP384, touchPolicy: TouchPolicy.Cached);
        using var rsa = RSA.Create(2048);
        _h.Session.ImportKey(PivSlot.CardAuthentication, rsa, PinPolicy.Once);

        var signature = _h.Session.GetMetadata(PivSlot.Signature);
        Assert.Equal((PivAlgorithm.EccP384, PinPolicy.Always, TouchPolicy.Cached, PivKeyOrigin.Generated),
            (signature.Algorithm, signature.Policy!.Value.Pin, signature.Policy.Value.Touch, signature.Origin));
        Assert.True(generated.KeyEquals(signature.PublicKey));

        var card = _h.Session.GetMetadata(PivSlot.CardAuthentication);
        Assert.Equal((PivAlgorithm.Rsa2048, PinPolicy.Once, TouchPolicy.Never, PivKeyOrigin.Imported),
            (card.Algorithm, card.Policy!.Value.Pin, card.Policy.Value.Touch, card.Origin));
        Assert.True(PivPublicKey.FromKey(rsa).KeyEquals(card.PublicKey));

        Assert.Equal("6A88", _h.Sw("00 F7 00 9A"));
        Assert.Equal("6A88", _h.Sw("00 F7 00 00"));
        Assert.Equal("6A86", _h.Sw("00 F7 01 80"));
    }

    [Fact]
    public void Attest_GeneratedKey_IsIssuedByTheCardsAttestationAuthority()
    {
        _h.AuthenticateDefault();
        var publicKey = _h.Session.GenerateKeyPair(PivSlot.Authentication, PivAlgorithm.EccP256);

        using var attestation = _h.Session.Attest(PivSlot.Authentication);

        var authorityDer = PivCertificateContainer.Decode(_h.Session.GetData(0x5FFF01)!);
        using var authority = X509CertificateLoader.LoadCertificate(authorityDer);
        Assert.Contains("CardKeep VSC attestation", authority.Subject, StringComparison.Ordinal);
        Assert.Equal(authority.Subject, attestation.Issuer);
        Assert.Equal("CN=YubiKey PIV Attestation 9a", attestation.Subject);
        using var authorityKey = authority.GetECDsaPublicKey()!;
        Assert.True(authorityKey.VerifyData(GetTbs(attestation), GetSignature(attestation), HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence));
        Assert.Equal(publicKey.ToSubjectPublicKeyInfo(), attestation.PublicKey.ExportSubjectPublicKeyInfo());
        var (firmware, serial, policy, _) = PivAttestation.ReadExtensions(attestation);
        Assert.Equal((PivApplet.FirmwareVersion, _h.Card.Serial, new PivKeyPolicy(PinPolicy.Once, TouchPolicy.Never)), (firmware!.Value, serial!.Value, policy!.Value));

        using var second = _h.Session.Attest(PivSlot.Authentication);
        Assert.Equal(attestation.Issuer, second.Issuer);
        Assert.Equal(PivKeyOrigin.Generated, _h.Session.GetMetadata(PivSlot.Attestation).Origin);
    }

    [Fact]
    public void Attest_ImportedKey_Answers6A80AndEmptySlot6A88()
    {
        _h.AuthenticateDefault();
        using var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        _h.Session.ImportKey(PivSlot.Authentication, ec);

        Assert.Equal("6A80", _h.Sw("00 F9 9A 00 00"));
        Assert.Equal("6A88", _h.Sw("00 F9 9C 00 00"));
        Assert.Equal("6A86", _h.Sw("00 F9 9B 00 00"));
    }

    [Fact]
    public void Keys_AfterReopen_StillSign()
    {
        _h.AuthenticateDefault();
        var publicKey = _h.Session.GenerateKeyPair(PivSlot.Authentication, PivAlgorithm.EccP256);
        _h.Reopen();
        _h.VerifyPin();
        Assert.True(VerifySignature(publicKey, Sign(PivSlot.Authentication, PivAlgorithm.EccP256)));
    }

    private byte[] Sign(PivSlot slot, PivAlgorithm algorithm) =>
        _h.Session.Sign(slot, algorithm, algorithm.IsRsa() ? PivRsaPadding.PadSignature(_hash, HashAlgorithmName.SHA256, algorithm.KeyLength()) : _hash);

    private static bool VerifySignature(PivPublicKey publicKey, byte[] signature)
    {
        if (publicKey.Algorithm.IsRsa())
        {
            using var rsa = publicKey.ToRsa();
            return rsa.VerifyHash(_hash, signature, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        }

        using var ecdsa = publicKey.ToECDsa();
        return ecdsa.VerifyHash(_hash, signature, DSASignatureFormat.Rfc3279DerSequence);
    }

    private static byte[] GetTbs(X509Certificate2 certificate)
    {
        var reader = new System.Formats.Asn1.AsnReader(certificate.RawData, System.Formats.Asn1.AsnEncodingRules.DER).ReadSequence();
        return reader.ReadEncodedValue().ToArray();
    }

    private static byte[] GetSignature(X509Certificate2 certificate)
    {
        var reader = new System.Formats.Asn1.AsnReader(certificate.RawData, System.Formats.Asn1.AsnEncodingRules.DER).ReadSequence();
        reader.ReadEncodedValue();
        reader.ReadSequence();
        return reader.ReadBitString(out _);
    }
}
