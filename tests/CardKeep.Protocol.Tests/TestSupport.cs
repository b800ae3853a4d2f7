using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using CardKeep.Protocol;

namespace CardKeep.Protocol.Tests;

/// <summary>Deterministic randomness for known-answer tests: SHA-256(seed ‖ counter) blocks.</summary>
public sealed class SeededRandom(string seed) : ITrk1Random
{
    private readonly byte[] _seed = Encoding.UTF8.GetBytes(seed);
    private long _counter;

    public void Fill(Span<byte> destination)
    {
        int offset = 0;
        while (offset < destination.Length)
        {
            var input = new byte[_seed.Length + 8];
            _seed.CopyTo(input, 0);
            BitConverter.TryWriteBytes(input.AsSpan(_seed.Length), _counter++);
            var block = SHA256.HashData(input);
            int n = Math.Min(block.Length, destination.Length - offset);
            block.AsSpan(0, n).CopyTo(destination[offset..]);
            offset += n;
        }
    }
}

/// <summary>A clock the test moves by hand.</summary>
public sealed class ManualClock(DateTimeOffset now) : TimeProvider
{
    public DateTimeOffset Now { get; set; } = now;

    public override DateTimeOffset GetUtcNow() => Now;
}

/// <summary>An issuer and server keys for both suites, made once per test run (RSA-3072 generation is slow).</summary>
public static class TestPki
{
    public static readonly DateTimeOffset Now = new(2026, 6, 1, 12, 0, 0, TimeSpan.Zero);

    private static readonly Lazy<Pki> _default = new(() => Pki.Create("CardKeep Test Issuer"));
    private static readonly Lazy<Pki> _other = new(() => Pki.Create("CardKeep Test Issuer"));

    /// <summary>The issuer tokens trust.</summary>
    public static Pki Default => _default.Value;

    /// <summary>Another issuer with the same subject name (a token must refuse its servers).</summary>
    public static Pki Other => _other.Value;
}

public sealed class Pki
{
    private Pki(ECDsa issuerKey, X509Certificate2 issuer, Trk1ServerKey r, Trk1ServerKey e, RSA rsa, ECDiffieHellman ecdh)
    {
        IssuerKey = issuerKey;
        Issuer = issuer;
        ServerR = r;
        ServerE = e;
        RsaKey = rsa;
        EcdhKey = ecdh;
    }

    public ECDsa IssuerKey { get; }

    public X509Certificate2 Issuer { get; }

    public Trk1ServerKey ServerR { get; }

    public Trk1ServerKey ServerE { get; }

    public RSA RsaKey { get; }

    public ECDiffieHellman EcdhKey { get; }

    public byte[] Anchor => Issuer.RawData;

    public Trk1ServerKey Server(Trk1Suite suite) => suite == Trk1Suite.R ? ServerR : ServerE;

    public static Pki Create(string name)
    {
        var issuerKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var issuer = Trk1Certificates.CreateIssuer(name, issuerKey, TestPki.Now.AddYears(-1), TestPki.Now.AddYears(5));
        var rsa = RSA.Create(3072);
        var ecdh = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
        var r = Trk1ServerKey.FromPkcs8(Sign(issuer, issuerKey, new PublicKey(rsa)), rsa.ExportPkcs8PrivateKey());
        var e = Trk1ServerKey.FromPkcs8(Sign(issuer, issuerKey, new PublicKey(ecdh)), ecdh.ExportPkcs8PrivateKey());
        return new Pki(issuerKey, issuer, r, e, rsa, ecdh);
    }

    public static X509Certificate2 Sign(X509Certificate2 issuer, ECDsa issuerKey, PublicKey key, Func<Trk1Certificates.ServerCertificateOptions, Trk1Certificates.ServerCertificateOptions>? change = null)
    {
        var options = new Trk1Certificates.ServerCertificateOptions { CommonName = "auth.test", NotBefore = TestPki.Now.AddDays(-1), NotAfter = TestPki.Now.AddDays(300) };
        return Trk1Certificates.CreateServerCertificate(issuer, issuerKey, key, change is null ? options : change(options), Trk1Certificates.NewSerial(SystemTrk1Random.Instance));
    }

    /// <summary>A server key for <paramref name="suite"/> whose certificate is built with changed options (wrong EKU, expired, …).</summary>
    public Trk1ServerKey ServerWith(Trk1Suite suite, Func<Trk1Certificates.ServerCertificateOptions, Trk1Certificates.ServerCertificateOptions> change)
    {
        if (suite == Trk1Suite.R)
        {
            return Trk1ServerKey.FromPkcs8(Sign(Issuer, IssuerKey, new PublicKey(RsaKey), change), RsaKey.ExportPkcs8PrivateKey());
        }

        return Trk1ServerKey.FromPkcs8(Sign(Issuer, IssuerKey, new PublicKey(EcdhKey), change), EcdhKey.ExportPkcs8PrivateKey());
    }
}
