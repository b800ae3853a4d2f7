using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CardKeep.Cards.Piv;
using CardKeep.VirtualCard.Store;

namespace CardKeep.Manager;

/// <summary>
/// Key escrow for a card issuer: key pairs are generated in an escrow VSC, then imported into a real card
/// (PIV IMPORT KEY). The VSC is then exported and locked away; when the card is lost, the VSC (inserted as a card)
/// decrypts what was encrypted to the card. This is the one flow in which private keys leave a VSC, and only a VSC
/// whose role is <see cref="VscRole.Escrow"/> allows it.
/// </summary>
public static class Escrow
{
    /// <summary>Generates a key pair in <paramref name="slot"/> of the VSC and a self-signed certificate for it.</summary>
    public static X509Certificate2 GenerateKey(VirtualSmartCard vsc, PivSlot slot, PivAlgorithm algorithm, string subject, PinPolicy pinPolicy = PinPolicy.Default)
    {
        ArgumentNullException.ThrowIfNull(vsc);
        if (vsc.Header.Role != VscRole.Escrow)
        {
            throw new ManagerException($"{vsc.Header.Id} is not an escrow VSC (role {vsc.Header.Role.ToString().ToLowerInvariant()}); create one with 'cardkeep vsc new --role escrow'");
        }

        if (!PivCardCrypto.CanGenerate(algorithm))
        {
            throw new ManagerException($"{algorithm.DisplayName()} keys cannot be generated here (RSA-2048, P-256 and P-384 can)");
        }

        using var key = PivCardCrypto.GenerateKeyPair(algorithm);
        byte[] pkcs8 = key.ExportPkcs8();
        try
        {
            X509Certificate2 certificate;
            byte[] spki;
            var name = new X500DistinguishedName(subject);
            var notBefore = DateTimeOffset.UtcNow.AddMinutes(-5);
            var notAfter = notBefore.AddYears(3);
            if (algorithm.IsRsa())
            {
                using var rsa = key.CreateRsa();
                spki = rsa.ExportSubjectPublicKeyInfo();
                var request = new CertificateRequest(name, rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
                AddUsage(request, slot);
                certificate = request.CreateSelfSigned(notBefore, notAfter);
            }
            else
            {
                using var ec = key.CreateECDsa();
                spki = ec.ExportSubjectPublicKeyInfo();
                var request = new CertificateRequest(name, ec, algorithm == PivAlgorithm.EccP384 ? HashAlgorithmName.SHA384 : HashAlgorithmName.SHA256);
                AddUsage(request, slot);
                certificate = request.CreateSelfSigned(notBefore, notAfter);
            }

            byte policy = (byte)(pinPolicy == PinPolicy.Default ? DefaultPinPolicy(slot) : pinPolicy);
            vsc.PutKey((byte)slot, (byte)algorithm, policy, (byte)TouchPolicy.Never, origin: 1, pkcs8, spki);
            vsc.PutPublicObject(PivDataObject.CertificateFor(slot).Tag, PivCertificateContainer.Encode(certificate.RawData));
            return X509CertificateLoader.LoadCertificate(certificate.RawData);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(pkcs8);
        }
    }

    private static PinPolicy DefaultPinPolicy(PivSlot slot) => slot switch
    {
        PivSlot.Signature => PinPolicy.Always,
        PivSlot.CardAuthentication => PinPolicy.Never,
        _ => PinPolicy.Once,
    };

    private static void AddUsage(CertificateRequest request, PivSlot slot)
    {
        var usage = slot switch
        {
            PivSlot.KeyManagement => X509KeyUsageFlags.KeyEncipherment | X509KeyUsageFlags.KeyAgreement | X509KeyUsageFlags.DataEncipherment,
            PivSlot.Signature => X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.NonRepudiation,
            _ => X509KeyUsageFlags.DigitalSignature,
        };
        request.CertificateExtensions.Add(new X509KeyUsageExtension(usage, critical: true));
    }

    /// <summary>
    /// Imports every key of the escrow VSC (and the slot's certificate) into the card behind <paramref name="target"/>,
    /// which must already be authenticated with its management key. Returns the slots transferred.
    /// </summary>
    public static IReadOnlyList<PivSlot> TransferKeys(VirtualSmartCard vsc, VscUnlock unlock, PivSession target)
    {
        ArgumentNullException.ThrowIfNull(vsc);
        ArgumentNullException.ThrowIfNull(target);
        if (vsc.Header.Role != VscRole.Escrow)
        {
            throw new ManagerException($"private keys never leave {vsc.Header.Id}: only an escrow VSC's keys can be transferred");
        }

        var done = new List<PivSlot>();
        foreach (var key in vsc.Keys.OrderBy(k => k.Slot))
        {
            var slot = (PivSlot)key.Slot;
            vsc.UsePrivateKey(key.Slot, unlock, pkcs8 =>
            {
                target.ImportKey(slot, pkcs8, (PinPolicy)key.PinPolicy, (TouchPolicy)key.TouchPolicy);
                return true;
            });
            if (vsc.GetPublicObject(PivDataObject.CertificateFor(slot).Tag) is { } container)
            {
                target.PutData(PivDataObject.CertificateFor(slot).Tag, container);
            }

            done.Add(slot);
        }

        return done;
    }
}
