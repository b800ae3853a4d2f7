using CardKeep.Server.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace CardKeep.Server.Hosting;

/// <summary>
/// Whether requests may reach the database: migrated, and the last look found it writable. While it is not, every
/// request except /health and the OpenAPI document gets 503 with <c>Retry-After</c> and a JSON problem saying why; a
/// request that meets an unavailable database on its way (connection refused, timeout, file gone, read-only standby)
/// gets the same answer and closes the gate until <see cref="StorageMonitor"/> finds the database back.
/// </summary>
internal sealed class StorageGate(ServerOptions options, IHostApplicationLifetime lifetime)
{
    private readonly Lock _lock = new();
    private StorageProbe _last = new(StorageState.Writable, "the database has not been checked yet");

    /// <summary>Migrations applied (by this process) and the schema is known.</summary>
    public bool Migrated { get; private set; }

    /// <summary>Requests may go through.</summary>
    public bool Open => Migrated && Last.State == StorageState.Writable;

    /// <summary>The last probe or failure seen.</summary>
    public StorageProbe Last
    {
        get
        {
            lock (_lock)
            {
                return _last;
            }
        }
    }

    /// <summary>Records a probe; returns true when the state changed.</summary>
    public bool Observe(StorageProbe probe)
    {
        lock (_lock)
        {
            bool changed = probe.State != _last.State;
            _last = probe;
            return changed;
        }
    }

    /// <summary>
    /// Migrates when the database is writable; stays closed when it is unreachable or read-only (a standby: its schema
    /// must not be newer than this binary, else the server stops). Throws <see cref="SchemaTooNewException"/>.
    /// </summary>
    public async Task TryMigrateAsync(IServerStore store, ILogger logger, CancellationToken cancellationToken)
    {
        var probe = await store.ProbeAsync(cancellationToken).ConfigureAwait(false);
        if (probe.State == StorageState.ReadOnly)
        {
            int version = await store.SchemaVersionAsync(cancellationToken).ConfigureAwait(false);
            if (version > Migrations.Latest)
            {
                throw new SchemaTooNewException(version, Migrations.Latest);
            }
        }

        if (probe.State == StorageState.Writable)
        {
            try
            {
                await store.MigrateAsync(cancellationToken).ConfigureAwait(false);
                Migrated = true;
                Log.StorageReady(logger, store.Backend, await store.SchemaVersionAsync(cancellationToken).ConfigureAwait(false));
            }
            catch (Exception e) when (StorageFailures.Classify(e) is { } reason)
            {
                probe = new StorageProbe(reason == StorageFailures.ReadOnlyReason ? StorageState.ReadOnly : StorageState.Unreachable, reason);
            }
        }

        if (Observe(probe) && !Open)
        {
            Log.StorageUnavailable(logger, store.Backend, probe.Detail, options.Storage.RetryAfterSeconds);
        }
    }

    /// <summary>Writes the 503 answer.</summary>
    public async Task WriteUnavailableAsync(HttpContext context, string reason)
    {
        context.Response.Headers.RetryAfter = options.Storage.RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        await Results.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "storage unavailable", detail: reason,
            extensions: new Dictionary<string, object?> { ["retryAfterSeconds"] = options.Storage.RetryAfterSeconds }).ExecuteAsync(context).ConfigureAwait(false);
    }

    /// <summary>Stops the server (a newer schema appeared after promotion).</summary>
    public void Stop() => lifetime.StopApplication();
}

/// <summary>Looks at the database every <c>Storage:ProbeSeconds</c>; migrates it once it is writable; logs each change of state.</summary>
internal sealed class StorageMonitor(IServerStore store, StorageGate gate, ServerOptions options, ILogger<StorageMonitor> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(Math.Max(0.05, options.Storage.ProbeSeconds)));
        while (await NextAsync(timer, stoppingToken).ConfigureAwait(false))
        {
            try
            {
                if (!gate.Migrated)
                {
                    await gate.TryMigrateAsync(store, logger, stoppingToken).ConfigureAwait(false);
                    continue;
                }

                var probe = await store.ProbeAsync(stoppingToken).ConfigureAwait(false);
                bool wasOpen = gate.Open;
                gate.Observe(probe);
                if (wasOpen && !gate.Open)
                {
                    Log.StorageUnavailable(logger, store.Backend, probe.Detail, options.Storage.RetryAfterSeconds);
                }
                else if (!wasOpen && gate.Open)
                {
                    Log.StorageBack(logger, store.Backend);
                }
            }
            catch (SchemaTooNewException e)
            {
                Log.SchemaTooNew(logger, e.Message);
                gate.Stop();
                return;
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
        }
    }

    private static async Task<bool> NextAsync(PeriodicTimer timer, CancellationToken stoppingToken)
    {
        try
        {
            return await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}

/// <summary>The 503 middleware.</summary>
internal static class StorageGateMiddleware
{
    public static void UseStorageGate(this WebApplication app) => app.Use(async (context, next) =>
    {
        var path = context.Request.Path;
        if (path.StartsWithSegments("/health", StringComparison.Ordinal) || path.StartsWithSegments("/openapi", StringComparison.Ordinal))
        {
            await next(context).ConfigureAwait(false);
            return;
        }

        var gate = context.RequestServices.GetRequiredService<StorageGate>();
        if (!gate.Open)
        {
            await gate.WriteUnavailableAsync(context, gate.Migrated ? gate.Last.Detail : $"{gate.Last.Detail} (schema not migrated yet)").ConfigureAwait(false);
            return;
        }

        try
        {
            await next(context).ConfigureAwait(false);
        }
        catch (Exception e) when (StorageFailures.Classify(e) is { } reason && !context.Response.HasStarted)
        {
            gate.Observe(new StorageProbe(reason == StorageFailures.ReadOnlyReason ? StorageState.ReadOnly : StorageState.Unreachable, reason));
            var logger = context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("CardKeep.Server.Storage");
            Log.StorageFailed(logger, context.Request.Method, path.Value ?? string.Empty, reason);
            context.Response.Clear();
            await gate.WriteUnavailableAsync(context, reason).ConfigureAwait(false);
        }
    });
}
