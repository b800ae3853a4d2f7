using System.CommandLine;
using System.Security.Cryptography;
using CardKeep.Cards.PcSc;
using CardKeep.Client.Tokens;
using CardKeep.Protocol;
using CardKeep.Server.Hosting;

namespace CardKeep.Cli.Trk1;

/// <summary>Options and error handling shared by the server, issuer, token and admin commands.</summary>
internal static class Trk1Cli
{
    public const string DefaultServer = "http://127.0.0.1:5080";

    public static Option<string> ServerOption() => new("--server")
    {
        Description = $"The CardKeep server's URL, or several separated by commas (the fastest healthy one is used; default $CARDKEEP_SERVER, else {DefaultServer})",
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("CARDKEEP_SERVER") is { Length: > 0 } env ? env : DefaultServer,
    };

    public static SecretOption TokenPin() => new("--pin", "CARDKEEP_PIN", "token PIN (card, VSC) or passphrase (software token)");

    public static SecretOption IssuerPassphrase() => new("--passphrase", "CARDKEEP_ISSUER_PASSPHRASE", "issuer key passphrase");

    public static Uri ParseServer(string url)
    {
        if (!Uri.TryCreate(url.EndsWith('/') ? url : url + "/", UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            throw new UsageException($"--server '{url}' is not an http(s) URL");
        }

        return uri;
    }

    public static Trk1Suite ParseSuite(string suite) => suite.ToUpperInvariant() switch
    {
        "R" => Trk1Suite.R,
        "E" => Trk1Suite.E,
        _ => throw new UsageException($"--suite must be R (RSA-OAEP) or E (ECDH), not '{suite}'"),
    };

    /// <summary>Runs a command body: protocol, token and connection failures become exit 1 with a plain message; the rest goes to CliSupport.</summary>
    public static Task<int> GuardAsync(Func<Task<int>> body) => CliSupport.GuardAsync(async () =>
    {
        try
        {
            return await body().ConfigureAwait(false);
        }
        catch (Trk1Exception e)
        {
            Console.Error.WriteLine($"error: {Explain(e)}");
            return ExitCodes.Failed;
        }
        catch (TokenException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return ExitCodes.Failed;
        }
        catch (HttpRequestException e)
        {
            Console.Error.WriteLine($"error: the server could not be reached: {e.Message}");
            return ExitCodes.Environment;
        }
    });

    private static string Explain(Trk1Exception e) => e.Failure switch
    {
        Trk1Failure.PeerError => "the server refused the request (it gives no reason to clients: check the activation code, user name and token, or the server log)",
        Trk1Failure.BadCertificate => $"the server's certificate is not acceptable to this token ({e.Detail}); it must be signed by the token's issuer, valid now, and carry the TRK1 server usage",
        Trk1Failure.RateLimited => "the server's rate limit refused the request; try again later",
        _ => $"protocol failure: {e.Failure} ({e.Detail})",
    };
}

/// <summary>Which token a command uses: --vsc ID, --reader R or --file PATH (exactly one).</summary>
internal sealed class TokenSelection
{
    public Option<string?> Vsc { get; } = new("--vsc") { Description = "A VSC in the store (its id or label)" };

    public Option<string?> Reader { get; } = new("--reader", "-r") { Description = "A PIV card in a PC/SC reader (name, index or unique substring)" };

    public Option<string?> File { get; } = new("--file") { Description = "A software token file (JSON)" };

    public SecretOption ManagementKey { get; } = Secrets.ManagementKey();

    public void AddTo(Command command)
    {
        command.Add(Vsc);
        command.Add(Reader);
        command.Add(File);
        command.Add(ManagementKey.Option);
    }

    public (string? Vsc, string? Reader, string? File) Read(ParseResult parse)
    {
        var selected = (parse.GetValue(Vsc), parse.GetValue(Reader), parse.GetValue(File));
        int count = new[] { selected.Item1, selected.Item2, selected.Item3 }.Count(v => !string.IsNullOrEmpty(v));
        if (count != 1)
        {
            throw new UsageException("name the token with exactly one of --vsc ID, --reader R or --file PATH");
        }

        return selected;
    }

    /// <summary>Opens the selected token (for --reader, through pcscd; writes need the management key).</summary>
    public OpenedToken Open(ParseResult parse)
    {
        var (vsc, reader, file) = Read(parse);
        if (file is not null)
        {
            return new OpenedToken(new SoftwareToken(file), true);
        }

        if (vsc is not null)
        {
            var card = Paths.Store(parse).Open(vsc);
            return new OpenedToken(new VscToken(card, ownsCard: true), false);
        }

        var context = PcscContext.Establish();
        try
        {
            var channel = context.Connect(CliSupport.ResolveReader(context, reader!));
            var key = Commands.VscCommands.ReadManagementKey(parse, ManagementKey, out _);
            try
            {
                return new OpenedToken(new PivToken(channel, key), false, channel, context);
            }
            finally
            {
                CryptographicOperations.ZeroMemory(key);
            }
        }
        catch
        {
            context.Dispose();
            throw;
        }
    }
}

/// <summary>An open token and what must be closed with it.</summary>
internal sealed class OpenedToken(ITokenStore token, bool isSoftware, params IDisposable[] owned) : IDisposable
{
    public ITokenStore Token { get; } = token;

    public bool IsSoftware { get; } = isSoftware;

    public void Dispose()
    {
        Token.Dispose();
        foreach (var o in owned)
        {
            o.Dispose();
        }
    }
}

/// <summary>The client data folder: $CARDKEEP_HOME/client.</summary>
internal static class ClientPaths
{
    public static string Directory() => Path.Combine(DataFiles.Home(), "client");
}
