using System.Security.Cryptography.X509Certificates;
using CardKeep.Cards.Piv;

namespace CardKeep.Cards.Tests.Piv;

public class PivAttestationTests
{
    [Fact]
    public void CreateCertificate_SlotKey_ChainsToAttestationCertWithYubicoExtensions()
    {
        using var authorityKey = PivCardCrypto.GenerateKeyPair(PivAlgorithm.EccP256);
        var authorityDer = PivAttestation.CreateAuthorityCertificate(authorityKey, "CN=CardKeep Attestation",
            DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(10));
        using var authority = X509CertificateLoader.LoadCertificate(authorityDer);
        using var slotKey = PivCardCrypto.GenerateKeyPair(PivAlgorithm.Rsa2048);

        var der = PivAttestation.CreateCertificate(authority, authorityKey, PivSlot.Authentication, slotKey.PublicKey,
            new YubicoVersion(5, 4, 3), 12345678, new PivKeyPolicy(PinPolicy.Once, TouchPolicy.Always), formFactor: 1);

        using var certificate = X509CertificateLoader.LoadCertificate(der);
        Assert.Equal("CN=YubiKey PIV Attestation 9a", certificate.Subject);
        Assert.Equal("CN=CardKeep Attestation", certificate.Issuer);
        Assert.Equal(slotKey.PublicKey.ToSubjectPublicKeyInfo(), certificate.PublicKey.ExportSubjectPublicKeyInfo());
        var (firmware, serial, policy, formFactor) = PivAttestation.ReadExtensions(certificate);
        Assert.Equal(new YubicoVersion(5, 4, 3), firmware);
        Assert.Equal(12345678u, serial);
        Assert.Equal(new PivKeyPolicy(PinPolicy.Once, TouchPolicy.Always), policy);
        Assert.Equal((byte)1, formFactor);
        Assert.Equal("050403", Hex.Of(certificate.Extensions[PivAttestation.FirmwareVersionOid]!.RawData));

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(authority);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        Assert.True(chain.Build(certificate), string.Join("; ", chain.ChainStatus.Select(s => s.StatusInformation)));
    }
}
