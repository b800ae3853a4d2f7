using System.CommandLine;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using CardKeep.Cli.Trk1;
using CardKeep.Protocol;
using CardKeep.Server.Hosting;

namespace CardKeep.Cli.Commands;

/// <summary><c>cardkeep issuer init | sign-server</c>: the token issuer (CA) whose certificate tokens carry as their trust anchor.</summary>
internal static class IssuerCommands
{
    public static void Add(RootCommand root)
    {
        var dir = new Option<string?>("--dir") { Description = "Issuer folder (default $CARDKEEP_HOME/issuer)", Recursive = true };
        var issuer = new Command("issuer", "The token issuer: its key signs server certificates; its certificate is embedded in tokens") { dir };
        issuer.Add(Init(dir));
        issuer.Add(SignServer(dir));
        root.Add(issuer);
    }

    private static Command Init(Option<string?> dir)
    {
        var name = new Option<string>("--name") { Description = "Issuer common name", DefaultValueFactory = _ => "CardKeep Token Issuer" };
        var years = new Option<int>("--years") { Description = "Validity in years (1-30)", DefaultValueFactory = _ => 10 };
        var passphrase = Trk1Cli.IssuerPassphrase();
        var command = new Command("init", "Create the issuer: a P-256 key (encrypted at rest under the passphrase) and a self-signed CA certificate") { name, years, passphrase.Option };
        command.SetAction(parse => CliSupport.Guard(() =>
        {
            string directory = Path.GetFullPath(parse.GetValue(dir) ?? IssuerFiles.DefaultDirectory());
            if (File.Exists(IssuerFiles.KeyPath(directory)) || File.Exists(IssuerFiles.CertificatePath(directory)))
            {
                throw new UsageException($"an issuer exists already in {directory}");
            }

            int validity = parse.GetValue(years);
            if (validity is < 1 or > 30)
            {
                throw new UsageException("--years must be 1 to 30");
            }

            var secret = passphrase.Read(parse, confirm: true);
            try
            {
                if (secret.Length < 12)
                {
                    throw new UsageException("the issuer passphrase must have at least 12 characters: it protects the key that every token trusts");
                }

                var now = DateTimeOffset.UtcNow;
                using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
                using var certificate = Trk1Certificates.CreateIssuer(parse.GetValue(name)!, key, now.AddMinutes(-5), now.AddYears(validity));
                IssuerFiles.Write(directory, certificate, key, secret);
                Console.WriteLine($"issuer created in {directory}: {certificate.Subject}, valid until {certificate.NotAfter.ToUniversalTime():u}, SHA-256 {certificate.GetCertHashString(HashAlgorithmName.SHA256)}");
                return ExitCodes.Ok;
            }
            finally
            {
                CryptographicOperations.ZeroMemory(secret);
            }
        }));
        return command;
    }

    private static Command SignServer(Option<string?> dir)
    {
        var suite = new Option<string>("--suite") { Description = "R (RSA-3072, key transport), E (ECDH P-256) or both", DefaultValueFactory = _ => "both" };
        var name = new Option<string>("--name") { Description = "Server name (subject CN; a host name or IPv4 address also goes into the SAN)", DefaultValueFactory = _ => "localhost" };
        var days = new Option<int>("--days") { Description = "Validity in days (1-365)", DefaultValueFactory = _ => 365 };
        var output = new Option<string?>("--out") { Description = "Where the server reads its keys (default $CARDKEEP_HOME/server)" };
        var force = new Option<bool>("--force") { Description = "Replace existing server keys" };
        var passphrase = Trk1Cli.IssuerPassphrase();
        var command = new Command("sign-server", "Make the server's key pair(s) and certificate(s): keyEncipherment (R) or keyAgreement (E), EKU id-trk-server") { suite, name, days, output, force, passphrase.Option };
        command.SetAction(parse => CliSupport.Guard(() =>
        {
            string directory = Path.GetFullPath(parse.GetValue(dir) ?? IssuerFiles.DefaultDirectory());
            string target = Path.GetFullPath(parse.GetValue(output) ?? DataFiles.DefaultServerDirectory());
            int validity = parse.GetValue(days);
            if (validity is < 1 or > 365)
            {
                throw new UsageException("--days must be 1 to 365 (server certificates live at most a year)");
            }

            var suites = parse.GetValue(suite)!.ToUpperInvariant() switch
            {
                "BOTH" => new[] { Trk1Suite.R, Trk1Suite.E },
                var one => [Trk1Cli.ParseSuite(one)],
            };
            foreach (var s in suites)
            {
                var (certFile, keyFile) = ServerKeys.FilesFor(target, s);
                if ((File.Exists(certFile) || File.Exists(keyFile)) && !parse.GetValue(force))
                {
                    throw new UsageException($"{certFile} exists; add --force to replace the server's suite {(char)s} key");
                }
            }

            var secret = passphrase.Read(parse);
            var (issuerCertificate, issuerKey) = IssuerFiles.Open(directory, secret);
            CryptographicOperations.ZeroMemory(secret);
            using (issuerCertificate)
            using (issuerKey)
            {
                DataFiles.CreatePrivateDirectory(target);
                var now = DateTimeOffset.UtcNow;
                var notBefore = now.AddMinutes(-5);
                var notAfter = notBefore.AddDays(validity) < issuerCertificate.NotAfter ? notBefore.AddDays(validity) : new DateTimeOffset(issuerCertificate.NotAfter.ToUniversalTime());
                foreach (var s in suites)
                {
                    using var key = Trk1ServerKey.Generate(issuerCertificate, issuerKey, s, new Trk1Certificates.ServerCertificateOptions
                    {
                        CommonName = parse.GetValue(name)!,
                        NotBefore = notBefore,
                        NotAfter = notAfter,
                    }, SystemTrk1Random.Instance);
                    var (certFile, keyFile) = ServerKeys.FilesFor(target, s);
                    File.Delete(certFile);
                    File.Delete(keyFile);
                    var pkcs8 = key.ExportPkcs8();
                    var pem = PemEncoding.Write("PRIVATE KEY", pkcs8);
                    try
                    {
                        DataFiles.WriteNewPrivateFile(keyFile, Encoding.ASCII.GetBytes(pem));
                        DataFiles.WriteNewPrivateFile(certFile, Encoding.ASCII.GetBytes(key.Certificate.ExportCertificatePem() + "\n"));
                    }
                    finally
                    {
                        CryptographicOperations.ZeroMemory(pkcs8);
                        Array.Clear(pem);
                    }

                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"suite {(char)s}: {certFile} ({(s == Trk1Suite.R ? "RSA-3072, keyEncipherment" : "ECDH P-256, keyAgreement")}, valid until {key.Certificate.NotAfter.ToUniversalTime():u}), server id {Convert.ToHexStringLower(key.ServerId)[..16]}…"));
                }
            }

            Console.WriteLine("restart 'cardkeep server' to use the new keys");
            return ExitCodes.Ok;
        }));
        return command;
    }
}
