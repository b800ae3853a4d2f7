using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Text;
using CardKeep.Agent.SshAgent;

namespace CardKeep.Agent.Keys;

/// <summary>
/// Reads a private key file for <c>cardkeep hostkey import</c>: an unencrypted OpenSSH file (<c>openssh-key-v1</c>,
/// what ssh-keygen writes with <c>-N ''</c>) or PEM (PKCS#8, PKCS#1 RSA, SEC1 EC; PKCS#8 Ed25519). Encrypted files are
/// refused with a way out: add the key with ssh-add and import it from the agent.
/// </summary>
public static class PrivateKeyFile
{
    private const string OpenSshBegin = "-----BEGIN OPENSSH PRIVATE KEY-----";
    private const string OpenSshEnd = "-----END OPENSSH PRIVATE KEY-----";
    private const string OidEd25519 = "1.3.101.112";

    public static SoftwareKey Read(string text, KeySource source, string? comment = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Contains(OpenSshBegin, StringComparison.Ordinal))
        {
            return ReadOpenSsh(text, source, comment);
        }

        if (text.Contains("ENCRYPTED", StringComparison.Ordinal))
        {
            throw Encrypted();
        }

        var pem = PemEncoding.Find(text);
        string label = text[pem.Label];
        var der = Convert.FromBase64String(text[pem.Base64Data]);
        try
        {
            if (label == "PRIVATE KEY" && IsEd25519Pkcs8(der, out byte[]? seed))
            {
                try
                {
                    using var writer = new SshWriter(160);
                    var publicKey = Ed25519.PublicKeyFromSeed(seed);
                    writer.WriteString(SshKeyTypes.Ed25519Name).WriteString(publicKey).WriteString([.. seed, .. publicKey]);
                    var reader = new SshReader(writer.AsSpan());
                    return SoftwareKey.ReadPrivate(ref reader, comment ?? string.Empty, source);
                }
                finally
                {
                    CryptographicOperations.ZeroMemory(seed);
                }
            }

            if (label is "RSA PRIVATE KEY" || (label == "PRIVATE KEY" && TryRsa(der)))
            {
                var rsa = RSA.Create();
                rsa.ImportFromPem(text);
                if (rsa.KeySize < SoftwareKey.MinRsaBits)
                {
                    rsa.Dispose();
                    throw new SshFormatException($"RSA host keys need at least {SoftwareKey.MinRsaBits} bits");
                }

                return SoftwareKey.FromRsa(rsa, comment ?? string.Empty, source);
            }

            var ecdsa = ECDsa.Create();
            ecdsa.ImportFromPem(text);
            var type = ecdsa.KeySize switch
            {
                256 => SshKeyType.EcdsaP256,
                384 => SshKeyType.EcdsaP384,
                521 => SshKeyType.EcdsaP521,
                _ => throw new SshFormatException("only NIST P-256, P-384 and P-521 EC keys are supported"),
            };
            return SoftwareKey.FromEcdsa(type, ecdsa, comment ?? string.Empty, source);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(der);
        }
    }

    private static SoftwareKey ReadOpenSsh(string text, KeySource source, string? comment)
    {
        int start = text.IndexOf(OpenSshBegin, StringComparison.Ordinal) + OpenSshBegin.Length;
        int end = text.IndexOf(OpenSshEnd, start, StringComparison.Ordinal);
        if (end < 0)
        {
            throw new SshFormatException("the OpenSSH private key file has no end line");
        }

        byte[] data;
        try
        {
            data = Convert.FromBase64String(text[start..end].Replace("\n", string.Empty, StringComparison.Ordinal).Replace("\r", string.Empty, StringComparison.Ordinal));
        }
        catch (FormatException e)
        {
            throw new SshFormatException("the OpenSSH private key file is not base64", e);
        }

        try
        {
            var magic = "openssh-key-v1\0"u8;
            if (!data.AsSpan().StartsWith(magic))
            {
                throw new SshFormatException("not an openssh-key-v1 file");
            }

            var reader = new SshReader(data.AsSpan(magic.Length));
            string cipher = reader.ReadAscii();
            string kdf = reader.ReadAscii();
            reader.ReadString();
            if (cipher != "none" || kdf != "none")
            {
                throw Encrypted();
            }

            if (reader.ReadUInt32() != 1)
            {
                throw new SshFormatException("the file must hold exactly one key");
            }

            reader.ReadString();
            var section = new SshReader(reader.ReadString());
            if (section.ReadUInt32() != section.ReadUInt32())
            {
                throw new SshFormatException("the private section's check words differ (damaged file)");
            }

            var key = SoftwareKey.ReadPrivate(ref section, string.Empty, source);
            key.Comment = comment ?? Encoding.UTF8.GetString(section.ReadString());
            return key;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(data);
        }
    }

    private static bool TryRsa(byte[] der)
    {
        try
        {
            using var rsa = RSA.Create();
            rsa.ImportPkcs8PrivateKey(der, out _);
            return true;
        }
        catch (CryptographicException)
        {
            return false;
        }
    }

    private static bool IsEd25519Pkcs8(byte[] der, out byte[] seed)
    {
        seed = [];
        try
        {
            var reader = new AsnReader(der, AsnEncodingRules.DER);
            var info = reader.ReadSequence();
            info.ReadInteger();
            var algorithm = info.ReadSequence();
            if (algorithm.ReadObjectIdentifier() != OidEd25519)
            {
                return false;
            }

            var inner = new AsnReader(info.ReadOctetString(), AsnEncodingRules.DER);
            seed = inner.ReadOctetString();
            return seed.Length == Ed25519.SeedLength;
        }
        catch (AsnContentException)
        {
            return false;
        }
    }

    private static SshFormatException Encrypted() => new(
        "encrypted key files are not read here: add the key with 'ssh-add FILE' and import it from the agent with 'cardkeep hostkey import --from-agent FINGERPRINT'");
}
