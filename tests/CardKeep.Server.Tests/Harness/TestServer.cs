using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using CardKeep.Protocol;
using CardKeep.Server.Hosting;
using CardKeep.Server.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace CardKeep.Server.Tests.Harness;

/// <summary>A real CardKeep server on 127.0.0.1 (free port) with the test PKI, a backend, two upstream applications and log capture.</summary>
public sealed class TestServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly string? _ownDirectory;

    private TestServer(WebApplication app, string directory, string? ownDirectory, Upstream wiki, Upstream mail, LogSink logs)
    {
        _app = app;
        _ownDirectory = ownDirectory;
        Directory = directory;
        Wiki = wiki;
        Mail = mail;
        Logs = logs;
        Url = new Uri(app.Urls.First() + "/");
        AdminToken = File.ReadAllText(Path.Combine(directory, "admin.token")).Trim();
        Http = new HttpClient();
    }

    public Uri Url { get; }

    public string Directory { get; }

    public Upstream Wiki { get; }

    public Upstream Mail { get; }

    public LogSink Logs { get; }

    public string AdminToken { get; }

    public HttpClient Http { get; }

    public IServiceProvider Services => _app.Services;

    public IServerStore Store => Services.GetRequiredService<IServerStore>();

    /// <summary>Starts a server; <paramref name="settings"/> may point DataDirectory at a folder several servers share (the caller removes it).</summary>
    public static async Task<TestServer> StartAsync(string? database, Action<Dictionary<string, string?>>? settings = null, Action<IServiceCollection>? services = null)
    {
        string ownDirectory = System.IO.Directory.CreateTempSubdirectory("cardkeep-server-").FullName;
        string directory = ownDirectory;
        var wiki = await Upstream.StartAsync("wiki");
        var mail = await Upstream.StartAsync("mail");
        var values = new Dictionary<string, string?>
        {
            ["DataDirectory"] = directory,
            ["Database"] = database,
            ["Urls"] = "http://127.0.0.1:0",
            ["RateLimits:RegistrationPerIpPerMinute"] = "0",
            ["RateLimits:SessionPerIpPerMinute"] = "0",
            ["RateLimits:RegistrationPerUserPerHour"] = "0",
            ["RateLimits:SessionPerUserPerMinute"] = "0",
            ["Sessions:LockAfterFailures"] = "3",
            ["Registration:TemplateFields:0"] = "host",
            ["Registration:TemplateFields:1"] = "location",
            ["Applications:wiki:Upstream"] = wiki.Url,
            ["Applications:wiki:Description"] = "Team wiki",
            ["Applications:wiki:Settings:theme"] = "dark",
            ["Applications:mail:Upstream"] = mail.Url,
            ["Agent:lock_on_card_removal"] = "true",
        };
        settings?.Invoke(values);
        if (values["DataDirectory"] != ownDirectory)
        {
            System.IO.Directory.Delete(ownDirectory);
            directory = values["DataDirectory"]!;
        }

        var logs = new LogSink();
        var app = ServerHost.Build(new ServerLaunch
        {
            Settings = values,
            ConfigureServices = s =>
            {
                s.AddSingleton(new ServerKeys(TestPki.ServerKeys()));
                services?.Invoke(s);
            },
            ConfigureLogging = l => l.AddProvider(logs),
        });
        await app.StartAsync();
        return new TestServer(app, directory, directory == ownDirectory ? directory : null, wiki, mail, logs);
    }

    public async Task<string> ActivationCodeAsync(string user)
    {
        using var response = await AdminAsync(HttpMethod.Post, "admin/activation-codes", new { user });
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString()!;
    }

    public async Task<long> GrantAsync(string user, string app, string[] roles, string[]? locations = null)
    {
        using var response = await AdminAsync(HttpMethod.Put, $"admin/users/{user}/entitlements/{app}", new { roles, locations = locations ?? [] });
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("policyVersion").GetInt64();
    }

    public async Task RevokeAsync(string user, string app)
    {
        using var response = await AdminAsync(HttpMethod.Delete, $"admin/users/{user}/entitlements/{app}", null);
        response.EnsureSuccessStatusCode();
    }

    public async Task<HttpResponseMessage> AdminAsync(HttpMethod method, string path, object? body, string? token = null)
    {
        using var request = new HttpRequestMessage(method, new Uri(Url, path));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token ?? AdminToken);
        if (body is not null)
        {
            request.Content = JsonContent.Create(body);
        }

        return await Http.SendAsync(request);
    }

    /// <summary>POSTs raw TRK1 bytes; returns status and body.</summary>
    public async Task<(int Status, byte[] Body)> PostAsync(string path, byte[] body)
    {
        using var content = new ByteArrayContent(body);
        using var response = await Http.PostAsync(new Uri(Url, path), content);
        return ((int)response.StatusCode, await response.Content.ReadAsByteArrayAsync());
    }

    /// <summary>Stops at once, as a killed process: open connections are aborted, nothing is drained.</summary>
    public async Task KillAsync()
    {
        using var now = new CancellationTokenSource();
        await now.CancelAsync();
        await _app.StopAsync(now.Token);
        await DisposeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        await Wiki.DisposeAsync();
        await Mail.DisposeAsync();
        try
        {
            if (_ownDirectory is not null)
            {
                System.IO.Directory.Delete(_ownDirectory, true);
            }
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>Captures every log line (formatted) so tests can check that no secret is ever logged.</summary>
public sealed class LogSink : ILoggerProvider
{
    private readonly ConcurrentQueue<string> _lines = new();

    public IReadOnlyCollection<string> Lines => _lines;

    public string All => string.Join('\n', _lines);

    public ILogger CreateLogger(string categoryName) => new Sink(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Sink(LogSink owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            owner._lines.Enqueue($"{logLevel} {category}: {formatter(state, exception)} {exception}");
    }
}
