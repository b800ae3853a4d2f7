using CardKeep.Server.Hosting;
using CardKeep.Server.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace CardKeep.Server.Relocation;

/// <summary>The target side of a relocation (admin API, called by the source server with this server's admin token) and a manual trigger.</summary>
internal static class RelocationEndpoints
{
    public static void Map(WebApplication app)
    {
        var admin = app.MapAdminGroup("/admin/relocation", "Relocation");
        admin.MapPut("/{user}", async (string user, RelocationImport body, IServerStore store, TimeProvider clock, CancellationToken cancellationToken) =>
        {
            if (AdminAuth.CheckUser(user) is { } bad)
            {
                return bad;
            }

            try
            {
                string digest = await store.ImportUserAsync(user, new UserRows(body.Tables), body.Source, clock.GetUtcNow().ToUnixTimeMilliseconds(), cancellationToken).ConfigureAwait(false);
                return Results.Ok(new RelocationDigest(digest));
            }
            catch (FormatException e)
            {
                return Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: e.Message);
            }
        }).WithSummary("Receive a relocating user's rows (replacing any earlier copy); the user is not served until committed");
        admin.MapPost("/{user}/commit", async (string user, IServerStore store, CancellationToken cancellationToken) =>
            await store.CommitIncomingAsync(user, cancellationToken).ConfigureAwait(false) ? Results.NoContent() : Results.NotFound())
            .WithSummary("The source has handed the user over: serve them");
        admin.MapDelete("/{user}", async (string user, IServerStore store, CancellationToken cancellationToken) =>
            await store.AbortIncomingAsync(user, cancellationToken).ConfigureAwait(false) ? Results.NoContent() : Results.NotFound())
            .WithSummary("Drop an incoming copy (relocation rolled back)");
        admin.MapPost("/{user}/to/{region}", async (string user, string region, RelocationService relocation, ServerOptions options, CancellationToken cancellationToken) =>
        {
            if (!options.Relocation.Peers.ContainsKey(region))
            {
                return Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: $"no peer configured for region '{region}'");
            }

            return await relocation.RelocateAsync(user, region, cancellationToken).ConfigureAwait(false)
                ? Results.Ok(new { user, region, state = "done" })
                : Results.Problem(statusCode: StatusCodes.Status409Conflict, title: "not moved: unknown user, a copy that did not verify, or rows that kept changing (tried again later)");
        }).WithSummary("Move a user to another region's deployment now");
    }

    /// <summary>
    /// For requests naming a user (route value <c>user</c>): a relocated user gets 308 to the new server (header
    /// <c>CardKeep-Relocated</c> names it), an incoming one 503 until handed over, and the request's region is counted.
    /// </summary>
    public static void UseRelocation(this WebApplication app) => app.Use(async (context, next) =>
    {
        var options = context.RequestServices.GetRequiredService<ServerOptions>();
        if (string.IsNullOrEmpty(options.Relocation.Region) || context.Request.Path.StartsWithSegments("/admin/relocation", StringComparison.Ordinal)
            || (context.GetRouteValue("user") as string ?? await AccountUserAsync(context).ConfigureAwait(false)) is not { } user)
        {
            await next(context).ConfigureAwait(false);
            return;
        }

        var store = context.RequestServices.GetRequiredService<IServerStore>();
        if (await store.RelocatedToAsync(user, context.RequestAborted).ConfigureAwait(false) is { } location)
        {
            var target = new Uri(new Uri(location), context.Request.Path.Value!.TrimStart('/') + context.Request.QueryString);
            context.Response.Headers.Location = target.AbsoluteUri;
            context.Response.Headers["CardKeep-Relocated"] = location;
            await Results.Problem(statusCode: StatusCodes.Status308PermanentRedirect, title: "user relocated", detail: $"this user is served by {location}").ExecuteAsync(context).ConfigureAwait(false);
            return;
        }

        if (await store.IsIncomingAsync(user, context.RequestAborted).ConfigureAwait(false))
        {
            context.Response.Headers.RetryAfter = "1";
            await Results.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "relocation in progress", detail: "this user's records are arriving; try again shortly")
                .ExecuteAsync(context).ConfigureAwait(false);
            return;
        }

        var relocation = context.RequestServices.GetRequiredService<RelocationService>();
        if (relocation.RegionOf(context.Request.Headers["X-CardKeep-Region"], context.Connection.RemoteIpAddress) is { } region)
        {
            await store.RecordRegionAsync(user, region, relocation.Today, context.RequestAborted).ConfigureAwait(false);
        }

        await next(context).ConfigureAwait(false);
    });

    /// <summary>
    /// The user of an account or records request: the bearer session's user, else the <c>username</c> of a JSON body
    /// (sign-in, recovery, challenge, machine calls: a relocated user's sessions moved with the rest, so a client signs
    /// in again and that request is redirected). Null when the request names no user.
    /// </summary>
    private static async Task<string?> AccountUserAsync(HttpContext context)
    {
        var path = context.Request.Path;
        if (!path.StartsWithSegments("/v1/account", StringComparison.Ordinal) && !path.StartsWithSegments("/v1/records", StringComparison.Ordinal)
            && !path.StartsWithSegments("/v1/records-summary", StringComparison.Ordinal))
        {
            return null;
        }

        if (Accounts.AccountAuth.Bearer(context) is not null)
        {
            return (await Accounts.AccountAuth.AuthenticateAsync(context, null).ConfigureAwait(false))?.Username;
        }

        const int MaxBody = 64 * 1024;
        if (!HttpMethods.IsPost(context.Request.Method) || context.Request.ContentLength is > MaxBody or 0
            || context.Request.ContentType?.StartsWith("application/json", StringComparison.OrdinalIgnoreCase) != true)
        {
            return null;
        }

        // Buffered so the endpoint reads the same body; JSON clients often send it chunked (no Content-Length).
        context.Request.EnableBuffering();
        var buffer = new byte[MaxBody + 1];
        int length = 0;
        try
        {
            int read;
            while (length < buffer.Length && (read = await context.Request.Body.ReadAsync(buffer.AsMemory(length), context.RequestAborted).ConfigureAwait(false)) > 0)
            {
                length += read;
            }

            if (length > MaxBody)
            {
                return null;
            }

            using var document = System.Text.Json.JsonDocument.Parse(buffer.AsMemory(0, length));
            return document.RootElement.ValueKind == System.Text.Json.JsonValueKind.Object
                && document.RootElement.TryGetProperty("username", out var name) && name.ValueKind == System.Text.Json.JsonValueKind.String
                && name.GetString() is { Length: > 0 and <= 64 } username
                ? username.Trim().ToLowerInvariant()
                : null;
        }
        catch (System.Text.Json.JsonException)
        {
            return null; // the endpoint answers malformed JSON itself
        }
        finally
        {
            System.Security.Cryptography.CryptographicOperations.ZeroMemory(buffer); // sign-in bodies carry passwords
            context.Request.Body.Position = 0;
        }
    }
}
