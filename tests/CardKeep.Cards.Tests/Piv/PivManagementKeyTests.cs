using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using CardKeep.Cards.Piv;
using FsCheck;
using FsCheck.Fluent;

namespace CardKeep.Cards.Tests.Piv;

[SuppressMessage("Security", "CA5351:Do Not Use Broken Cryptographic Primitives", Justification = "Independent DES-EDE reference for the 3DES code.")]
public class PivManagementKeyTests
{
    /// <summary>Reference 3DES-EDE built from single DES: E_K3(D_K2(E_K1(x))).</summary>
    private static byte[] Ede(byte[] key, byte[] block)
    {
        using var des = DES.Create();
        des.Key = key[..8];
        var a = des.EncryptEcb(block, PaddingMode.None);
        des.Key = key[8..16];
        var b = des.DecryptEcb(a, PaddingMode.None);
        des.Key = key[16..];
        return des.EncryptEcb(b, PaddingMode.None);
    }

    private static Gen<byte[]> Bytes(int n) => Gen.Choose(0, 255).Select(b => (byte)b).ArrayOf(n);

    [Fact]
    public void DefaultKey_Value_IsSpecKeyAndNotWeak()
    {
        Assert.Equal("010203040506070801020304050607080102030405060708", Hex.Of(PivManagementKey.DefaultKey));
        Assert.False(PivManagementKey.IsWeak(PivAlgorithm.TripleDes, PivManagementKey.DefaultKey));
    }

    [Fact]
    public void EncryptBlock_DefaultKey_EqualsDesEde()
    {
        var block = Hex.Bytes("0011223344556677");
        var key = PivManagementKey.DefaultKey.ToArray();
        var encrypted = PivManagementKey.EncryptBlock(PivAlgorithm.TripleDes, key, block);
        Assert.Equal(Ede(key, block), encrypted);
        Assert.Equal(block, PivManagementKey.DecryptBlock(PivAlgorithm.TripleDes, key, encrypted));
    }

    [Fact]
    public void EncryptBlock_RandomThreeKeys_EqualsDesEde()
    {
        var keys = Bytes(24).Where(k => !PivManagementKey.IsWeak(PivAlgorithm.TripleDes, k));
        Prop.ForAll(Arb.From(keys), Arb.From(Bytes(8)), (key, block) =>
        {
            var encrypted = PivManagementKey.EncryptBlock(PivAlgorithm.TripleDes, key, block);
            return encrypted.AsSpan().SequenceEqual(Ede(key, block))
                && PivManagementKey.DecryptBlock(PivAlgorithm.TripleDes, key, encrypted).AsSpan().SequenceEqual(block);
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void EncryptBlock_SecondAndThirdPartEqual_EqualsDesEde()
    {
        var keys = Bytes(16).Select(k => k.Concat(k[8..]).ToArray()).Where(k => !PivManagementKey.IsWeak(PivAlgorithm.TripleDes, k));
        Prop.ForAll(Arb.From(keys), Arb.From(Bytes(8)), (key, block) =>
            PivManagementKey.EncryptBlock(PivAlgorithm.TripleDes, key, block).AsSpan().SequenceEqual(Ede(key, block)))
            .QuickCheckThrowOnFailure();
    }

    [Theory]
    [InlineData(PivAlgorithm.Aes128)]
    [InlineData(PivAlgorithm.Aes192)]
    [InlineData(PivAlgorithm.Aes256)]
    public void EncryptBlock_Aes_EqualsAesEcb(PivAlgorithm algorithm)
    {
        var key = RandomNumberGenerator.GetBytes(algorithm.KeyLength());
        var block = RandomNumberGenerator.GetBytes(16);
        using var aes = Aes.Create();
        aes.Key = key;
        var encrypted = PivManagementKey.EncryptBlock(algorithm, key, block);
        Assert.Equal(aes.EncryptEcb(block, PaddingMode.None), encrypted);
        Assert.Equal(block, PivManagementKey.DecryptBlock(algorithm, key, encrypted));
    }

    [Fact]
    public void EncryptBlock_WrongSizes_Throw()
    {
        Assert.Throws<ArgumentException>(() => PivManagementKey.EncryptBlock(PivAlgorithm.TripleDes, new byte[16], new byte[8]));
        Assert.Throws<ArgumentException>(() => PivManagementKey.EncryptBlock(PivAlgorithm.Aes128, new byte[16], new byte[8]));
        Assert.Throws<ArgumentOutOfRangeException>(() => PivManagementKey.EncryptBlock(PivAlgorithm.Rsa2048, new byte[16], new byte[8]));
    }

    [Theory]
    [InlineData("0101010101010101 1111111111111111 2222222222222222")]
    [InlineData("1111111111111111 FEFEFEFEFEFEFEFE 2222222222222222")]
    [InlineData("1111111111111111 2222222222222222 01FE01FE01FE01FE")]
    [InlineData("1111111111111111 2222222222222222 0000000000000000")]
    public void ValidateNewKey_WeakDesPart_Throws(string hex)
    {
        Assert.True(PivManagementKey.IsWeak(PivAlgorithm.TripleDes, Hex.Bytes(hex)));
        Assert.Throws<ArgumentException>(() => PivManagementKey.ValidateNewKey(PivAlgorithm.TripleDes, Hex.Bytes(hex)));
    }

    [Fact]
    public void ValidateNewKey_AesAllZero_IsAccepted() =>
        PivManagementKey.ValidateNewKey(PivAlgorithm.Aes256, new byte[32]);
}
