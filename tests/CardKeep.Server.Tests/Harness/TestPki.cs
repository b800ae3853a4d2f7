using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CardKeep.Protocol;

namespace CardKeep.Server.Tests.Harness;

/// <summary>One issuer and one server key per suite for the whole run (RSA-3072 generation is slow); each server gets its own key objects.</summary>
public static class TestPki
{
    private static readonly Lazy<Material> _material = new(Create);

    public static byte[] Issuer => _material.Value.IssuerDer;

    public static ECDsa IssuerKey => _material.Value.IssuerKey;

    public static X509Certificate2 IssuerCertificate => _material.Value.IssuerCertificate;

    /// <summary>Fresh key objects (the server disposes them).</summary>
    public static IReadOnlyList<Trk1ServerKey> ServerKeys() =>
        _material.Value.Keys.Select(k => Trk1ServerKey.FromPkcs8(X509CertificateLoader.LoadCertificate(k.Certificate), k.Pkcs8)).ToList();

    public static byte[] ServerId(Trk1Suite suite) => SHA256.HashData(X509CertificateLoader.LoadCertificate(_material.Value.Keys.First(k => k.Suite == suite).Certificate).PublicKey.ExportSubjectPublicKeyInfo());

    private sealed record KeyMaterial(Trk1Suite Suite, byte[] Certificate, byte[] Pkcs8);

    private sealed record Material(byte[] IssuerDer, ECDsa IssuerKey, X509Certificate2 IssuerCertificate, IReadOnlyList<KeyMaterial> Keys);

    private static Material Create()
    {
        var now = DateTimeOffset.UtcNow;
        var issuerKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var issuer = Trk1Certificates.CreateIssuer("CardKeep Server Tests Issuer", issuerKey, now.AddDays(-1), now.AddYears(5));
        var keys = new List<KeyMaterial>();
        foreach (var suite in new[] { Trk1Suite.R, Trk1Suite.E })
        {
            using var key = Trk1ServerKey.Generate(issuer, issuerKey, suite,
                new Trk1Certificates.ServerCertificateOptions { CommonName = "127.0.0.1", NotBefore = now.AddDays(-1), NotAfter = now.AddDays(300) }, SystemTrk1Random.Instance);
            keys.Add(new KeyMaterial(suite, key.Certificate.RawData, key.ExportPkcs8()));
        }

        return new Material(issuer.RawData, issuerKey, issuer, keys);
    }
}
