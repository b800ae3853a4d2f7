using System.Threading.RateLimiting;
using CardKeep.Protocol;
using CardKeep.Server.Accounts;
using CardKeep.Server.Entitlements;
using CardKeep.Server.Gateway;
using CardKeep.Server.Records;
using CardKeep.Server.Registration;
using CardKeep.Server.Sessions;
using CardKeep.Server.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace CardKeep.Server.Hosting;

/// <summary>How to start a server: flag values (highest precedence), a config file, and service overrides for tests.</summary>
public sealed record ServerLaunch
{
    /// <summary>Settings from command-line flags, as configuration keys (e.g. "Database", "Urls", "Applications:wiki:Upstream").</summary>
    public IReadOnlyDictionary<string, string?> Settings { get; init; } = new Dictionary<string, string?>();

    /// <summary>A JSON configuration file (--config).</summary>
    public string? ConfigFile { get; init; }

    /// <summary>Replaces services after the defaults are registered (tests: clock, keys, store).</summary>
    public Action<IServiceCollection>? ConfigureServices { get; init; }

    /// <summary>Adds logging providers (tests capture logs).</summary>
    public Action<ILoggingBuilder>? ConfigureLogging { get; init; }
}

/// <summary>
/// Composes the CardKeep server: configuration (DATA/appsettings.json, --config, CARDKEEP_* environment, flags),
/// storage with migrations at start-up, the TRK1 slices (Registration, Sessions, Entitlements, Gateway), the admin
/// API, per-IP rate limits, /health and the OpenAPI document at /openapi/v1.json.
/// </summary>
public static class ServerHost
{
    /// <summary>Rate-limit policy of the registration endpoints.</summary>
    public const string RegistrationPolicy = "registration";

    /// <summary>Rate-limit policy of the session and gateway endpoints.</summary>
    public const string SessionPolicy = "session";

    /// <summary>Builds the application (not started).</summary>
    public static WebApplication Build(ServerLaunch launch)
    {
        ArgumentNullException.ThrowIfNull(launch);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        var configuration = builder.Configuration;
        configuration.Sources.Clear();
        string dataDirectory = launch.Settings.GetValueOrDefault("DataDirectory")
            ?? Environment.GetEnvironmentVariable("CARDKEEP_DataDirectory")
            ?? DataFiles.DefaultServerDirectory();
        configuration.AddJsonFile(Path.Combine(Path.GetFullPath(dataDirectory), "appsettings.json"), optional: true, reloadOnChange: false);
        if (launch.ConfigFile is not null)
        {
            configuration.AddJsonFile(Path.GetFullPath(launch.ConfigFile), optional: false, reloadOnChange: false);
        }

        configuration.AddEnvironmentVariables("CARDKEEP_");
        configuration.AddInMemoryCollection(launch.Settings);

        var options = new ServerOptions();
        configuration.Bind(options);
        options.DataDirectory = Path.GetFullPath(options.DataDirectory ?? dataDirectory);
        DataFiles.CreatePrivateDirectory(options.DataDirectory);

        ConfigureLogging(builder, options, launch);
        builder.WebHost.UseUrls(options.Urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = Trk1Limits.MaxRecordMessageLength + 1024);

        var services = builder.Services;
        services.AddSingleton(options);
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<ITrk1Random>(SystemTrk1Random.Instance);
        services.AddSingleton(_ => CreateStore(options));
        services.AddSingleton(_ => ServerKeys.Load(options.CertificateDirectory ?? options.DataDirectory));
        services.AddSingleton(_ => ServerSecrets.LoadOrCreate(options.DataDirectory));
        services.AddSingleton(_ => AdminToken.LoadOrCreate(options.DataDirectory));
        services.AddSingleton(_ => new UserRateLimits(options.RateLimits));
        services.AddSingleton<EntitlementService>();
        services.AddSingleton<RegistrationService>();
        services.AddSingleton<FailureRecorder>();
        services.AddHostedService(sp => sp.GetRequiredService<FailureRecorder>());
        services.AddSingleton<SessionService>();
        services.AddSingleton<GatewayService>();
        services.AddSingleton(options.Accounts);
        services.AddSingleton<AccountSecrets>();
        services.AddSingleton<AccountThrottle>();
        services.AddSingleton<AccountService>();
        services.AddSingleton(options.Records);
        services.AddSingleton<RecordService>();
        services.TryAddSingleton<IRecordsAuthenticator, AccountRecordsAuthenticator>();
        services.AddSingleton<Accounts.ICardReplacementParticipant, RecordsReplacementParticipant>();
        services.AddSingleton<StorageGate>();
        services.AddSingleton<Relocation.RelocationService>();
        services.AddHostedService<Relocation.RelocationMonitor>();
        services.AddHttpClient(Relocation.RelocationService.HttpClientName, c => c.Timeout = TimeSpan.FromSeconds(30));
        services.AddHostedService<StartupChecks>();
        services.AddHostedService<StorageMonitor>();
        services.AddHttpClient(GatewayService.HttpClientName, c => c.Timeout = TimeSpan.FromSeconds(30))
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false });
        services.AddRateLimiter(r =>
        {
            r.OnRejected = (context, _) => new ValueTask(Trk1Endpoint.WriteErrorAsync(context.HttpContext, StatusCodes.Status429TooManyRequests));
            r.AddPolicy(RegistrationPolicy, http => PerIp(http, options.RateLimits.RegistrationPerIpPerMinute));
            r.AddPolicy(SessionPolicy, http => PerIp(http, options.RateLimits.SessionPerIpPerMinute));
        });
        services.AddOpenApi();
        services.AddHealthChecks().AddCheck<ServerHealth>("cardkeep");
        launch.ConfigureServices?.Invoke(services);

        var app = builder.Build();
        app.UseStorageGate();
        Relocation.RelocationEndpoints.UseRelocation(app);
        app.UseRateLimiter();
        app.MapOpenApi();
        app.MapHealthChecks("/health", new HealthCheckOptions
        {
            ResponseWriter = (context, report) => context.Response.WriteAsJsonAsync(new
            {
                status = report.Status.ToString().ToLowerInvariant(),
                checks = report.Entries.ToDictionary(e => e.Key, e => new { status = e.Value.Status.ToString().ToLowerInvariant(), description = e.Value.Description }),
            }),
        });
        RegistrationEndpoints.Map(app);
        SessionEndpoints.Map(app);
        EntitlementEndpoints.Map(app);
        GatewayEndpoints.Map(app);
        AccountEndpoints.Map(app);
        Portal.PortalEndpoints.Map(app);
        RecordEndpoints.Map(app);
        Relocation.RelocationEndpoints.Map(app);
        return app;
    }

    /// <summary>The storage <paramref name="options"/> name: SQLite by default, PostgreSQL for "Host=…".</summary>
    public static IServerStore CreateStore(ServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        string? database = options.Database?.Trim();
        if (string.IsNullOrEmpty(database))
        {
            return new SqliteServerStore(Path.Combine(options.DataDirectory!, "cardkeep.db"), options.Storage.CommandTimeoutSeconds);
        }

        if (database.StartsWith("Data Source=", StringComparison.OrdinalIgnoreCase))
        {
            return new SqliteServerStore(new SqliteConnectionStringBuilder(database).DataSource, options.Storage.CommandTimeoutSeconds);
        }

        if (database.Contains("Host=", StringComparison.OrdinalIgnoreCase))
        {
            return new PostgresServerStore(database, options.Storage.ConnectTimeoutSeconds, options.Storage.CommandTimeoutSeconds);
        }

        throw new InvalidOperationException("--db takes a PostgreSQL connection string (Host=…;Database=…;Username=…) or 'Data Source=FILE' for SQLite");
    }

    private static RateLimitPartition<string> PerIp(HttpContext http, int perMinute)
    {
        string ip = http.Connection.RemoteIpAddress?.ToString() ?? "unknown";
        return perMinute <= 0
            ? RateLimitPartition.GetNoLimiter(ip)
            : RateLimitPartition.GetFixedWindowLimiter(ip, _ => new FixedWindowRateLimiterOptions { PermitLimit = perMinute, Window = TimeSpan.FromMinutes(1), QueueLimit = 0 });
    }

    private static void ConfigureLogging(WebApplicationBuilder builder, ServerOptions options, ServerLaunch launch)
    {
        var logging = builder.Logging;
        logging.ClearProviders();
        logging.AddConfiguration(builder.Configuration.GetSection("Logging"));
        logging.SetMinimumLevel(LogLevel.Information);
        logging.AddFilter("Microsoft", LogLevel.Warning);
        logging.AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Information);
        logging.AddFilter("System.Net.Http", LogLevel.Warning);
        logging.AddFilter("Microsoft.Extensions.Diagnostics.HealthChecks", LogLevel.None); // StorageMonitor logs each change of state once
        if (string.Equals(options.LogFormat, "json", StringComparison.OrdinalIgnoreCase))
        {
            logging.AddJsonConsole(o =>
            {
                o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
                o.UseUtcTimestamp = true;
            });
        }
        else
        {
            logging.AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
                o.UseUtcTimestamp = true;
            });
        }

        launch.ConfigureLogging?.Invoke(logging);
    }
}

/// <summary>
/// Start-up: migrate storage (a newer schema stops the server), create the secret and admin token files, report the
/// server keys. A database that is unreachable or read-only (a standby) does not stop the server: it answers 503 until
/// <see cref="StorageMonitor"/> finds the database writable and has migrated it.
/// </summary>
internal sealed class StartupChecks(IServerStore store, StorageGate gate, ServerKeys keys, ServerOptions options, AdminToken adminToken, ServerSecrets secrets, ILogger<StartupChecks> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await gate.TryMigrateAsync(store, logger, cancellationToken).ConfigureAwait(false);
        Log.AdminTokenFile(logger, adminToken.Path, secrets.WrapKey.Length * 8);
        if (keys.Suites.Count == 0)
        {
            Log.NoServerKeys(logger, options.CertificateDirectory ?? options.DataDirectory!);
        }

        foreach (var suite in keys.Suites)
        {
            var key = keys.For(suite)!;
            Log.SuiteReady(logger, (char)suite, Convert.ToHexStringLower(key.ServerId)[..16], key.Certificate.NotAfter.ToUniversalTime());
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

/// <summary>/health: storage answers and takes writes (else unhealthy, 503); degraded when no server certificate is loaded.</summary>
internal sealed class ServerHealth(IServerStore store, StorageGate gate, ServerKeys keys) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var probe = await store.ProbeAsync(cancellationToken).ConfigureAwait(false);
        gate.Observe(probe);
        if (probe.State != StorageState.Writable)
        {
            return HealthCheckResult.Unhealthy($"{store.Backend}: {probe.Detail}");
        }

        if (!gate.Migrated)
        {
            return HealthCheckResult.Unhealthy($"{store.Backend}: schema not migrated yet");
        }

        return keys.Suites.Count == 0
            ? HealthCheckResult.Degraded("no server certificate: registration and sessions refused")
            : HealthCheckResult.Healthy($"{store.Backend}; suites {string.Join(',', keys.Suites.Select(s => (char)s))}");
    }
}
