using System.Security.Cryptography;
using CardKeep.Cards.Piv;

namespace CardKeep.Cards.Tests.Piv;

public sealed class OpenSslRawRsaTests
{
    [Fact]
    public void TryPrivate_Pkcs1Block_EqualsDotNetSignatureAndIsUsed()
    {
        using var rsa = RSA.Create(2048);
        var parameters = rsa.ExportParameters(true);
        byte[] hash = SHA256.HashData("CardKeep"u8);
        byte[] block = PivRsaPadding.PadSignature(hash, HashAlgorithmName.SHA256, 256);
        var output = new byte[256];
        Assert.True(OpenSslRawRsa.TryPrivate(parameters, block, output), "OpenSSL 3 raw RSA should be available on Debian 12");
        Assert.Equal(rsa.SignHash(hash, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1), output);
    }

    [Fact]
    public void RsaPrivateOperation_EncryptedBlock_DecryptsToType2Padding()
    {
        using var rsa = RSA.Create(2048);
        using var key = PivPrivateKey.FromKey(rsa);
        byte[] ciphertext = rsa.Encrypt("secret"u8.ToArray(), RSAEncryptionPadding.Pkcs1);
        byte[] block = PivCardCrypto.RsaPrivateOperation(key, ciphertext);
        Assert.Equal([0x00, 0x02], block[..2]);
        Assert.Equal("secret"u8.ToArray(), block[^6..]);
    }
}
