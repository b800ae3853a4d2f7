using System.CommandLine;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.Hosting;
using CardKeep.Cli.Trk1;
using CardKeep.Server.Hosting;
using CardKeep.Server.Storage;

namespace CardKeep.Cli.Commands;

/// <summary>
/// <c>cardkeep server</c> (the TRK1 authentication server), <c>cardkeep admin …</c> (its admin API), and — through
/// <see cref="IssuerCommands"/> and <see cref="TokenCommands"/> — the issuer tooling and the token client.
/// </summary>
internal static class ServerCommands
{
    public static void Add(RootCommand root)
    {
        root.Add(Server());
        root.Add(Admin());
        IssuerCommands.Add(root);
        TokenCommands.Add(root);
    }

    private static Command Server()
    {
        var db = new Option<string?>("--db") { Description = "PostgreSQL connection string (Host=…;Database=…;Username=…) or 'Data Source=FILE'; default SQLite in the data folder" };
        var urls = new Option<string?>("--urls") { Description = "Listen addresses, ';'-separated (default http://127.0.0.1:5080)" };
        var dataDir = new Option<string?>("--data-dir") { Description = "Data folder (default $CARDKEEP_HOME/server)" };
        var config = new Option<string?>("--config") { Description = "A JSON settings file (see docs/server.md)" };
        var logFormat = new Option<string?>("--log-format") { Description = "simple (default) or json" };
        var command = new Command("server", "Run the CardKeep server: TRK1 registration, sessions, entitlements and gateway; accounts and recovery, the portal (/portal), encrypted records, relocation (Ctrl-C stops it)") { db, urls, dataDir, config, logFormat };
        command.SetAction((parse, cancellationToken) => CliSupport.GuardAsync(async () =>
        {
            var settings = new Dictionary<string, string?>(StringComparer.Ordinal);
            void Set(string key, string? value)
            {
                if (!string.IsNullOrEmpty(value))
                {
                    settings[key] = value;
                }
            }

            Set("Database", parse.GetValue(db));
            Set("Urls", parse.GetValue(urls));
            Set("DataDirectory", parse.GetValue(dataDir));
            Set("LogFormat", parse.GetValue(logFormat));
            string? configFile = parse.GetValue(config);
            if (configFile is not null && !File.Exists(configFile))
            {
                throw new UsageException($"--config {configFile}: no such file");
            }

            await using var app = ServerHost.Build(new ServerLaunch { Settings = settings, ConfigFile = configFile });
            try
            {
                await app.StartAsync(cancellationToken);
            }
            catch (SchemaTooNewException e)
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return ExitCodes.Failed;
            }

            foreach (var url in app.Urls)
            {
                Console.WriteLine($"cardkeep server listening on {url}");
            }

            await app.WaitForShutdownAsync(cancellationToken);
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Admin()
    {
        var admin = new Command("admin", "Administer a CardKeep server through its admin API (token from DATA/admin.token)");
        var server = Trk1Cli.ServerOption();
        var tokenFile = new Option<string?>("--admin-token-file") { Description = "The admin token file (default $CARDKEEP_HOME/server/admin.token; or set CARDKEEP_ADMIN_TOKEN)", Recursive = true };
        server.Recursive = true;
        admin.Add(server);
        admin.Add(tokenFile);

        var user = new Option<string>("--user") { Description = "User name (lower case)", Required = true };
        var app = new Option<string>("--app") { Description = "Application name (as configured under Applications)", Required = true };
        var roles = new Option<string[]>("--role") { Description = "Role (repeat for more)", AllowMultipleArgumentsPerToken = false };
        var locations = new Option<string[]>("--location") { Description = "Allowed location (repeat for more; none means anywhere)" };
        var entitle = new Command("entitle", "Grant (or replace) an entitlement; it shows at the user's next session") { user, app, roles, locations, CliSupport.JsonOption };
        entitle.SetAction((parse, cancellationToken) => Trk1Cli.GuardAsync(() => SendAsync(parse, tokenFile, server, HttpMethod.Put,
            $"admin/users/{Uri.EscapeDataString(parse.GetValue(user)!)}/entitlements/{Uri.EscapeDataString(parse.GetValue(app)!)}",
            new { roles = parse.GetValue(roles) ?? [], locations = parse.GetValue(locations) ?? [] },
            json => $"granted {parse.GetValue(app)} to {parse.GetValue(user)}; policy version {json.GetProperty("policyVersion").GetInt64()}", cancellationToken)));
        admin.Add(entitle);

        var revoke = new Command("revoke", "Revoke an entitlement: the gateway refuses at once, the configuration changes at the next session") { user, app, CliSupport.JsonOption };
        revoke.SetAction((parse, cancellationToken) => Trk1Cli.GuardAsync(() => SendAsync(parse, tokenFile, server, HttpMethod.Delete,
            $"admin/users/{Uri.EscapeDataString(parse.GetValue(user)!)}/entitlements/{Uri.EscapeDataString(parse.GetValue(app)!)}", null,
            json => $"revoked {parse.GetValue(app)} from {parse.GetValue(user)}; policy version {json.GetProperty("policyVersion").GetInt64()}", cancellationToken)));
        admin.Add(revoke);

        var ttl = new Option<int?>("--ttl-hours") { Description = "Lifetime of the code (default 72 hours)" };
        var code = new Command("activation-code", "Issue a one-time activation code that lets USER register a token (shown once)") { user, ttl, CliSupport.JsonOption };
        code.SetAction((parse, cancellationToken) => Trk1Cli.GuardAsync(() => SendAsync(parse, tokenFile, server, HttpMethod.Post, "admin/activation-codes",
            new { user = parse.GetValue(user), ttlHours = parse.GetValue(ttl) },
            json => string.Create(CultureInfo.InvariantCulture, $"activation code for {parse.GetValue(user)}: {json.GetProperty("code").GetString()} (valid until {json.GetProperty("expiresAt").GetDateTimeOffset():u})"),
            cancellationToken)));
        admin.Add(code);
        return admin;
    }

    private static async Task<int> SendAsync(ParseResult parse, Option<string?> tokenFile, Option<string> server, HttpMethod method, string path, object? body,
        Func<JsonElement, string> describe, CancellationToken cancellationToken)
    {
        string token = ReadAdminToken(parse.GetValue(tokenFile));
        using var servers = await ServerList.OpenAsync(parse.GetValue(server)!, TimeSpan.FromSeconds(30), cancellationToken);
        var baseUri = servers.Server;
        var http = servers.Http;
        using var request = new HttpRequestMessage(method, new Uri(baseUri, path));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        if (body is not null)
        {
            request.Content = JsonContent.Create(body);
        }

        using var response = await http.SendAsync(request, cancellationToken);
        string text = await response.Content.ReadAsStringAsync(cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            string detail = text;
            try
            {
                detail = JsonDocument.Parse(text).RootElement.GetProperty("title").GetString() ?? text;
            }
            catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
            {
            }

            Console.Error.WriteLine($"error: the server answered {(int)response.StatusCode}: {(string.IsNullOrEmpty(detail) ? response.ReasonPhrase : detail)}");
            return (int)response.StatusCode is 400 or 404 ? ExitCodes.BadInput : ExitCodes.Failed;
        }

        var json = JsonDocument.Parse(text).RootElement;
        Console.WriteLine(parse.GetValue(CliSupport.JsonOption) ? json.GetRawText() : describe(json));
        return ExitCodes.Ok;
    }

    private static string ReadAdminToken(string? file)
    {
        string? fromEnvironment = Environment.GetEnvironmentVariable("CARDKEEP_ADMIN_TOKEN");
        if (file is null && !string.IsNullOrEmpty(fromEnvironment))
        {
            return fromEnvironment.Trim();
        }

        string path = file ?? Path.Combine(DataFiles.DefaultServerDirectory(), "admin.token");
        if (!File.Exists(path))
        {
            throw new UsageException($"no admin token at {path}: the server creates it at first start; give --admin-token-file or set CARDKEEP_ADMIN_TOKEN");
        }

        return File.ReadAllText(path).Trim();
    }
}
