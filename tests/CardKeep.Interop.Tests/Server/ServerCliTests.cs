using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using CardKeep.Interop.Tests.Harness;

namespace CardKeep.Interop.Tests.Server;

/// <summary>
/// The whole registration story as a user runs it, every step a real <c>cardkeep</c> process: issuer init, server
/// certificate, <c>cardkeep server</c> on 127.0.0.1 (SQLite in its data folder), activation codes and entitlements
/// through <c>cardkeep admin</c>, tokens provisioned (software token, VSC file, and a live VSC in pcscd), register,
/// session, configuration applied, gateway requests to a test application server.
/// </summary>
public sealed class ServerCliTests : IAsyncLifetime, IDisposable
{
    private const string IssuerPassphrase = "issuer passphrase for tests";
    private const string TokenPassphrase = "token passphrase 1";
    private readonly string _home = Directory.CreateTempSubdirectory("cardkeep-server-cli-").FullName;
    private readonly HttpListener _upstream = new();
    private LiveProcess? _server;
    private string _url = string.Empty;
    private Task? _upstreamLoop;

    private Dictionary<string, string?> Env(params (string Key, string Value)[] extra)
    {
        var env = new Dictionary<string, string?> { ["CARDKEEP_HOME"] = _home, ["CARDKEEP_ISSUER_PASSPHRASE"] = IssuerPassphrase };
        foreach (var (key, value) in extra)
        {
            env[key] = value;
        }

        return env;
    }

    private static async Task<ProcessResult> RunAsync(Dictionary<string, string?> env, params string[] args) =>
        await CardKeepCli.RunAsync(args, env, timeout: TimeSpan.FromSeconds(120));

    private static async Task<ProcessResult> OkAsync(Dictionary<string, string?> env, params string[] args)
    {
        var result = await RunAsync(env, args);
        Assert.True(result.ExitCode == 0, $"cardkeep {string.Join(' ', args)}\n{result}");
        return result;
    }

    public async Task InitializeAsync()
    {
        int port;
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }

        _upstream.Prefixes.Add($"http://127.0.0.1:{port}/");
        _upstream.Start();
        _upstreamLoop = Task.Run(async () =>
        {
            while (_upstream.IsListening)
            {
                HttpListenerContext context;
                try
                {
                    context = await _upstream.GetContextAsync();
                }
                catch (Exception e) when (e is HttpListenerException or ObjectDisposedException)
                {
                    return;
                }

                var text = Encoding.UTF8.GetBytes($"app {context.Request.Url!.PathAndQuery} user={context.Request.Headers["X-CardKeep-User"]}");
                context.Response.ContentType = "text/plain";
                await context.Response.OutputStream.WriteAsync(text);
                context.Response.Close();
            }
        });

        await OkAsync(Env(), "issuer", "init");
        await OkAsync(Env(), "issuer", "sign-server", "--name", "127.0.0.1");
        string config = Path.Combine(_home, "server.json");
        await File.WriteAllTextAsync(config, JsonSerializer.Serialize(new
        {
            Applications = new Dictionary<string, object>
            {
                ["wiki"] = new { Upstream = $"http://127.0.0.1:{port}", Description = "Wiki" },
                ["mail"] = new { Upstream = $"http://127.0.0.1:{port}/mail" },
            },
            Agent = new Dictionary<string, string> { ["lock_on_card_removal"] = "true" },
        }));
        _server = StartServer(config);
        string line = _server.WaitForLine(l => l.StartsWith("cardkeep server listening on ", StringComparison.Ordinal), TimeSpan.FromSeconds(60));
        _url = line["cardkeep server listening on ".Length..].Trim();
    }

    private LiveProcess StartServer(string config) =>
        LiveProcess.Start("dotnet", CardKeepCli.DllPath, "server", "--urls", "http://127.0.0.1:0", "--data-dir", Path.Combine(_home, "server"), "--config", config);

    public async Task DisposeAsync()
    {
        _server?.Dispose();
        _upstream.Stop();
        if (_upstreamLoop is not null)
        {
            await _upstreamLoop;
        }

        Directory.Delete(_home, true);
    }

    public void Dispose() => ((IDisposable)_upstream).Dispose();

    private async Task<string> ActivationCodeAsync(string user)
    {
        var result = await OkAsync(Env(), "admin", "activation-code", "--server", _url, "--user", user, "--json");
        return JsonDocument.Parse(result.StdOut).RootElement.GetProperty("code").GetString()!;
    }

    [Fact]
    public async Task SoftwareToken_RegisterSessionConfigGateway_EndToEnd()
    {
        var pin = Env(("CARDKEEP_PIN", TokenPassphrase));
        string token = Path.Combine(_home, "alice.json");
        await OkAsync(Env(), "admin", "entitle", "--server", _url, "--user", "alice", "--app", "wiki", "--role", "reader");
        await OkAsync(Env(), "token", "provision", "--file", token);
        string code = await ActivationCodeAsync("alice");
        var registered = await OkAsync(pin, "token", "register", "--server", _url, "--file", token, "--user", "alice", "--activation-code", code, "--suite", "R");
        Assert.Contains("as alice", registered.StdOut, StringComparison.Ordinal);
        Assert.DoesNotContain(TokenPassphrase, await File.ReadAllTextAsync(token), StringComparison.Ordinal);

        var session = await OkAsync(pin, "token", "session", "--server", _url, "--file", token);
        Assert.Contains("forward secrecy yes", session.StdOut, StringComparison.Ordinal);

        var config = JsonDocument.Parse((await OkAsync(pin, "token", "config", "--server", _url, "--file", token, "--location", "office", "--json")).StdOut).RootElement;
        long firstVersion = config.GetProperty("policyVersion").GetInt64();
        Assert.Contains("wrote profiles/wiki.json", config.GetProperty("applied").EnumerateArray().Select(a => a.GetString()));
        Assert.True(File.Exists(Path.Combine(_home, "client", "profiles", "wiki.json")));
        Assert.Contains("true", await File.ReadAllTextAsync(Path.Combine(_home, "client", "agent.json")), StringComparison.Ordinal);

        var passed = await OkAsync(pin, "token", "request", "--server", _url, "--file", token, "--app", "wiki", "/pages/home?v=1");
        Assert.Contains("app /pages/home?v=1 user=alice", passed.StdOut, StringComparison.Ordinal);
        var refused = await RunAsync(pin, "token", "request", "--server", _url, "--file", token, "--app", "mail", "/inbox");
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("403 not entitled", refused.StdErr, StringComparison.Ordinal);

        // A change of entitlements shows at the next session, without registering again.
        await OkAsync(Env(), "admin", "revoke", "--server", _url, "--user", "alice", "--app", "wiki");
        await OkAsync(Env(), "admin", "entitle", "--server", _url, "--user", "alice", "--app", "mail", "--role", "user");
        var next = JsonDocument.Parse((await OkAsync(pin, "token", "config", "--server", _url, "--file", token, "--json")).StdOut).RootElement;
        Assert.True(next.GetProperty("policyVersion").GetInt64() > firstVersion);
        Assert.False(File.Exists(Path.Combine(_home, "client", "profiles", "wiki.json")));
        Assert.True(File.Exists(Path.Combine(_home, "client", "profiles", "mail.json")));
        var mail = await OkAsync(pin, "token", "request", "--server", _url, "--file", token, "--app", "mail", "/inbox");
        Assert.Contains("app /mail/inbox user=alice", mail.StdOut, StringComparison.Ordinal);

        // The same activation code does not register a second token.
        string other = Path.Combine(_home, "alice2.json");
        await OkAsync(Env(), "token", "provision", "--file", other);
        var reused = await RunAsync(pin, "token", "register", "--server", _url, "--file", other, "--user", "alice", "--activation-code", code);
        Assert.Equal(1, reused.ExitCode);
        Assert.Contains("the server refused the request", reused.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task VscFile_RegisterWithSuiteE_SessionAndSecondTokenGetsOwnKey()
    {
        var pin = Env(("CARDKEEP_PIN", "13572468"), ("CARDKEEP_PUK", "87654321"));
        await OkAsync(pin, "vsc", "new", "--id", "bob-card");
        await OkAsync(Env(), "token", "provision", "--vsc", "bob-card");
        await OkAsync(pin, "token", "register", "--server", _url, "--vsc", "bob-card", "--user", "bob", "--activation-code", await ActivationCodeAsync("bob"));
        var session = await OkAsync(pin, "token", "session", "--server", _url, "--vsc", "bob-card");
        Assert.Contains("as bob", session.StdOut, StringComparison.Ordinal);
        var list = JsonDocument.Parse((await OkAsync(pin, "token", "list", "--vsc", "bob-card", "--json")).StdOut).RootElement;
        Assert.Equal("E", list.GetProperty("registrations")[0].GetProperty("suite").GetString());
        var wrongPin = await RunAsync(Env(("CARDKEEP_PIN", "00000000")), "token", "session", "--server", _url, "--vsc", "bob-card");
        Assert.Equal(1, wrongPin.ExitCode);
        Assert.Contains("wrong PIN", wrongPin.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TokenFromAnotherIssuer_RefusesTheServerCertificate()
    {
        string otherIssuer = Path.Combine(_home, "other-issuer");
        await OkAsync(Env(), "issuer", "init", "--dir", otherIssuer, "--name", "CardKeep Token Issuer");
        string token = Path.Combine(_home, "stranger.json");
        await OkAsync(Env(), "token", "provision", "--file", token, "--issuer-cert", Path.Combine(otherIssuer, "issuer.crt"));
        var result = await RunAsync(Env(("CARDKEEP_PIN", TokenPassphrase)), "token", "register", "--server", _url, "--file", token, "--user", "carol",
            "--activation-code", await ActivationCodeAsync("carol"));
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("certificate is not acceptable", result.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LiveVscInPcscd_RegisterSessionConfig_ThroughThePivApplet()
    {
        using var vsc = new VirtualCardOnReader();
        var pin = Env(("CARDKEEP_PIN", "123456"));
        await OkAsync(Env(), "admin", "entitle", "--server", _url, "--user", "dana", "--app", "wiki");
        var provisioned = await OkAsync(Env(), "token", "provision", "--reader", vsc.Reader);
        Assert.Contains("object 5FFF14", provisioned.StdOut, StringComparison.Ordinal);
        await OkAsync(pin, "token", "register", "--server", _url, "--reader", vsc.Reader, "--user", "dana", "--activation-code", await ActivationCodeAsync("dana"), "--suite", "R");
        await OkAsync(pin, "token", "session", "--server", _url, "--reader", vsc.Reader);
        var config = await OkAsync(pin, "token", "config", "--server", _url, "--reader", vsc.Reader, "--client-dir", Path.Combine(_home, "dana-client"));
        Assert.Contains("wrote profiles/wiki.json", config.StdOut, StringComparison.Ordinal);

        // The registration object is in the card's PIN-protected area: not readable before VERIFY.
        Assert.Contains(0x5FFF13u, vsc.Card.PrivateObjectTags);
        Assert.Null(vsc.Card.GetPublicObject(0x5FFF13));
    }

    [Fact]
    public async Task Server_DatabaseFromNewerVersion_StopsWithClearMessage()
    {
        _server!.Dispose();
        _server = null;
        string db = Path.Combine(_home, "server", "cardkeep.db");
        await using (var connection = new Microsoft.Data.Sqlite.SqliteConnection("Data Source=" + db + ";Pooling=False"))
        {
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = "INSERT INTO schema_version (version, name, applied_at) VALUES (999, 'from the future', 0)";
            await command.ExecuteNonQueryAsync();
        }

        var result = await RunAsync(Env(), "server", "--urls", "http://127.0.0.1:0", "--data-dir", Path.Combine(_home, "server"));
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("schema is version 999, newer than this cardkeep understands", result.StdErr, StringComparison.Ordinal);
    }
}
