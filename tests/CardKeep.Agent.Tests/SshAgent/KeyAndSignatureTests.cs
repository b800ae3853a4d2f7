using System.Security.Cryptography;
using CardKeep.Agent.Keys;
using CardKeep.Agent.SshAgent;
using static CardKeep.Agent.Tests.TestSupport;

namespace CardKeep.Agent.Tests.SshAgent;

public sealed class KeyAndSignatureTests
{
    // RFC 8032 §7.1 test 1.
    private const string Rfc8032Seed = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
    private const string Rfc8032Public = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
    private const string Rfc8032Signature = "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b";

    [Fact]
    public void Ed25519_Rfc8032Vector1_SignsAndVerifiesKnownAnswer()
    {
        Assert.True(Ed25519.IsAvailable, "libsodium23 must be installed");
        Assert.Equal(Hex(Rfc8032Public), Ed25519.PublicKeyFromSeed(Hex(Rfc8032Seed)));
        Assert.Equal(Hex(Rfc8032Signature), Ed25519.Sign(Hex(Rfc8032Seed), []));
        Assert.True(Ed25519.Verify(Hex(Rfc8032Public), [], Hex(Rfc8032Signature)));
        var tampered = Hex(Rfc8032Signature);
        tampered[0] ^= 1;
        Assert.False(Ed25519.Verify(Hex(Rfc8032Public), [], tampered));
    }

    [Fact]
    public void Ed25519Blob_KnownKey_IsTypeAndKey()
    {
        var key = SshPublicKey.FromEd25519(Hex(Rfc8032Public));
        Assert.Equal(Hex("0000000b 7373682d65643235353139 00000020" + Rfc8032Public), key.Blob.ToArray());
        Assert.Equal(key, SshPublicKey.Parse(key.Blob.Span));
    }

    [Fact]
    public void RsaBlob_NetKey_IsTypeExponentModulusWithPaddedMpint()
    {
        using var rsa = RSA.Create(2048);
        var p = rsa.ExportParameters(false);
        var key = SshPublicKey.FromRsa(p.Modulus, p.Exponent);
        // string "ssh-rsa", mpint e (010001), mpint n (257 bytes: the top bit of n is set, so 00 is prepended).
        var expected = Hex("00000007 7373682d727361 00000003 010001 00000101 00").Concat(p.Modulus!).ToArray();
        Assert.Equal(expected, key.Blob.ToArray());
        Assert.Equal(2048, key.Bits);
    }

    [Theory]
    [InlineData(SshKeyType.EcdsaP256, "6e697374703235360000004104")]
    [InlineData(SshKeyType.EcdsaP384, "6e697374703338340000006104")]
    [InlineData(SshKeyType.EcdsaP521, "6e69737470353231000000850400")]
    public void EcdsaBlob_NetKey_IsTypeCurveAndUncompressedPoint(SshKeyType type, string curveAndPointStart)
    {
        using var ecdsa = ECDsa.Create(type.Curve());
        using var key = SoftwareKey.FromEcdsa(type, ECDsa.Create(ecdsa.ExportParameters(true)), "c", KeySource.Added);
        string hex = Convert.ToHexStringLower(key.PublicKey.Blob.Span);
        Assert.StartsWith("00000013" + Convert.ToHexStringLower(System.Text.Encoding.ASCII.GetBytes(type.Name())) + "00000008", hex, StringComparison.Ordinal);
        if (type != SshKeyType.EcdsaP521)
        {
            Assert.Contains(curveAndPointStart, hex, StringComparison.Ordinal);
        }

        Assert.Equal(key.PublicKey, SshPublicKey.Parse(key.PublicKey.Blob.Span));
    }

    [Theory]
    [InlineData(0u, "ssh-rsa")]
    [InlineData(AgentProtocol.FlagRsaSha256, "rsa-sha2-256")]
    [InlineData(AgentProtocol.FlagRsaSha512, "rsa-sha2-512")]
    [InlineData(AgentProtocol.FlagRsaSha256 | AgentProtocol.FlagRsaSha512, "rsa-sha2-256")]
    [InlineData(0x01u, "ssh-rsa")]
    public void SignSsh_RsaFlags_AnswerExactlyTheAskedAlgorithmAndVerifyWithDotNet(uint flags, string algorithm)
    {
        using var key = SoftwareKey.Generate(SshKeyType.Rsa, 2048, "r", KeySource.Added);
        var data = "data to sign"u8.ToArray();
        var blob = key.SignSsh(data, flags);
        var reader = new SshReader(blob);
        Assert.Equal(algorithm, reader.ReadAscii());
        var signature = reader.ReadString().ToArray();
        Assert.Equal(256, signature.Length);
        using var rsa = RSA.Create(new RSAParameters { Modulus = key.PublicKey.Modulus.ToArray(), Exponent = key.PublicKey.Exponent.ToArray() });
        Assert.True(rsa.VerifyData(data, signature, SshKeyTypes.RsaHash(algorithm), RSASignaturePadding.Pkcs1));
        Assert.True(key.PublicKey.Verify(data, blob));
    }

    [Theory]
    [InlineData(SshKeyType.EcdsaP256)]
    [InlineData(SshKeyType.EcdsaP384)]
    [InlineData(SshKeyType.EcdsaP521)]
    public void SignSsh_Ecdsa_IsMpintPairThatDotNetVerifies(SshKeyType type)
    {
        using var key = SoftwareKey.Generate(type, 0, "e", KeySource.Added);
        var data = RandomNumberGenerator.GetBytes(100);
        var blob = key.SignSsh(data, AgentProtocol.FlagRsaSha512);
        var reader = new SshReader(blob);
        Assert.Equal(type.Name(), reader.ReadAscii());
        var inner = new SshReader(reader.ReadString());
        var r = inner.ReadString();
        var s = inner.ReadString();
        Assert.True(inner.IsEmpty);
        Assert.True(r[0] != 0 || (r[1] & 0x80) != 0, "mpint r is minimal");
        Assert.True(s[0] != 0 || (s[1] & 0x80) != 0, "mpint s is minimal");
        Assert.True(key.PublicKey.Verify(data, blob));
        data[0] ^= 1;
        Assert.False(key.PublicKey.Verify(data, blob));
    }

    [Fact]
    public void EcdsaConversions_HighBitAndLeadingZero_RoundTrip()
    {
        var rs = new byte[64];
        rs[0] = 0x80;
        rs[31] = 1;
        rs[33] = 0x7F;
        var ssh = SshSignature.EcdsaP1363ToSsh(rs);
        Assert.Equal(Hex("00000021 00 80" + new string('0', 60) + "01 0000001f 7f" + new string('0', 60)), ssh);
        Assert.Equal(rs, SshSignature.EcdsaSshToP1363(ssh, 32));
        var der = Hex("3045 0221 0080" + new string('0', 60) + "01 0220 007f" + new string('0', 60)[..60]);
        Assert.Throws<CryptographicException>(() => SshSignature.EcdsaDerToP1363(der, 32));
        var good = Hex("3044 0221 0080" + new string('0', 60) + "01 021f 7f" + new string('0', 60));
        Assert.Equal(rs, SshSignature.EcdsaDerToP1363(good, 32));
    }

    [Fact]
    public void SignSsh_Ed25519_IsTypeAnd64Bytes()
    {
        using var key = SoftwareKey.Generate(SshKeyType.Ed25519, 0, "ed", KeySource.Added);
        var blob = key.SignSsh("x"u8, 0);
        var reader = new SshReader(blob);
        Assert.Equal("ssh-ed25519", reader.ReadAscii());
        Assert.Equal(64, reader.ReadString().Length);
        Assert.True(key.PublicKey.Verify("x"u8, blob));
    }

    [Theory]
    [InlineData(SshKeyType.Rsa)]
    [InlineData(SshKeyType.EcdsaP256)]
    [InlineData(SshKeyType.EcdsaP384)]
    [InlineData(SshKeyType.Ed25519)]
    public void WritePrivateThenReadPrivate_EachType_GivesTheSameKey(SshKeyType type)
    {
        using var key = SoftwareKey.Generate(type, 2048, "c", KeySource.Added);
        using var writer = new SshWriter();
        key.WritePrivate(writer);
        var reader = new SshReader(writer.AsSpan());
        using var copy = SoftwareKey.ReadPrivate(ref reader, "c", KeySource.HostStore);
        Assert.True(reader.IsEmpty);
        Assert.Equal(key.PublicKey, copy.PublicKey);
        Assert.True(key.PublicKey.Verify("m"u8, copy.SignSsh("m"u8, AgentProtocol.FlagRsaSha256)));
    }

    [Fact]
    public void ReadPrivate_RsaWithWrongPrime_IsRefused()
    {
        using var key = SoftwareKey.Generate(SshKeyType.Rsa, 2048, "c", KeySource.Added);
        using var writer = new SshWriter();
        key.WritePrivate(writer);
        var bytes = writer.ToArray();
        bytes[^10] ^= 0x01;
        Assert.Throws<SshFormatException>(() =>
        {
            var reader = new SshReader(bytes);
            SoftwareKey.ReadPrivate(ref reader, "c", KeySource.Added).Dispose();
        });
    }

    [Fact]
    public void ReadPrivate_Ed25519SeedOfAnotherKey_IsRefused()
    {
        using var writer = new SshWriter();
        var otherPublic = Ed25519.PublicKeyFromSeed(RandomNumberGenerator.GetBytes(32));
        writer.WriteString("ssh-ed25519").WriteString(otherPublic).WriteString([.. Hex(Rfc8032Seed), .. otherPublic]);
        Assert.Throws<SshFormatException>(() =>
        {
            var reader = new SshReader(writer.AsSpan());
            SoftwareKey.ReadPrivate(ref reader, "c", KeySource.Added).Dispose();
        });
    }

    [Fact]
    public void FromEcPoint_PointOffCurve_IsRefused()
    {
        var point = new byte[65];
        point[0] = 4;
        point[64] = 7;
        Assert.Throws<SshFormatException>(() => SshPublicKey.FromEcPoint(SshKeyType.EcdsaP256, point));
    }

    [Fact]
    public void Fingerprint_KnownBlob_IsUnpaddedBase64Sha256()
    {
        var key = SshPublicKey.FromEd25519(Hex(Rfc8032Public));
        string expected = "SHA256:" + Convert.ToBase64String(SHA256.HashData(key.Blob.Span)).TrimEnd('=');
        Assert.Equal(expected, key.Fingerprint);
        Assert.DoesNotContain("=", key.Fingerprint, StringComparison.Ordinal);
    }

    [Fact]
    public void ParseAuthorizedKey_RoundTrip_KeepsComment()
    {
        using var key = SoftwareKey.Generate(SshKeyType.EcdsaP256, 0, "c", KeySource.Added);
        var parsed = SshPublicKey.ParseAuthorizedKey(key.PublicKey.ToAuthorizedKey("me@host"), out string comment);
        Assert.Equal(key.PublicKey, parsed);
        Assert.Equal("me@host", comment);
    }
}
