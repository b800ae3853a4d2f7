using System.CommandLine;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using CardKeep.Cli.Trk1;
using CardKeep.Client;
using CardKeep.Client.Tokens;
using CardKeep.Protocol;
using CardKeep.Protocol.Configuration;

namespace CardKeep.Cli.Commands;

/// <summary>
/// <c>cardkeep token provision | register | session | config | request | list</c>: a token (software file, VSC or
/// PIV card) as a TRK1 client.
/// </summary>
internal static class TokenCommands
{
    public static void Add(RootCommand root)
    {
        var token = new Command("token", "Registration tokens: provision with the issuer certificate, register with a server, open sessions, apply configuration") { Paths.StoreOption };
        token.Add(Provision());
        token.Add(Register());
        token.Add(Session());
        token.Add(Config());
        token.Add(Request());
        token.Add(List());
        root.Add(token);
    }

    private static Command Provision()
    {
        var selection = new TokenSelection();
        var issuerCert = new Option<string?>("--issuer-cert") { Description = "The issuer certificate to embed (default $CARDKEEP_HOME/issuer/issuer.crt)" };
        var command = new Command("provision", "Embed the issuer certificate (the trust anchor) and a serial in a token: a card or VSC object, or a new software token file") { issuerCert };
        selection.AddTo(command);
        command.SetAction(parse => Trk1Cli.GuardAsync(() =>
        {
            using var issuer = IssuerFiles.ReadCertificate(parse.GetValue(issuerCert) ?? IssuerFiles.CertificatePath(IssuerFiles.DefaultDirectory()));
            var (vsc, reader, file) = selection.Read(parse);
            TokenIdentity identity;
            string what;
            if (file is not null)
            {
                using var created = SoftwareToken.Create(file, new TokenIdentity(RandomNumberGenerator.GetBytes(Trk1Limits.TokenSerialLength), issuer.RawData));
                identity = created.ReadIdentity();
                what = created.Description;
            }
            else if (vsc is not null)
            {
                using var card = Paths.Store(parse).Open(vsc);
                identity = VscToken.Provision(card, issuer.RawData);
                what = $"VSC {card.Header.Id} (object 5FFF14)";
            }
            else
            {
                using var opened = selection.Open(parse);
                identity = ((PivToken)opened.Token).Provision(issuer.RawData);
                what = $"{opened.Token.Description} (object 5FFF14)";
            }

            Console.WriteLine($"provisioned {what}: serial {Convert.ToHexStringLower(identity.Serial)}, trusts {issuer.Subject} (SHA-256 {issuer.GetCertHashString(HashAlgorithmName.SHA256)})");
            return Task.FromResult(ExitCodes.Ok);
        }));
        return command;
    }

    private static Command Register()
    {
        var selection = new TokenSelection();
        var server = Trk1Cli.ServerOption();
        var suite = new Option<string>("--suite") { Description = "R (RSA-OAEP key transport) or E (ECDH, default)", DefaultValueFactory = _ => "E" };
        var user = new Option<string>("--user") { Description = "User name to register (lower case)", Required = true };
        var code = new Option<string?>("--activation-code") { Description = "One-time activation code from the administrator (or set CARDKEEP_ACTIVATION_CODE)" };
        var host = new Option<string?>("--host") { Description = "Host name to report if the server's template asks (default this machine's)" };
        var location = new Option<string?>("--location") { Description = "Location to report if the server's template asks" };
        var pin = Trk1Cli.TokenPin();
        var command = new Command("register", "Register the token with a server (TRK1 REG1-REG5); the shared key is stored in the token under its PIN") { server, suite, user, code, host, location, pin.Option };
        selection.AddTo(command);
        command.SetAction((parse, cancellationToken) =>
        {
            var s = Trk1Cli.ParseSuite(parse.GetValue(suite)!);
            string username = Protocol.Registration.Trk1Names.Canonicalize(parse.GetValue(user)!);
            string activation = parse.GetValue(code) ?? Environment.GetEnvironmentVariable("CARDKEEP_ACTIVATION_CODE") ?? string.Empty;
            return WithTokenAsync(parse, selection, pin, server, async (client, opened, secret, uri) =>
            {
                if (!Protocol.Registration.Trk1Names.IsCanonicalUsername(username))
                {
                    throw new UsageException("--user: letters, digits and . _ - @ only, at most 64 bytes");
                }

                var answers = new Dictionary<string, string> { ["host"] = parse.GetValue(host) ?? Environment.MachineName };
                if (parse.GetValue(location) is { } l)
                {
                    answers["location"] = l;
                }

                var registration = await client.RegisterAsync(opened.Token, secret, s, username, activation, answers, cancellationToken);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"registered {opened.Token.Description} as {username} at {uri} (suite {registration.Suite}, token handle {Convert.ToHexStringLower(registration.TokenHandle)[..8]}…, access path {registration.AccessPath}, key valid until {DateTimeOffset.FromUnixTimeMilliseconds(registration.SskNotAfter):u})"));
                return ExitCodes.Ok;
            });
        });
        return command;
    }

    private static Command Session()
    {
        var selection = new TokenSelection();
        var server = Trk1Cli.ServerOption();
        var allowPsk = new Option<bool>("--allow-psk-only") { Description = "Accept a server that offers sessions without forward secrecy" };
        var pin = Trk1Cli.TokenPin();
        var command = new Command("session", "Authenticate both ways with the server (TRK1 S1-S3) and report the session") { server, allowPsk, pin.Option };
        selection.AddTo(command);
        command.SetAction((parse, cancellationToken) => WithTokenAsync(parse, selection, pin, server, async (client, opened, secret, uri) =>
        {
            using var session = await client.OpenSessionAsync(opened.Token, secret, parse.GetValue(allowPsk), cancellationToken);
            Console.WriteLine($"session established with {uri} as {session.User}: server and token authenticated, forward secrecy {(session.Mode == Trk1Mode.PskOnly ? "NO (PSK only)" : "yes")}");
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Config()
    {
        var selection = new TokenSelection();
        var server = Trk1Cli.ServerOption();
        var location = new Option<string?>("--location") { Description = "Where this machine is (entitlements may be limited to locations)" };
        var host = new Option<string?>("--host") { Description = "Host name to report (default this machine's)" };
        var clientDir = new Option<string?>("--client-dir") { Description = "Where configuration is written (default $CARDKEEP_HOME/client)" };
        var pin = Trk1Cli.TokenPin();
        var command = new Command("config", "Open a session, send this system's information and apply the configuration the server returns (TRK1 S4-S5)")
        {
            server, location, host, clientDir, pin.Option, CliSupport.JsonOption,
        };
        selection.AddTo(command);
        command.SetAction((parse, cancellationToken) => WithTokenAsync(parse, selection, pin, server, async (client, opened, secret, uri) =>
        {
            var applier = new ConfigApplier(parse.GetValue(clientDir) ?? ClientPaths.Directory());
            using var session = await client.OpenSessionAsync(opened.Token, secret, cancellationToken: cancellationToken);
            var info = new UserInfo
            {
                Host = parse.GetValue(host) ?? Environment.MachineName,
                Location = parse.GetValue(location),
                Os = System.Runtime.InteropServices.RuntimeInformation.OSDescription,
                Client = "cardkeep " + typeof(TokenCommands).Assembly.GetName().Version,
            };
            var config = await session.ExchangeConfigAsync(info, applier.AppliedPolicyVersion(session.ServerId), cancellationToken: cancellationToken);
            var applied = applier.Apply(config, session.ServerId, uri.ToString());
            if (parse.GetValue(CliSupport.JsonOption))
            {
                CliSupport.WriteJson(new { user = config.User, policyVersion = config.PolicyVersion, entitlements = config.Entitlements, applied = applied.Actions, directory = applier.Directory });
            }
            else
            {
                Console.WriteLine($"applied policy version {config.PolicyVersion} for {config.User} in {applier.Directory}:");
                foreach (var action in applied.Actions)
                {
                    Console.WriteLine("  " + action);
                }

                Console.WriteLine($"entitlements: {(config.Entitlements.Count == 0 ? "none" : string.Join(", ", config.Entitlements.Select(e => e.Application + (e.Roles.Count > 0 ? " (" + string.Join(',', e.Roles) + ")" : string.Empty))))}");
            }

            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Request()
    {
        var selection = new TokenSelection();
        var server = Trk1Cli.ServerOption();
        var app = new Option<string>("--app") { Description = "Application name", Required = true };
        var method = new Option<string>("--method", "-X") { Description = "HTTP method", DefaultValueFactory = _ => "GET" };
        var data = new Option<string?>("--data", "-d") { Description = "Request body (text)" };
        var location = new Option<string?>("--location") { Description = "Location to report before the request" };
        var path = new Argument<string>("PATH") { Description = "Path and query on the application server, e.g. /pages/home" };
        var pin = Trk1Cli.TokenPin();
        var command = new Command("request", "Send one request to an application server through the CardKeep gateway (needs an entitlement)") { server, app, method, data, location, path, pin.Option };
        selection.AddTo(command);
        command.SetAction((parse, cancellationToken) => WithTokenAsync(parse, selection, pin, server, async (client, opened, secret, uri) =>
        {
            using var session = await client.OpenSessionAsync(opened.Token, secret, cancellationToken: cancellationToken);
            await session.ExchangeConfigAsync(new UserInfo { Host = Environment.MachineName, Location = parse.GetValue(location) }, 0, cancellationToken: cancellationToken);
            string? body = parse.GetValue(data);
            var response = await session.RequestAsync(parse.GetValue(app)!, parse.GetValue(method)!.ToUpperInvariant(), parse.GetValue(path)!,
                body is null ? null : Encoding.UTF8.GetBytes(body), body is null ? null : "text/plain; charset=utf-8", cancellationToken);
            if (response.Error is not null)
            {
                Console.Error.WriteLine($"gateway: {response.Status} {response.Error}");
            }

            if (response.Body is not null)
            {
                Console.WriteLine(Encoding.UTF8.GetString(Convert.FromBase64String(response.Body)));
            }

            return response.Status is >= 200 and < 300 ? ExitCodes.Ok : ExitCodes.Failed;
        }));
        return command;
    }

    private static Command List()
    {
        var selection = new TokenSelection();
        var pin = Trk1Cli.TokenPin();
        var command = new Command("list", "Show the token's serial, trust anchor and registrations (no keys)") { pin.Option, CliSupport.JsonOption };
        selection.AddTo(command);
        command.SetAction(parse => Trk1Cli.GuardAsync(() =>
        {
            using var opened = selection.Open(parse);
            var identity = opened.Token.ReadIdentity();
            var secret = ReadPin(parse, pin, opened, confirm: false);
            try
            {
                var registrations = opened.Token.ReadRegistrations(secret);
                var view = registrations.Select(r => new { server = r.ServerUrl, user = r.User, suite = r.Suite, accessPath = r.AccessPath, serverId = Convert.ToHexStringLower(r.ServerId)[..16] }).ToList();
                if (parse.GetValue(CliSupport.JsonOption))
                {
                    CliSupport.WriteJson(new { serial = Convert.ToHexStringLower(identity.Serial), registrations = view });
                }
                else
                {
                    Console.WriteLine($"{opened.Token.Description}: serial {Convert.ToHexStringLower(identity.Serial)}");
                    foreach (var r in view)
                    {
                        Console.WriteLine($"  {r.server} as {r.user} (suite {r.suite}, {r.accessPath})");
                    }
                }

                return Task.FromResult(ExitCodes.Ok);
            }
            finally
            {
                CryptographicOperations.ZeroMemory(secret);
            }
        }));
        return command;
    }

    /// <summary>Opens the token, reads its PIN, makes a client for --server, runs <paramref name="body"/>, and zeroes the PIN.</summary>
    private static Task<int> WithTokenAsync(ParseResult parse, TokenSelection selection, SecretOption pin, Option<string> server,
        Func<Trk1Client, OpenedToken, byte[], Uri, Task<int>> body) => Trk1Cli.GuardAsync(async () =>
    {
        using var servers = await ServerList.OpenAsync(parse.GetValue(server)!, TimeSpan.FromSeconds(60), CancellationToken.None);
        var uri = servers.Server;
        using var opened = selection.Open(parse);
        var secret = ReadPin(parse, pin, opened, confirm: false);
        try
        {
            using var client = new Trk1Client(uri, servers.Http);
            return await body(client, opened, secret, uri);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(secret);
        }
    });

    private static byte[] ReadPin(ParseResult parse, SecretOption pin, OpenedToken opened, bool confirm)
    {
        var secret = pin.Read(parse, confirm);
        if (opened.IsSoftware && secret.Length < SoftwareToken.MinimumPassphraseLength)
        {
            CryptographicOperations.ZeroMemory(secret);
            throw new UsageException($"a software token's passphrase must have at least {SoftwareToken.MinimumPassphraseLength} characters (it can be guessed offline from a copied file)");
        }

        if (!opened.IsSoftware && secret.Length is 0 or > 8)
        {
            CryptographicOperations.ZeroMemory(secret);
            throw new UsageException("a card or VSC PIN has 1 to 8 characters");
        }

        return secret;
    }
}
