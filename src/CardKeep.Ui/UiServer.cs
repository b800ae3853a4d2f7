using System.Net;
using System.Text.Json;
using CardKeep.Manager;
using CardKeep.Ui.Security;
using CardKeep.Ui.Services;
using CardKeep.VirtualCard.Store;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace CardKeep.Ui;

/// <summary>How <c>cardkeep ui</c> runs: the port (0 = any free one) and the VSC store folder.</summary>
public sealed record UiOptions(int Port, string StoreDirectory);

/// <summary>
/// The card manager's local web UI: Kestrel on 127.0.0.1 only, Razor Pages, and an event stream for live card lists.
/// Every request first passes <see cref="LaunchGuard"/>; every POST carries an anti-forgery token (Razor Pages check it).
/// </summary>
public sealed class UiServer : IAsyncDisposable
{
    private const long MaxUpload = (16 << 20) + (1 << 20);
    private static readonly JsonSerializerOptions _json = new(JsonSerializerDefaults.Web);
    private readonly WebApplication _app;

    private UiServer(WebApplication app, LaunchGuard guard)
    {
        _app = app;
        Guard = guard;
    }

    public LaunchGuard Guard { get; private set; }

    /// <summary>The URL to open, with the launch secret.</summary>
    public string LaunchUrl => Guard.LaunchUrl;

    /// <summary>Starts serving; returns once the port is bound.</summary>
    public static async Task<UiServer> StartAsync(UiOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ApplicationName = typeof(UiServer).Assembly.GetName().Name,
            ContentRootPath = AppContext.BaseDirectory,
            EnvironmentName = Environments.Production,
            Args = [],
        });

        // Request URLs carry the launch secret once: nothing below warnings is logged, and never a request line.
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = MaxUpload;
            k.Listen(IPAddress.Loopback, options.Port);
        });

        var directory = new CardDirectory(new VscStore(options.StoreDirectory));
        builder.Services.AddSingleton(directory);
        builder.Services.AddSingleton(new LiveCardList(directory));
        builder.Services.AddSingleton(new CardSessions(directory));
        builder.Services.AddSingleton<Func<Clipboard>>(Clipboard.Default);
        builder.Services.AddSingleton<CardActions>();
        builder.Services.AddSingleton<VscActions>();

        // Anti-forgery tokens are protected with keys that live in memory only, as long as this process.
        builder.Services.AddDataProtection();
        builder.Services.Configure<KeyManagementOptions>(o => o.XmlRepository = new MemoryKeyRepository());
        builder.Logging.AddFilter("Microsoft.AspNetCore.DataProtection", LogLevel.Error);
        builder.Services.AddAntiforgery(o =>
        {
            o.Cookie.Name = "cardkeep-ui-af";
            o.Cookie.SameSite = SameSiteMode.Strict;
            o.Cookie.HttpOnly = true;
            o.FormFieldName = "__af";
        });
        builder.Services.Configure<FormOptions>(o => o.MultipartBodyLengthLimit = MaxUpload);
        builder.Services.AddRazorPages(o => o.Conventions.ConfigureFilter(new Microsoft.AspNetCore.Mvc.AutoValidateAntiforgeryTokenAttribute()))
            .AddApplicationPart(typeof(UiServer).Assembly);
        builder.Services.Configure<Microsoft.AspNetCore.Routing.RouteOptions>(o => o.LowercaseUrls = true);

        var app = builder.Build();
        var guard = new LaunchGuard(options.Port);
        var server = new UiServer(app, guard);
        app.Use(async (context, next) =>
        {
            var headers = context.Response.Headers;
            headers.ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
            headers.XContentTypeOptions = "nosniff";
            headers.XFrameOptions = "DENY";
            headers["Referrer-Policy"] = "same-origin";
            headers.CacheControl = "no-store";
            await next(context).ConfigureAwait(false);
        });
        app.Use((context, next) => server.Guard.InvokeAsync(context, next));
        app.MapGet("/assets/{name}", (string name) => Asset(name));
        app.MapGet("/events", (HttpContext context, LiveCardList list, CardSessions sessions) => StreamCardsAsync(context, list));
        app.MapRazorPages();

        var list = app.Services.GetRequiredService<LiveCardList>();
        var sessions = app.Services.GetRequiredService<CardSessions>();
        list.ReaderCardRemoved += (_, reader) => sessions.CloseReader(reader);
        list.Start();
        await app.StartAsync(cancellationToken).ConfigureAwait(false);

        if (options.Port == 0)
        {
            // Any free port: the guard learns the one Kestrel bound.
            string bound = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
            server.Guard = new LaunchGuard(new Uri(bound).Port);
        }

        return server;
    }

    /// <summary>Completes when the server stops (<paramref name="cancellationToken"/>, Ctrl-C handled by the caller).</summary>
    public Task WaitForShutdownAsync(CancellationToken cancellationToken) => _app.WaitForShutdownAsync(cancellationToken);

    private static IResult Asset(string name)
    {
        string? type = Path.GetExtension(name) switch
        {
            ".js" => "text/javascript; charset=utf-8",
            ".css" => "text/css; charset=utf-8",
            _ => null,
        };
        var stream = type is null ? null : typeof(UiServer).Assembly.GetManifestResourceStream("CardKeep.Ui.Assets." + name);
        return stream is null ? Results.NotFound() : Results.Stream(stream, type);
    }

    /// <summary>Server-Sent Events: the card list now, and again after every change, until the page goes away.</summary>
    private static async Task StreamCardsAsync(HttpContext context, LiveCardList list)
    {
        var stopping = context.RequestServices.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
        using var done = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, stopping);
        context.Response.ContentType = "text/event-stream";
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        try
        {
            while (!done.IsCancellationRequested)
            {
                long version = list.Version;
                var payload = new
                {
                    problem = list.PcscProblem,
                    cards = list.Current.Select(CardRow.From),
                };
                await context.Response.WriteAsync("event: cards\ndata: " + JsonSerializer.Serialize(payload, _json) + "\n\n", done.Token).ConfigureAwait(false);
                await context.Response.Body.FlushAsync(done.Token).ConfigureAwait(false);
                using var heartbeat = CancellationTokenSource.CreateLinkedTokenSource(done.Token);
                heartbeat.CancelAfter(TimeSpan.FromSeconds(20));
                try
                {
                    await list.WaitForChangeAsync(version, heartbeat.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!done.IsCancellationRequested)
                {
                    // Quiet for a while: send the list again, which also tells a proxy-less browser the stream lives.
                }
            }
        }
        catch (OperationCanceledException)
        {
            // The page closed or the server stops.
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }
}

/// <summary>One card in the list, as the page and its event stream show it.</summary>
public sealed record CardRow(string Address, string Label, string? Serial, string Kind, string State, string? Detail, string? Href)
{
    public static CardRow From(CardEntry e)
    {
        ArgumentNullException.ThrowIfNull(e);
        bool openable = e.State is "present" or "enabled";
        return new CardRow(e.Address, e.Label, e.Serial, e.KindText, e.State, e.Detail, openable ? "/card?c=" + Uri.EscapeDataString(e.Address) : null);
    }
}

/// <summary>Data-protection keys kept in memory only: nothing of the UI's key ring ever reaches the disk.</summary>
internal sealed class MemoryKeyRepository : IXmlRepository
{
    private readonly List<System.Xml.Linq.XElement> _elements = [];

    public IReadOnlyCollection<System.Xml.Linq.XElement> GetAllElements()
    {
        lock (_elements)
        {
            return [.. _elements.Select(e => new System.Xml.Linq.XElement(e))];
        }
    }

    public void StoreElement(System.Xml.Linq.XElement element, string friendlyName)
    {
        lock (_elements)
        {
            _elements.Add(new System.Xml.Linq.XElement(element));
        }
    }
}
