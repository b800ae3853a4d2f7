using System.Security.Cryptography.X509Certificates;
using CardKeep.Protocol;

namespace CardKeep.Server.Hosting;

/// <summary>
/// The server's TRK1 keys: server-R.crt + server-R.key (RSA-3072, suite R) and server-E.crt + server-E.key (ECDH
/// P-256, suite E) from the certificate folder, as <c>cardkeep issuer sign-server</c> writes them (PEM certificate,
/// PEM PKCS#8 key, 0600). Either may be missing; a suite without a key refuses its requests.
/// </summary>
public sealed class ServerKeys : IDisposable
{
    private readonly Dictionary<Trk1Suite, Trk1ServerKey> _keys;

    /// <summary>Uses the keys given (tests, benchmarks).</summary>
    public ServerKeys(IEnumerable<Trk1ServerKey> keys)
    {
        _keys = keys.ToDictionary(k => k.Suite);
    }

    /// <summary>The suites with a key.</summary>
    public IReadOnlyCollection<Trk1Suite> Suites => _keys.Keys;

    /// <summary>The key for <paramref name="suite"/>, or null.</summary>
    public Trk1ServerKey? For(Trk1Suite suite) => _keys.GetValueOrDefault(suite);

    /// <summary>The file names for a suite in <paramref name="directory"/>.</summary>
    public static (string Certificate, string Key) FilesFor(string directory, Trk1Suite suite) =>
        (Path.Combine(directory, $"server-{(char)suite}.crt"), Path.Combine(directory, $"server-{(char)suite}.key"));

    /// <summary>Loads whatever suites have both files in <paramref name="directory"/>.</summary>
    public static ServerKeys Load(string directory)
    {
        var keys = new List<Trk1ServerKey>();
        foreach (var suite in new[] { Trk1Suite.R, Trk1Suite.E })
        {
            var (certFile, keyFile) = FilesFor(directory, suite);
            if (!File.Exists(certFile) || !File.Exists(keyFile))
            {
                continue;
            }

            var certificate = X509CertificateLoader.LoadCertificate(PemDer(File.ReadAllText(certFile), "CERTIFICATE", certFile));
            var pkcs8 = PemDer(File.ReadAllText(keyFile), "PRIVATE KEY", keyFile);
            try
            {
                var key = Trk1ServerKey.FromPkcs8(certificate, pkcs8);
                if (key.Suite != suite)
                {
                    key.Dispose();
                    throw new InvalidOperationException($"{certFile} does not hold a suite {(char)suite} key");
                }

                keys.Add(key);
            }
            finally
            {
                System.Security.Cryptography.CryptographicOperations.ZeroMemory(pkcs8);
            }
        }

        return new ServerKeys(keys);
    }

    private static byte[] PemDer(string text, string label, string file)
    {
        var fields = System.Security.Cryptography.PemEncoding.Find(text);
        if (!text[fields.Label].Equals(label, StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"{file}: expected a PEM '{label}'");
        }

        return Convert.FromBase64String(text[fields.Base64Data]);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        foreach (var key in _keys.Values)
        {
            key.Dispose();
        }
    }
}
