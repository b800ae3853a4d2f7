using System.Formats.Asn1;
using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace CardKeep.Cards.Piv;

/// <summary>
/// Attestation certificates in the YubiKey form (ATTEST, INS F9): an X.509 certificate for a slot's public key,
/// issued under the attestation certificate of slot F9 and signed with its key, with the Yubico extensions
/// 1.3.6.1.4.1.41482.3.3 firmware version (3 raw bytes), .3.7 serial number (DER INTEGER), .3.8 PIN and touch
/// policy (2 raw bytes) and .3.9 form factor (1 raw byte). Subject: <c>CN=YubiKey PIV Attestation 9a</c>.
/// </summary>
public static class PivAttestation
{
    /// <summary>Yubico extension: firmware version.</summary>
    public const string FirmwareVersionOid = "1.3.6.1.4.1.41482.3.3";

    /// <summary>Yubico extension: serial number.</summary>
    public const string SerialNumberOid = "1.3.6.1.4.1.41482.3.7";

    /// <summary>Yubico extension: PIN and touch policy.</summary>
    public const string PolicyOid = "1.3.6.1.4.1.41482.3.8";

    /// <summary>Yubico extension: form factor.</summary>
    public const string FormFactorOid = "1.3.6.1.4.1.41482.3.9";

    /// <summary>
    /// Issues the attestation certificate for <paramref name="slotKey"/> in <paramref name="slot"/>. The validity is copied
    /// from <paramref name="attestationCertificate"/>, the serial number is random. Returns DER, as ATTEST answers.
    /// </summary>
    /// <param name="attestationCertificate">The F9 certificate (its subject becomes the issuer).</param>
    /// <param name="attestationKey">The F9 private key (RSA or EC).</param>
    /// <param name="slot">The attested slot.</param>
    /// <param name="slotKey">The attested slot's public key.</param>
    /// <param name="firmware">Firmware version to state.</param>
    /// <param name="serial">Serial number to state.</param>
    /// <param name="policy">PIN and touch policy to state.</param>
    /// <param name="formFactor">Form factor byte (YubiKey: 1 USB-A keychain, 2 nano, 3 USB-C keychain, …; 0 unknown).</param>
    public static byte[] CreateCertificate(X509Certificate2 attestationCertificate, PivPrivateKey attestationKey, PivSlot slot, PivPublicKey slotKey,
        YubicoVersion firmware, uint serial, PivKeyPolicy policy, byte formFactor = 0)
    {
        ArgumentNullException.ThrowIfNull(attestationCertificate);
        ArgumentNullException.ThrowIfNull(attestationKey);
        ArgumentNullException.ThrowIfNull(slotKey);
        var subject = new X500DistinguishedName(string.Create(CultureInfo.InvariantCulture, $"CN=YubiKey PIV Attestation {(byte)slot:x2}"));
        var request = new CertificateRequest(subject, slotKey.ToX509PublicKey(), HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509Extension(FirmwareVersionOid, firmware.Encode(), critical: false));
        var serialWriter = new AsnWriter(AsnEncodingRules.DER);
        serialWriter.WriteInteger(serial);
        request.CertificateExtensions.Add(new X509Extension(SerialNumberOid, serialWriter.Encode(), critical: false));
        request.CertificateExtensions.Add(new X509Extension(PolicyOid, [(byte)policy.Pin, (byte)policy.Touch], critical: false));
        request.CertificateExtensions.Add(new X509Extension(FormFactorOid, [formFactor], critical: false));

        var serialNumber = RandomNumberGenerator.GetBytes(16);
        serialNumber[0] &= 0x7F;
        serialNumber[0] |= 0x01;
        using AsymmetricAlgorithm signer = attestationKey.Algorithm.IsRsa() ? attestationKey.CreateRsa() : attestationKey.CreateECDsa();
        var generator = signer is RSA rsa
            ? X509SignatureGenerator.CreateForRSA(rsa, RSASignaturePadding.Pkcs1)
            : X509SignatureGenerator.CreateForECDsa((ECDsa)signer);
        using var certificate = request.Create(attestationCertificate.SubjectName, generator,
            attestationCertificate.NotBefore.ToUniversalTime(), attestationCertificate.NotAfter.ToUniversalTime(), serialNumber);
        return certificate.RawData;
    }

    /// <summary>
    /// A self-signed certificate for an attestation key (slot F9), e.g. for a virtual card that is its own attestation root.
    /// Returns DER.
    /// </summary>
    public static byte[] CreateAuthorityCertificate(PivPrivateKey attestationKey, string subject, DateTimeOffset notBefore, DateTimeOffset notAfter)
    {
        ArgumentNullException.ThrowIfNull(attestationKey);
        using AsymmetricAlgorithm key = attestationKey.Algorithm.IsRsa() ? attestationKey.CreateRsa() : attestationKey.CreateECDsa();
        var name = new X500DistinguishedName(subject);
        var request = key is RSA rsa
            ? new CertificateRequest(name, rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1)
            : new CertificateRequest(name, (ECDsa)key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign, true));
        using var certificate = request.CreateSelfSigned(notBefore, notAfter);
        return certificate.RawData;
    }

    /// <summary>Reads the Yubico extensions of an attestation certificate; absent ones are null.</summary>
    public static (YubicoVersion? Firmware, uint? Serial, PivKeyPolicy? Policy, byte? FormFactor) ReadExtensions(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        byte[]? Raw(string oid) => certificate.Extensions[oid]?.RawData;
        var firmware = Raw(FirmwareVersionOid);
        var serial = Raw(SerialNumberOid);
        var policy = Raw(PolicyOid);
        var formFactor = Raw(FormFactorOid);
        return (
            firmware is { Length: 3 } ? YubicoVersion.Parse(firmware) : null,
            serial is null ? null : (uint)new AsnReader(serial, AsnEncodingRules.DER).ReadInteger(),
            policy is { Length: 2 } ? new PivKeyPolicy((PinPolicy)policy[0], (TouchPolicy)policy[1]) : null,
            formFactor is { Length: 1 } ? formFactor[0] : null);
    }
}
