using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CardKeep.Cards;
using CardKeep.Cards.Piv;

namespace CardKeep.Client.PersonalEnvironment;

/// <summary>
/// A PIV card (a reader card, a live VSC in pcscd, or an in-process applet) as the environment uses it: the 9D
/// key-management key for the record master key (ECDH or RSA decipher on the card, after the PIN) and the
/// PIN-protected objects 5FFF15–5FFF1C for the card-resident entries (writes need the management key).
/// </summary>
public sealed class PivEnvironmentCard : IRecordKeyCard, IEnvCardObjects, IDisposable
{
    private readonly PivSession _session;
    private readonly byte[]? _managementKey;
    private bool _writesAuthorized;

    /// <summary>
    /// Uses an open session; verifies the PIN now unless <paramref name="pin"/> is empty (the caller verified it).
    /// <paramref name="serial"/> is the card ID the account knows; without <paramref name="managementKey"/> the card's
    /// environment objects are only read.
    /// </summary>
    public PivEnvironmentCard(PivSession session, string serial, ReadOnlySpan<byte> pin, ReadOnlySpan<byte> managementKey)
    {
        _session = session ?? throw new ArgumentNullException(nameof(session));
        Serial = serial;
        _managementKey = managementKey.IsEmpty ? null : managementKey.ToArray();
        if (!pin.IsEmpty && !session.TryVerifyPin(pin, out int? left))
        {
            throw new CardException(left == 0 ? "the card's PIN is blocked; unblock it with the PUK" : $"wrong PIN{(left is int n ? $", {n} tries left" : string.Empty)}");
        }

        KeyManagementKey = ReadKeyManagementKey(session);
    }

    /// <inheritdoc/>
    public string Serial { get; }

    /// <inheritdoc/>
    public PivPublicKey KeyManagementKey { get; }

    /// <inheritdoc/>
    public byte[] KeyAgreement(ReadOnlySpan<byte> peerPoint) => _session.KeyAgreement(PivSlot.KeyManagement, KeyManagementKey.Algorithm, peerPoint);

    /// <inheritdoc/>
    public byte[] RsaDecipher(ReadOnlySpan<byte> block) => _session.Decrypt(PivSlot.KeyManagement, KeyManagementKey.Algorithm, block);

    /// <inheritdoc/>
    public byte[]? Read(uint tag) => _session.GetData(tag);

    /// <inheritdoc/>
    public void Write(uint tag, ReadOnlySpan<byte> content)
    {
        if (!_writesAuthorized)
        {
            if (_managementKey is null)
            {
                throw new CardException("writing the card's environment objects needs the management key (give --mgmt-key)");
            }

            _session.AuthenticateManagementKey(_session.ReadManagementKeyAlgorithm(), _managementKey);
            _writesAuthorized = true;
        }

        _session.PutData(tag, content);
    }

    /// <summary>The 9D public key: from the key's metadata, else from its certificate.</summary>
    public static PivPublicKey ReadKeyManagementKey(PivSession session)
    {
        ArgumentNullException.ThrowIfNull(session);
        try
        {
            if (session.GetMetadata(PivSlot.KeyManagement).PublicKey is { } key)
            {
                return key;
            }
        }
        catch (CardException)
        {
            // Older cards have no metadata: the certificate names the key.
        }

        if (session.ReadCertificateBytes(PivSlot.KeyManagement) is { } der)
        {
            using var certificate = X509CertificateLoader.LoadCertificate(der);
            return PivPublicKey.FromSubjectPublicKeyInfo(certificate.PublicKey.ExportSubjectPublicKeyInfo());
        }

        throw new CardException("the card has no key-management (9D) key; generate one first (e.g. 'cardkeep vsc keygen --slot 9d' or yubico-piv-tool -a generate -s 9d)");
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_managementKey is not null)
        {
            CryptographicOperations.ZeroMemory(_managementKey);
        }
    }
}
