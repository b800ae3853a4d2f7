using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using CardKeep.Server.Hosting;

namespace CardKeep.Cli.Trk1;

/// <summary>
/// The issuer (token CA) on disk: issuer.crt (PEM) and issuer.key, a JSON file holding the PKCS#8 ECDSA P-256 key
/// encrypted with AES-256-GCM under a key from PBKDF2-SHA256 (600 000 iterations, 16-byte salt) of the passphrase,
/// with the certificate's SHA-256 as associated data (so a key file cannot be paired with another certificate).
/// </summary>
internal static class IssuerFiles
{
    public const int Iterations = 600_000;
    private const string Format = "cardkeep-issuer-key";

    public static string DefaultDirectory() => Path.Combine(DataFiles.Home(), "issuer");

    public static string CertificatePath(string directory) => Path.Combine(directory, "issuer.crt");

    public static string KeyPath(string directory) => Path.Combine(directory, "issuer.key");

    public static void Write(string directory, X509Certificate2 certificate, ECDsa key, ReadOnlySpan<byte> passphrase, int iterations = Iterations)
    {
        DataFiles.CreatePrivateDirectory(directory);
        var pkcs8 = key.ExportPkcs8PrivateKey();
        var salt = RandomNumberGenerator.GetBytes(16);
        var nonce = RandomNumberGenerator.GetBytes(12);
        var kek = Rfc2898DeriveBytes.Pbkdf2(passphrase, salt, iterations, HashAlgorithmName.SHA256, 32);
        try
        {
            var sealedKey = new byte[pkcs8.Length + 16];
            using (var aes = new AesGcm(kek, 16))
            {
                aes.Encrypt(nonce, pkcs8, sealedKey.AsSpan(0, pkcs8.Length), sealedKey.AsSpan(pkcs8.Length), SHA256.HashData(certificate.RawData));
            }

            var file = new KeyFile(Format, 1, "pbkdf2-sha256", iterations, Convert.ToBase64String(salt), Convert.ToBase64String(nonce), Convert.ToBase64String(sealedKey));
            DataFiles.WriteNewPrivateFile(KeyPath(directory), JsonSerializer.SerializeToUtf8Bytes(file, CliSupport.Json));
            DataFiles.WriteNewPrivateFile(CertificatePath(directory), Encoding.ASCII.GetBytes(certificate.ExportCertificatePem() + "\n"));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(pkcs8);
            CryptographicOperations.ZeroMemory(kek);
        }
    }

    public static X509Certificate2 ReadCertificate(string path)
    {
        if (!File.Exists(path))
        {
            throw new UsageException($"no issuer certificate at {path}; create one with 'cardkeep issuer init' or give --issuer-cert");
        }

        try
        {
            var text = File.ReadAllText(path);
            return text.Contains("-----BEGIN", StringComparison.Ordinal)
                ? X509Certificate2.CreateFromPem(text)
                : X509CertificateLoader.LoadCertificate(File.ReadAllBytes(path));
        }
        catch (CryptographicException e)
        {
            throw new UsageException($"{path} is not a certificate: {e.Message}");
        }
    }

    /// <summary>The issuer's certificate and private key; a wrong passphrase is exit code 1 with a plain message.</summary>
    public static (X509Certificate2 Certificate, ECDsa Key) Open(string directory, ReadOnlySpan<byte> passphrase)
    {
        var certificate = ReadCertificate(CertificatePath(directory));
        KeyFile file;
        try
        {
            file = JsonSerializer.Deserialize<KeyFile>(File.ReadAllBytes(KeyPath(directory)), CliSupport.Json) ?? throw new JsonException("empty");
        }
        catch (Exception e) when (e is JsonException or FileNotFoundException)
        {
            throw new UsageException($"{KeyPath(directory)} is missing or not an issuer key file");
        }

        if (file.Format != Format || file.Version != 1 || file.Kdf != "pbkdf2-sha256" || file.Iterations is < 100_000 or > 10_000_000)
        {
            throw new UsageException($"{KeyPath(directory)}: unknown issuer key format");
        }

        var sealedKey = Convert.FromBase64String(file.Ciphertext);
        var kek = Rfc2898DeriveBytes.Pbkdf2(passphrase, Convert.FromBase64String(file.Salt), file.Iterations, HashAlgorithmName.SHA256, 32);
        var pkcs8 = new byte[Math.Max(0, sealedKey.Length - 16)];
        try
        {
            using (var aes = new AesGcm(kek, 16))
            {
                aes.Decrypt(Convert.FromBase64String(file.Nonce), sealedKey.AsSpan(0, pkcs8.Length), sealedKey.AsSpan(pkcs8.Length), pkcs8, SHA256.HashData(certificate.RawData));
            }

            var key = ECDsa.Create();
            key.ImportPkcs8PrivateKey(pkcs8, out _);
            return (certificate, key);
        }
        catch (CryptographicException)
        {
            throw new IOException("wrong issuer passphrase, or the key file does not belong to issuer.crt");
        }
        finally
        {
            CryptographicOperations.ZeroMemory(kek);
            CryptographicOperations.ZeroMemory(pkcs8);
        }
    }

    private sealed record KeyFile(string Format, int Version, string Kdf, int Iterations, string Salt, string Nonce, string Ciphertext);
}
