using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace CardKeep.Server.Tests.Harness;

/// <summary>A tiny application server on 127.0.0.1: echoes who the gateway says is calling and what was asked.</summary>
public sealed class Upstream : IAsyncDisposable
{
    private readonly WebApplication _app;

    private Upstream(WebApplication app, string url)
    {
        _app = app;
        Url = url;
    }

    public string Url { get; }

    public static async Task<Upstream> StartAsync(string name)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        app.Map("/{**path}", async (HttpContext context, string? path) =>
        {
            string body = await new StreamReader(context.Request.Body).ReadToEndAsync();
            return Results.Text($"{name} {context.Request.Method} /{path}{context.Request.QueryString} user={context.Request.Headers["X-CardKeep-User"]} roles={context.Request.Headers["X-CardKeep-Roles"]} body={body}");
        });
        await app.StartAsync();
        return new Upstream(app, app.Urls.First());
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}
