using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace CardKeep.Protocol;

/// <summary>
/// Issuer (Pi) and server certificates (spec §2.1) and the client's checks C2/C3. The private extended key usages
/// live under a UUID-derived arc (ITU-T X.667, 2.25.&lt;uuid&gt;) that CardKeep generated for itself, so no registration
/// is needed and no one else's arc is used.
/// </summary>
public static class Trk1Certificates
{
    /// <summary>CardKeep's private arc.</summary>
    public const string Arc = "2.25.286772835514672324596647120205015954134";

    /// <summary><c>id-trk-server</c>: EKU of a TRK1 server key-transport certificate.</summary>
    public const string ServerEku = Arc + ".1";

    /// <summary><c>id-trk-server-sig</c>: EKU reserved for the KCI-hardened signing certificate.</summary>
    public const string ServerSignatureEku = Arc + ".2";

    /// <summary>Longest server certificate validity the tooling issues.</summary>
    public static readonly TimeSpan MaxServerValidity = TimeSpan.FromDays(365);

    private const string P256Oid = "1.2.840.10045.3.1.7";

    /// <summary>
    /// A self-signed issuer (CA) certificate: BasicConstraints(CA, pathLen 0, critical), KeyUsage keyCertSign|cRLSign
    /// (critical), SubjectKeyIdentifier; ECDSA P-256 with SHA-256.
    /// </summary>
    public static X509Certificate2 CreateIssuer(string commonName, ECDsa key, DateTimeOffset notBefore, DateTimeOffset notAfter)
    {
        ArgumentNullException.ThrowIfNull(key);
        var request = new CertificateRequest(new X500DistinguishedName("CN=" + Escape(commonName)), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        return request.CreateSelfSigned(notBefore, notAfter);
    }

    /// <summary>Options for a server certificate; the overrides exist so tests can build wrong ones.</summary>
    public sealed record ServerCertificateOptions
    {
        /// <summary>Subject common name (also the DNS SAN when it looks like a host name).</summary>
        public required string CommonName { get; init; }

        /// <summary>Start of validity.</summary>
        public required DateTimeOffset NotBefore { get; init; }

        /// <summary>End of validity (at most <see cref="MaxServerValidity"/> after <see cref="NotBefore"/>).</summary>
        public required DateTimeOffset NotAfter { get; init; }

        /// <summary>Key usage; default keyEncipherment for RSA, keyAgreement for ECDH.</summary>
        public X509KeyUsageFlags? KeyUsage { get; init; }

        /// <summary>Extended key usages; default <see cref="ServerEku"/>.</summary>
        public IReadOnlyList<string>? ExtendedKeyUsages { get; init; }

        /// <summary>Mark the leaf as a CA (only for negative tests).</summary>
        public bool CertificateAuthority { get; init; }
    }

    /// <summary>
    /// Signs a server certificate for <paramref name="subjectKey"/> (an RSA key for suite R, an ECDH P-256 key for
    /// suite E) with the issuer's ECDSA key. Uses <c>X509SignatureGenerator.CreateForECDsa</c>, because
    /// <c>Create(issuerCert, …)</c> refuses an ECDSA issuer with a non-ECDSA subject (spec §2.1 gotcha).
    /// </summary>
    public static X509Certificate2 CreateServerCertificate(X509Certificate2 issuer, ECDsa issuerKey, PublicKey subjectKey, ServerCertificateOptions options, byte[] serial)
    {
        ArgumentNullException.ThrowIfNull(issuer);
        ArgumentNullException.ThrowIfNull(issuerKey);
        ArgumentNullException.ThrowIfNull(subjectKey);
        ArgumentNullException.ThrowIfNull(options);
        bool isRsa = subjectKey.Oid.Value == "1.2.840.113549.1.1.1";
        var request = new CertificateRequest(new X500DistinguishedName("CN=" + Escape(options.CommonName)), subjectKey, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(options.CertificateAuthority, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(options.KeyUsage ?? (isRsa ? X509KeyUsageFlags.KeyEncipherment : X509KeyUsageFlags.KeyAgreement), true));
        var ekus = new OidCollection();
        foreach (var eku in options.ExtendedKeyUsages ?? [ServerEku])
        {
            ekus.Add(new Oid(eku));
        }

        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(ekus, false));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(issuer, true, false));
        if (Uri.CheckHostName(options.CommonName) is UriHostNameType.Dns or UriHostNameType.IPv4)
        {
            var san = new SubjectAlternativeNameBuilder();
            if (Uri.CheckHostName(options.CommonName) == UriHostNameType.IPv4)
            {
                san.AddIpAddress(System.Net.IPAddress.Parse(options.CommonName));
            }
            else
            {
                san.AddDnsName(options.CommonName);
            }

            request.CertificateExtensions.Add(san.Build());
        }

        var generator = X509SignatureGenerator.CreateForECDsa(issuerKey);
        return request.Create(issuer.SubjectName, generator, options.NotBefore, options.NotAfter, serial);
    }

    /// <summary>A random positive 16-byte serial number.</summary>
    public static byte[] NewSerial(ITrk1Random random)
    {
        var serial = random.Bytes(16);
        serial[0] = (byte)((serial[0] & 0x7F) | 0x01);
        return serial;
    }

    /// <summary>server_id = SHA-256 of the certificate's SubjectPublicKeyInfo.</summary>
    public static byte[] ServerId(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        return SHA256.HashData(certificate.PublicKey.ExportSubjectPublicKeyInfo());
    }

    /// <summary>
    /// C2 + C3: the chain from <paramref name="leafDer"/> through <paramref name="intermediates"/> ends at exactly
    /// <paramref name="anchorDer"/> (Pi) with no status at any element at <paramref name="now"/>, the leaf carries
    /// <see cref="ServerEku"/>, is not a CA, has the key usage of its suite, and its key is RSA ≥ 3072 (R) or P-256 (E).
    /// Returns the leaf; any failure is <see cref="Trk1Failure.BadCertificate"/>.
    /// </summary>
    public static X509Certificate2 ValidateServerCertificate(ReadOnlySpan<byte> leafDer, IReadOnlyList<byte[]> intermediates, ReadOnlySpan<byte> anchorDer, Trk1Suite suite, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(intermediates);
        X509Certificate2 leaf;
        X509Certificate2 anchor;
        try
        {
            leaf = X509CertificateLoader.LoadCertificate(leafDer);
            anchor = X509CertificateLoader.LoadCertificate(anchorDer);
        }
        catch (CryptographicException)
        {
            throw new Trk1Exception(Trk1Failure.BadCertificate, "certificate does not parse");
        }

        using (anchor)
        {
            bool ok = false;
            try
            {
                CheckChain(leaf, intermediates, anchor, now);
                CheckLeaf(leaf, suite);
                ok = true;
                return leaf;
            }
            finally
            {
                if (!ok)
                {
                    leaf.Dispose();
                }
            }
        }
    }

    private static void CheckChain(X509Certificate2 leaf, IReadOnlyList<byte[]> intermediates, X509Certificate2 anchor, DateTimeOffset now)
    {
        using var chain = new X509Chain();
        var policy = chain.ChainPolicy;
        policy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        policy.CustomTrustStore.Add(anchor);
        policy.RevocationMode = X509RevocationMode.NoCheck;
        policy.DisableCertificateDownloads = true;
        policy.ApplicationPolicy.Add(new Oid(ServerEku));
        policy.VerificationTime = now.UtcDateTime;
        policy.VerificationTimeIgnored = false;
        var extra = new List<X509Certificate2>();
        try
        {
            foreach (var der in intermediates)
            {
                extra.Add(X509CertificateLoader.LoadCertificate(der));
            }

            policy.ExtraStore.AddRange(extra.ToArray());
            bool built = chain.Build(leaf);
            if (!built || chain.ChainStatus.Length != 0 || chain.ChainElements.Any(e => e.ChainElementStatus.Length != 0))
            {
                throw new Trk1Exception(Trk1Failure.BadCertificate, "chain does not build to the token's issuer");
            }

            var root = chain.ChainElements[^1].Certificate;
            if (!root.RawDataMemory.Span.SequenceEqual(anchor.RawDataMemory.Span))
            {
                throw new Trk1Exception(Trk1Failure.BadCertificate, "chain ends at another root");
            }
        }
        catch (CryptographicException)
        {
            throw new Trk1Exception(Trk1Failure.BadCertificate, "chain certificate does not parse");
        }
        finally
        {
            foreach (var c in chain.ChainElements)
            {
                if (!ReferenceEquals(c.Certificate, leaf))
                {
                    c.Certificate.Dispose();
                }
            }

            foreach (var c in extra)
            {
                c.Dispose();
            }
        }
    }

    private static void CheckLeaf(X509Certificate2 leaf, Trk1Suite suite)
    {
        var constraints = leaf.Extensions.OfType<X509BasicConstraintsExtension>().FirstOrDefault();
        if (constraints is { CertificateAuthority: true })
        {
            throw new Trk1Exception(Trk1Failure.BadCertificate, "server certificate is a CA");
        }

        var usage = leaf.Extensions.OfType<X509KeyUsageExtension>().FirstOrDefault()?.KeyUsages ?? X509KeyUsageFlags.None;
        switch (suite)
        {
            case Trk1Suite.R:
            {
                using var rsa = leaf.GetRSAPublicKey();
                if (rsa is null || rsa.KeySize < 3072 || !usage.HasFlag(X509KeyUsageFlags.KeyEncipherment))
                {
                    throw new Trk1Exception(Trk1Failure.BadCertificate, "suite R needs an RSA >= 3072 key with keyEncipherment");
                }

                break;
            }

            case Trk1Suite.E:
            {
                using var ec = leaf.GetECDiffieHellmanPublicKey();
                if (ec is null || ec.ExportParameters(false).Curve.Oid?.Value != P256Oid || !usage.HasFlag(X509KeyUsageFlags.KeyAgreement))
                {
                    throw new Trk1Exception(Trk1Failure.BadCertificate, "suite E needs a P-256 key with keyAgreement");
                }

                break;
            }

            default:
                throw new Trk1Exception(Trk1Failure.BadHeader, "unsupported suite");
        }
    }

    private static string Escape(string commonName)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(commonName);
        if (commonName.IndexOfAny([',', '+', '"', '\\', '<', '>', ';', '=']) >= 0)
        {
            throw new ArgumentException("common name must not contain , + \" \\ < > ; =", nameof(commonName));
        }

        return commonName;
    }
}

/// <summary>A server's key-transport certificate and private key for one suite; <see cref="ServerId"/> is H(SPKI).</summary>
public sealed class Trk1ServerKey : IDisposable
{
    private Trk1ServerKey(Trk1Suite suite, X509Certificate2 certificate, IReadOnlyList<byte[]> intermediates, RSA? rsa, ECDiffieHellman? ecdh)
    {
        Suite = suite;
        Certificate = certificate;
        Intermediates = intermediates;
        Rsa = rsa;
        Ecdh = ecdh;
        ServerId = Trk1Certificates.ServerId(certificate);
    }

    /// <summary>The suite this key serves.</summary>
    public Trk1Suite Suite { get; }

    /// <summary>The server certificate C_S.</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>DER intermediates sent after the leaf (usually none).</summary>
    public IReadOnlyList<byte[]> Intermediates { get; }

    /// <summary>Suite R private key.</summary>
    public RSA? Rsa { get; }

    /// <summary>Suite E static private key.</summary>
    public ECDiffieHellman? Ecdh { get; }

    /// <summary>server_id = SHA-256(SPKI of C_S).</summary>
    public byte[] ServerId { get; }

    /// <summary>Builds a key from a certificate and the PKCS#8 private key; the key must belong to the certificate.</summary>
    public static Trk1ServerKey FromPkcs8(X509Certificate2 certificate, ReadOnlySpan<byte> pkcs8, IReadOnlyList<byte[]>? intermediates = null)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        if (certificate.GetRSAPublicKey() is { } rsaPublic)
        {
            using (rsaPublic)
            {
                var rsa = RSA.Create();
                rsa.ImportPkcs8PrivateKey(pkcs8, out _);
                if (!rsa.ExportSubjectPublicKeyInfo().AsSpan().SequenceEqual(certificate.PublicKey.ExportSubjectPublicKeyInfo()))
                {
                    rsa.Dispose();
                    throw new ArgumentException("the private key does not belong to the certificate", nameof(pkcs8));
                }

                return new Trk1ServerKey(Trk1Suite.R, certificate, intermediates ?? [], rsa, null);
            }
        }

        var ecdh = ECDiffieHellman.Create();
        ecdh.ImportPkcs8PrivateKey(pkcs8, out _);
        if (!ecdh.ExportSubjectPublicKeyInfo().AsSpan().SequenceEqual(certificate.PublicKey.ExportSubjectPublicKeyInfo()))
        {
            ecdh.Dispose();
            throw new ArgumentException("the private key does not belong to the certificate", nameof(pkcs8));
        }

        return new Trk1ServerKey(Trk1Suite.E, certificate, intermediates ?? [], null, ecdh);
    }

    /// <summary>
    /// A new server key for <paramref name="suite"/> (RSA-3072 for R, ECDH P-256 for E) with its certificate signed by
    /// the issuer (<c>cardkeep issuer sign-server</c>; tests).
    /// </summary>
    public static Trk1ServerKey Generate(X509Certificate2 issuer, ECDsa issuerKey, Trk1Suite suite, Trk1Certificates.ServerCertificateOptions options, ITrk1Random random)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.NotAfter - options.NotBefore > Trk1Certificates.MaxServerValidity)
        {
            throw new ArgumentException("a server certificate is valid for at most 365 days", nameof(options));
        }

        switch (suite)
        {
            case Trk1Suite.R:
            {
                var rsa = RSA.Create(3072);
                return ForRsa(Trk1Certificates.CreateServerCertificate(issuer, issuerKey, new PublicKey(rsa), options, Trk1Certificates.NewSerial(random)), rsa);
            }

            case Trk1Suite.E:
            {
                var ecdh = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
                return ForEcdh(Trk1Certificates.CreateServerCertificate(issuer, issuerKey, new PublicKey(ecdh), options, Trk1Certificates.NewSerial(random)), ecdh);
            }

            default:
                throw new ArgumentOutOfRangeException(nameof(suite), suite, "suite R or E");
        }
    }

    /// <summary>The private key as PKCS#8 DER (the caller zeroes it).</summary>
    public byte[] ExportPkcs8() => Rsa?.ExportPkcs8PrivateKey() ?? Ecdh!.ExportPkcs8PrivateKey();

    /// <summary>Builds a key that owns <paramref name="rsa"/> (suite R).</summary>
    public static Trk1ServerKey ForRsa(X509Certificate2 certificate, RSA rsa) => new(Trk1Suite.R, certificate, [], rsa, null);

    /// <summary>Builds a key that owns <paramref name="ecdh"/> (suite E).</summary>
    public static Trk1ServerKey ForEcdh(X509Certificate2 certificate, ECDiffieHellman ecdh) => new(Trk1Suite.E, certificate, [], null, ecdh);

    /// <inheritdoc/>
    public void Dispose()
    {
        Rsa?.Dispose();
        Ecdh?.Dispose();
        Certificate.Dispose();
    }
}
