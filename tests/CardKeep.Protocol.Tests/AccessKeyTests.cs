using System.Security.Cryptography;
using CardKeep.Protocol.Recovery;

namespace CardKeep.Protocol.Tests;

/// <summary>Access keys (typed form, per-group checks, verifier) and card proofs.</summary>
public sealed class AccessKeyTests
{
    [Fact]
    public void ToString_KnownBytes_GroupsAreWordsTimesEleven()
    {
        var bytes = Convert.FromHexString("0000000100ff0100ffff123480007fff");
        using var key = AccessKey.FromBytes(bytes);
        // 0×11, 1×11, 255×11, 256×11, 65535×11, 0x1234×11, 0x8000×11, 0x7fff×11
        Assert.Equal("000000-000011-002805-002816-720885-051260-360448-360437", key.ToString());
    }

    [Fact]
    public void Generate_ThenParse_RoundTripsBytes()
    {
        using var rng = RandomNumberGenerator.Create();
        for (var i = 0; i < 50; i++)
        {
            using var key = AccessKey.Generate(rng);
            var text = key.ToString();
            Assert.Matches("^([0-9]{6}-){7}[0-9]{6}$", text);
            Assert.True(AccessKey.TryParse(text, out var parsed, out var error), error);
            using (parsed)
            {
                Assert.True(parsed!.Bytes.SequenceEqual(key.Bytes));
            }

            Assert.True(AccessKey.TryParse(text.Replace('-', ' '), out var spaced, out _));
            spaced!.Dispose();
            Assert.True(AccessKey.TryParse(text.Replace("-", "", StringComparison.Ordinal), out var bare, out _));
            bare!.Dispose();
        }
    }

    [Fact]
    public void Generate_TwoKeys_Differ()
    {
        using var rng = RandomNumberGenerator.Create();
        using var a = AccessKey.Generate(rng);
        using var b = AccessKey.Generate(rng);
        Assert.False(a.Bytes.SequenceEqual(b.Bytes));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    [InlineData(7)]
    public void TryParse_OneDigitWrong_NamesTheGroup(int group)
    {
        using var rng = RandomNumberGenerator.Create();
        using var key = AccessKey.Generate(rng);
        var chars = key.ToString().ToCharArray();
        var position = (group * 7) + 5; // last digit of the group
        chars[position] = chars[position] == '9' ? '0' : (char)(chars[position] + 1); // ±1 never keeps a multiple of 11
        Assert.False(AccessKey.TryParse(new string(chars), out var parsed, out var error));
        Assert.Null(parsed);
        Assert.Contains($"group {group + 1}", error, StringComparison.Ordinal);
    }

    [Fact]
    public void TryParse_MultipleOfElevenTooLarge_Refused()
    {
        // 720896 = 65536 × 11: divisible by 11 but beyond 16 bits
        Assert.False(AccessKey.TryParse("720896-000000-000000-000000-000000-000000-000000-000000", out _, out var error));
        Assert.Contains("group 1", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("12345-000000", "48 digits")]
    [InlineData("000000-000000-000000-000000-000000-000000-000000-00000x", "only digits")]
    [InlineData("000000-000000-000000-000000-000000-000000-000000-000000-000000", "48 digits")]
    public void TryParse_BadShape_ClearError(string text, string expected)
    {
        Assert.False(AccessKey.TryParse(text, out _, out var error));
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Dispose_ZeroesAndRefusesUse()
    {
        var key = AccessKey.FromBytes(Enumerable.Repeat((byte)7, 16).ToArray());
        key.Dispose();
        Assert.Throws<ObjectDisposedException>(() => key.ToString());
        Assert.Throws<ObjectDisposedException>(() => key.Bytes.Length);
    }

    [Fact]
    public void Verifier_RightKey_Matches_WrongKeyAndDamagedVerifier_DoNot()
    {
        using var rng = RandomNumberGenerator.Create();
        using var key = AccessKey.Generate(rng);
        using var other = AccessKey.Generate(rng);
        var verifier = AccessKeyVerifier.Create(key, rng, iterations: 1000);
        Assert.StartsWith("pbkdf2-sha256$1000$", verifier, StringComparison.Ordinal);
        Assert.DoesNotContain(key.ToString(), verifier, StringComparison.Ordinal);
        Assert.True(AccessKeyVerifier.IsWellFormed(verifier));
        Assert.True(AccessKeyVerifier.Verify(key, verifier));
        Assert.False(AccessKeyVerifier.Verify(other, verifier));
        Assert.False(AccessKeyVerifier.Verify(key, verifier[..^4] + "AAA="));
        Assert.False(AccessKeyVerifier.Verify(key, "garbage"));
        Assert.False(AccessKeyVerifier.Verify(key, null));
        Assert.False(AccessKeyVerifier.IsWellFormed("pbkdf2-sha256$0$AA==$AA=="));
        // two verifiers of one key differ (random salt)
        Assert.NotEqual(verifier, AccessKeyVerifier.Create(key, rng, iterations: 1000));
    }

    [Theory]
    [InlineData("p256")]
    [InlineData("p384")]
    [InlineData("rsa")]
    public void CardProof_SignedByKey_VerifiesOnlyForSameInputs(string kind)
    {
        var nonce = RandomNumberGenerator.GetBytes(CardProof.NonceBytes);
        byte[] spki;
        byte[] signature;
        var message = CardProof.Message(CardProofPurpose.Login, "alice", "12345678", nonce);
        if (kind == "rsa")
        {
            using var rsa = RSA.Create(2048);
            spki = rsa.ExportSubjectPublicKeyInfo();
            signature = rsa.SignData(message, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        }
        else
        {
            using var ec = ECDsa.Create(kind == "p256" ? ECCurve.NamedCurves.nistP256 : ECCurve.NamedCurves.nistP384);
            spki = ec.ExportSubjectPublicKeyInfo();
            Assert.Equal(kind == "p384" ? HashAlgorithmName.SHA384 : HashAlgorithmName.SHA256, CardProof.HashFor(spki));
            signature = ec.SignData(message, CardProof.HashFor(spki), DSASignatureFormat.Rfc3279DerSequence);
        }

        Assert.True(CardProof.TryDescribeKey(spki, out _));
        Assert.True(CardProof.Verify(spki, CardProofPurpose.Login, "alice", "12345678", nonce, signature));
        Assert.False(CardProof.Verify(spki, CardProofPurpose.Register, "alice", "12345678", nonce, signature));
        Assert.False(CardProof.Verify(spki, CardProofPurpose.Login, "bob", "12345678", nonce, signature));
        Assert.False(CardProof.Verify(spki, CardProofPurpose.Login, "alice", "12345679", nonce, signature));
        nonce[0] ^= 1;
        Assert.False(CardProof.Verify(spki, CardProofPurpose.Login, "alice", "12345678", nonce, signature));
        Assert.False(CardProof.Verify([1, 2, 3], CardProofPurpose.Login, "alice", "12345678", nonce, signature));
    }

    [Fact]
    public void CardProof_EcdsaP1363Signature_Accepted()
    {
        var nonce = RandomNumberGenerator.GetBytes(CardProof.NonceBytes);
        using var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var spki = ec.ExportSubjectPublicKeyInfo();
        var signature = ec.SignData(CardProof.Message(CardProofPurpose.Replace, "u", "s", nonce), HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        Assert.True(CardProof.Verify(spki, CardProofPurpose.Replace, "u", "s", nonce, signature));
    }

    [Fact]
    public void CardProof_SmallRsaKey_Refused()
    {
        using var rsa = RSA.Create(1024);
        Assert.False(CardProof.TryDescribeKey(rsa.ExportSubjectPublicKeyInfo(), out var error));
        Assert.Contains("RSA 2048", error, StringComparison.Ordinal);
    }
}
