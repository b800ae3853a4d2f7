using System.Security.Cryptography;
using CardKeep.Agent.Keys;
using CardKeep.Agent.SshAgent;

namespace CardKeep.Agent.Tests.Keys;

public sealed class PrivateKeyFileTests
{
    [Fact]
    public void Read_Pkcs8PemOfEachNetKey_GivesTheSamePublicKey()
    {
        using var rsa = RSA.Create(2048);
        using var fromRsa = PrivateKeyFile.Read(rsa.ExportPkcs8PrivateKeyPem(), KeySource.HostStore, "r");
        Assert.Equal(rsa.ExportParameters(false).Modulus, fromRsa.PublicKey.Modulus.ToArray());
        using var rsa1 = PrivateKeyFile.Read(rsa.ExportRSAPrivateKeyPem(), KeySource.HostStore, "r");
        Assert.Equal(fromRsa.PublicKey, rsa1.PublicKey);
        using var ec = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        using var fromEc = PrivateKeyFile.Read(ec.ExportECPrivateKeyPem(), KeySource.HostStore);
        Assert.Equal(SshKeyType.EcdsaP384, fromEc.PublicKey.Type);
    }

    [Fact]
    public void Read_Ed25519Pkcs8_DerivesThePublicKey()
    {
        var seed = Convert.FromHexString("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
        var der = Convert.FromHexString("302e020100300506032b657004220420").Concat(seed).ToArray();
        string pem = PemEncoding.WriteString("PRIVATE KEY", der);
        using var key = PrivateKeyFile.Read(pem, KeySource.HostStore, "ed");
        Assert.Equal(Convert.FromHexString("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"), key.PublicKey.Point.ToArray());
    }

    [Fact]
    public void Read_OpenSshFileWrittenByHand_ReadsKeyAndComment()
    {
        using var original = SoftwareKey.Generate(SshKeyType.EcdsaP256, 0, "x", KeySource.Added);
        using var section = new SshWriter();
        section.WriteUInt32(0x11223344).WriteUInt32(0x11223344);
        original.WritePrivate(section);
        section.WriteString("me@host").WriteRaw([1, 2, 3]);
        using var file = new SshWriter();
        file.WriteRaw("openssh-key-v1\0"u8).WriteString("none").WriteString("none").WriteString([]).WriteUInt32(1)
            .WriteString(original.PublicKey.Blob.Span).WriteString(section.AsSpan());
        string text = "-----BEGIN OPENSSH PRIVATE KEY-----\n" + Convert.ToBase64String(file.AsSpan(), Base64FormattingOptions.InsertLineBreaks) +
            "\n-----END OPENSSH PRIVATE KEY-----\n";
        using var key = PrivateKeyFile.Read(text, KeySource.HostStore);
        Assert.Equal(original.PublicKey, key.PublicKey);
        Assert.Equal("me@host", key.Comment);
    }

    [Fact]
    public void Read_EncryptedOpenSshFile_RefusedWithWayOut()
    {
        using var file = new SshWriter();
        file.WriteRaw("openssh-key-v1\0"u8).WriteString("aes256-ctr").WriteString("bcrypt").WriteString([]).WriteUInt32(1);
        string text = "-----BEGIN OPENSSH PRIVATE KEY-----\n" + Convert.ToBase64String(file.AsSpan()) + "\n-----END OPENSSH PRIVATE KEY-----\n";
        var e = Assert.Throws<SshFormatException>(() => PrivateKeyFile.Read(text, KeySource.HostStore));
        Assert.Contains("--from-agent", e.Message, StringComparison.Ordinal);
    }
}
