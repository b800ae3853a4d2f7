using System.Security.Cryptography;
using CardKeep.Cards.Piv;

namespace CardKeep.Cards.Tests.Piv;

public class PivConstantsTests
{
    [Theory]
    [InlineData(PivAlgorithm.TripleDes, 0x03, 24, 8)]
    [InlineData(PivAlgorithm.Aes128, 0x08, 16, 16)]
    [InlineData(PivAlgorithm.Aes192, 0x0A, 24, 16)]
    [InlineData(PivAlgorithm.Aes256, 0x0C, 32, 16)]
    public void ManagementAlgorithm_Values_MatchSpec(PivAlgorithm algorithm, byte value, int keyLength, int blockSize)
    {
        Assert.Equal(value, (byte)algorithm);
        Assert.True(algorithm.IsManagementKey());
        Assert.False(algorithm.IsAsymmetric());
        Assert.Equal(keyLength, algorithm.KeyLength());
        Assert.Equal(blockSize, algorithm.BlockSize());
    }

    [Theory]
    [InlineData(PivAlgorithm.Rsa1024, 0x06, 1024)]
    [InlineData(PivAlgorithm.Rsa2048, 0x07, 2048)]
    [InlineData(PivAlgorithm.Rsa3072, 0x05, 3072)]
    [InlineData(PivAlgorithm.Rsa4096, 0x16, 4096)]
    public void RsaAlgorithm_Values_MatchSpec(PivAlgorithm algorithm, byte value, int bits)
    {
        Assert.Equal(value, (byte)algorithm);
        Assert.True(algorithm.IsRsa());
        Assert.False(algorithm.IsEcc());
        Assert.Equal(bits, algorithm.KeySizeBits());
        Assert.Equal(algorithm, PivAlgorithmExtensions.RsaForKeySize(bits));
    }

    [Fact]
    public void EccAlgorithms_Values_MatchSpecAndCurves()
    {
        Assert.Equal(0x11, (byte)PivAlgorithm.EccP256);
        Assert.Equal(0x14, (byte)PivAlgorithm.EccP384);
        Assert.Equal(0xE0, (byte)PivAlgorithm.Ed25519);
        Assert.Equal(0xE1, (byte)PivAlgorithm.X25519);
        Assert.Equal(PivAlgorithm.EccP256, PivAlgorithmExtensions.EccForCurve(ECCurve.NamedCurves.nistP256));
        Assert.Equal(PivAlgorithm.EccP384, PivAlgorithmExtensions.EccForCurve(PivAlgorithm.EccP384.ToCurve()));
        Assert.True(PivAlgorithm.Ed25519.IsCurve25519());
        Assert.False(PivAlgorithm.Ed25519.IsEcc());
        Assert.Throws<ArgumentOutOfRangeException>(() => PivAlgorithm.Rsa2048.BlockSize());
        Assert.Throws<CryptographicException>(() => PivAlgorithmExtensions.EccForCurve(ECCurve.NamedCurves.nistP521));
    }

    [Fact]
    public void PivSlot_Values_MatchSpec()
    {
        Assert.Equal(0x9A, (byte)PivSlot.Authentication);
        Assert.Equal(0x9B, (byte)PivSlot.Management);
        Assert.Equal(0x9C, (byte)PivSlot.Signature);
        Assert.Equal(0x9D, (byte)PivSlot.KeyManagement);
        Assert.Equal(0x9E, (byte)PivSlot.CardAuthentication);
        Assert.Equal(0x82, (byte)PivSlot.Retired1);
        Assert.Equal(0x95, (byte)PivSlot.Retired20);
        Assert.Equal(0xF9, (byte)PivSlot.Attestation);
        Assert.Equal(PivSlot.Retired7, PivSlotExtensions.Retired(7));
        Assert.Equal(7, PivSlot.Retired7.RetiredNumber());
        Assert.Equal("Retired Key Management 20", PivSlot.Retired20.DisplayName());
        Assert.Equal("PIV Authentication", PivSlot.Authentication.DisplayName());
        Assert.False(PivSlot.Management.HoldsAsymmetricKey());
        Assert.Equal(24, PivSlotExtensions.CertificateSlots.Count);
    }

    [Fact]
    public void Policies_Values_MatchYubicoEncoding()
    {
        Assert.Equal([0, 1, 2, 3, 4, 5], Enum.GetValues<PinPolicy>().Select(p => (int)p));
        Assert.Equal([0, 1, 2, 3], Enum.GetValues<TouchPolicy>().Select(p => (int)p));
        Assert.Equal(PinPolicy.Always, (PinPolicy)3);
        Assert.Equal(TouchPolicy.Cached, (TouchPolicy)3);
    }

    [Theory]
    [InlineData(PivSlot.Authentication, 0x5FC105u)]
    [InlineData(PivSlot.Signature, 0x5FC10Au)]
    [InlineData(PivSlot.KeyManagement, 0x5FC10Bu)]
    [InlineData(PivSlot.CardAuthentication, 0x5FC101u)]
    [InlineData(PivSlot.Retired1, 0x5FC10Du)]
    [InlineData(PivSlot.Retired20, 0x5FC120u)]
    [InlineData(PivSlot.Attestation, 0x5FFF01u)]
    public void CertificateObject_ForSlot_MapsBothWays(PivSlot slot, uint tag)
    {
        var dataObject = PivDataObject.CertificateFor(slot);
        Assert.Equal(tag, dataObject.Tag);
        Assert.Equal(slot, PivDataObject.Find(tag)!.Slot);
        Assert.Equal(dataObject, slot.CertificateObject());
    }

    [Fact]
    public void CertificateObject_ManagementSlot_IsNull()
    {
        Assert.Null(PivDataObject.ForSlot(PivSlot.Management));
        Assert.Throws<ArgumentOutOfRangeException>(() => PivDataObject.CertificateFor(PivSlot.Management));
    }

    [Fact]
    public void RetiredCertificates_Tags_AreConsecutive()
    {
        var retired = PivDataObject.RetiredCertificates;
        Assert.Equal(20, retired.Count);
        for (int i = 0; i < 20; i++)
        {
            Assert.Equal(0x5FC10Du + (uint)i, retired[i].Tag);
            Assert.Equal((PivSlot)(0x82 + i), retired[i].Slot);
        }
    }

    [Theory]
    [InlineData(0x5FC107u, PivReadAccess.Always)]
    [InlineData(0x5FC102u, PivReadAccess.Always)]
    [InlineData(0x7Eu, PivReadAccess.Always)]
    [InlineData(0x5FC109u, PivReadAccess.PinRequired)]
    [InlineData(0x5FC108u, PivReadAccess.PinRequired)]
    [InlineData(0x5FC103u, PivReadAccess.PinRequired)]
    [InlineData(0x5FC121u, PivReadAccess.PinRequired)]
    [InlineData(0x5FC106u, PivReadAccess.Always)]
    [InlineData(0x5FC10Cu, PivReadAccess.Always)]
    [InlineData(0x7F61u, PivReadAccess.Always)]
    [InlineData(0x5FC122u, PivReadAccess.Always)]
    [InlineData(0x5FC123u, PivReadAccess.Always)]
    [InlineData(0x5FFF10u, PivReadAccess.Always)]
    [InlineData(0x5FFF11u, PivReadAccess.Always)]
    [InlineData(0x5FFF12u, PivReadAccess.PinRequired)]
    [InlineData(0x5FFF13u, PivReadAccess.PinRequired)]
    [InlineData(0x5FFF14u, PivReadAccess.Always)]
    [InlineData(0x5FFF15u, PivReadAccess.PinRequired)]
    [InlineData(0x5FFF1Cu, PivReadAccess.PinRequired)]
    [InlineData(0x5FC1FFu, PivReadAccess.Always)]
    public void ReadAccessFor_Tag_FollowsTable(uint tag, PivReadAccess expected) =>
        Assert.Equal(expected, PivDataObject.ReadAccessFor(tag));

    [Fact]
    public void DataObjectTable_All_HasEveryStandardContainerOnce()
    {
        // SP 800-73-4 Part 1 Table 3: 16 containers besides the 20 retired certificates, plus Discovery.
        Assert.Equal(16 + 20, PivDataObject.Standard.Count);
        Assert.Equal(PivDataObject.All.Count, PivDataObject.All.Select(o => o.Tag).Distinct().Count());
        Assert.All(PivDataObject.CardKeepObjects, o => Assert.Equal("CardKeep", o.Owner));
        Assert.All(PivDataObject.CardKeepObjects, o => Assert.InRange(o.Tag, 0x5FFF10u, 0x5FFF1Cu));
        Assert.Equal(Enumerable.Range(0, 8).Select(i => 0x5FFF15u + (uint)i), PivDataObject.CardKeepEnvironment.Select(o => o.Tag));
        Assert.True(PivDataObject.Discovery.IsSelfTagged);
        Assert.True(PivDataObject.BiometricGroupTemplate.IsSelfTagged);
        Assert.False(PivDataObject.Chuid.IsSelfTagged);
        Assert.Equal("5FC102 Card Holder Unique Identifier", PivDataObject.Chuid.ToString());
    }
}
