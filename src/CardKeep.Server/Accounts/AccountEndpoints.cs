using System.Globalization;
using CardKeep.Server.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace CardKeep.Server.Accounts;

/// <summary>The account API under /v1/account (docs/recovery.md).</summary>
internal static class AccountEndpoints
{
    public static void Map(WebApplication app)
    {
        // A body that does not bind (malformed JSON, a byte string that is not base64) ends as an empty 400: give it a problem body.
        app.UseWhen(http => http.Request.Path.StartsWithSegments("/v1/account", StringComparison.Ordinal), branch => branch.UseStatusCodePages(async context =>
        {
            var http = context.HttpContext;
            if (http.Response.StatusCode == StatusCodes.Status400BadRequest)
            {
                await Results.Problem(statusCode: 400, title: "malformed request: send the JSON body described in docs/recovery.md (byte strings in base64)")
                    .ExecuteAsync(http).ConfigureAwait(false);
            }
        }));
        var group = app.MapGroup("/v1/account").WithTags("Accounts").RequireRateLimiting(ServerHost.SessionPolicy);
        group.MapPost("/challenge", (ChallengeRequest request, AccountService service, HttpContext http) =>
            RunAsync(http, () => service.ChallengeAsync(request, http.RequestAborted))).WithSummary("A single-use nonce for a card proof (register, login, replace)");
        group.MapPost("/register", (RegisterRequest request, AccountService service, HttpContext http) =>
            RunAsync(http, async () => Results.Json(await service.RegisterAsync(request, Remote(http), http.RequestAborted).ConfigureAwait(false), statusCode: StatusCodes.Status201Created)))
            .WithSummary("Register an account, its card and machine; returns the machine's access key once");
        group.MapPost("/login/card", (CardLoginRequest request, AccountService service, HttpContext http) =>
            RunAsync(http, () => service.CardLoginAsync(request, Remote(http), http.RequestAborted))).WithSummary("Card sign-in → bearer token (scope card)");
        group.MapPost("/login/password", (PasswordLoginRequest request, AccountService service, HttpContext http) =>
            RunAsync(http, () => service.PasswordLoginAsync(request, Remote(http), http.RequestAborted))).WithSummary("Password sign-in → bearer token (scope recovery)");
        group.MapPost("/logout", (AccountService service, HttpContext http) =>
            WithPrincipalAsync(http, async p =>
            {
                await service.LogoutAsync(p, http.RequestAborted).ConfigureAwait(false);
                return Results.NoContent();
            })).WithSummary("End this bearer session");
        group.MapPost("/recover", (RecoverRequest request, AccountService service, HttpContext http) =>
            RunAsync(http, () => service.RecoverAsync(request, Remote(http), http.RequestAborted))).WithSummary("Lost card: password → a new access key for the machine");
        group.MapPost("/access-key/verify", (VerifyKeyRequest request, AccountService service, HttpContext http) =>
            RunAsync(http, async () =>
            {
                var (result, retryAfter) = await service.VerifyKeyAsync(request, Remote(http), http.RequestAborted).ConfigureAwait(false);
                SetRetryAfter(http, retryAfter);
                return Results.Ok(result);
            })).WithSummary("A machine checks an access key (throttled)");
        group.MapPost("/machine/card-status", (MachineCardStatusRequest request, AccountService service, HttpContext http) =>
            RunAsync(http, () => service.MachineCardStatusAsync(request, Remote(http), http.RequestAborted)))
            .WithSummary("A machine (machine secret) asks whether its bound card is still active");
        group.MapPost("/access-key/rotate", (RotateKeyRequest request, AccountService service, HttpContext http) =>
            RunAsync(http, async () =>
            {
                AccountPrincipal? principal = null;
                if (AccountAuth.Bearer(http) is not null)
                {
                    principal = await AccountAuth.AuthenticateAsync(http, null).ConfigureAwait(false) ?? throw new AccountException(401, "sign-in required");
                }

                return Results.Ok(await service.RotateKeyAsync(request, principal, Remote(http), http.RequestAborted).ConfigureAwait(false));
            })).WithSummary("A new access key for a machine (machine secret or bearer); the old one is cancelled");
        group.MapPost("/machines", (AddMachineRequest request, AccountService service, HttpContext http) =>
            WithPrincipalAsync(http, async p => Results.Json(await service.AddMachineAsync(request, p, http.RequestAborted).ConfigureAwait(false), statusCode: StatusCodes.Status201Created)))
            .WithSummary("Add (or re-key) a machine of the signed-in account");
        group.MapPost("/replace-card", (ReplaceCardRequest request, AccountService service, HttpContext http) =>
            WithPrincipalAsync(http, async p => Results.Ok(await service.ReplaceCardAsync(request, p, http.RequestAborted).ConfigureAwait(false))))
            .WithSummary("Replace the card (one transaction) or add a temporary card");
        group.MapPost("/cards/{serial}/revoke", (string serial, AccountService service, HttpContext http) =>
            WithPrincipalAsync(http, async p => Results.Ok(await service.RevokeCardAsync(serial, p, http.RequestAborted).ConfigureAwait(false))))
            .WithSummary("Revoke one of the user's cards (its sessions and TRK1 tokens too)");
        group.MapGet("/me", (AccountService service, HttpContext http) =>
            WithPrincipalAsync(http, async p => Results.Ok(await service.MeAsync(p, http.RequestAborted).ConfigureAwait(false)))).WithSummary("The signed-in account");
        group.MapGet("/cards", (AccountService service, HttpContext http) =>
            WithPrincipalAsync(http, async p => Results.Ok(await service.CardsAsync(p.Username, http.RequestAborted).ConfigureAwait(false)))).WithSummary("The user's cards and their states");
        group.MapGet("/audit", (AccountService service, HttpContext http) =>
            WithPrincipalAsync(http, async p => Results.Ok(await service.AuditAsync(p.Username, http.RequestAborted).ConfigureAwait(false)))).WithSummary("The user's hash-chained audit log");
        group.MapPut("/escrow", (AccountService service, HttpContext http) =>
            WithPrincipalAsync(http, async p =>
            {
                var blob = await ReadBodyAsync(http, service.EscrowMaxBytes).ConfigureAwait(false);
                return Results.Ok(await service.PutEscrowAsync(p.Username, blob, http.RequestAborted).ConfigureAwait(false));
            })).WithSummary("Store the user's client-encrypted escrow blob (application/octet-stream)");
        group.MapGet("/escrow", (AccountService service, HttpContext http) =>
            WithPrincipalAsync(http, async p => await service.GetEscrowAsync(p.Username, http.RequestAborted).ConfigureAwait(false) is { } blob
                ? Results.Bytes(blob, "application/octet-stream")
                : Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "no escrow blob stored"))).WithSummary("The user's escrow blob");
    }

    private static string? Remote(HttpContext http) => http.Connection.RemoteIpAddress?.ToString();

    private static void SetRetryAfter(HttpContext http, TimeSpan? retryAfter)
    {
        if (retryAfter is { } wait)
        {
            http.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        }
    }

    private static async Task<IResult> RunAsync<T>(HttpContext http, Func<Task<T>> action)
    {
        try
        {
            var result = await action().ConfigureAwait(false);
            return result as IResult ?? Results.Ok(result);
        }
        catch (AccountException e)
        {
            SetRetryAfter(http, e.RetryAfter);
            return Results.Problem(statusCode: e.Status, title: e.Message);
        }
    }

    private static Task<IResult> WithPrincipalAsync(HttpContext http, Func<AccountPrincipal, Task<IResult>> action) =>
        RunAsync(http, async () =>
        {
            var principal = await AccountAuth.AuthenticateAsync(http, null).ConfigureAwait(false) ?? throw new AccountException(401, "sign-in required");
            return await action(principal).ConfigureAwait(false);
        });

    private static async Task<byte[]> ReadBodyAsync(HttpContext http, int maxBytes)
    {
        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit && limit.MaxRequestBodySize < maxBytes + 1L)
        {
            limit.MaxRequestBodySize = maxBytes + 1L;
        }

        if (http.Request.ContentLength > maxBytes)
        {
            // The unread body is not drained: tell the client this connection ends here.
            http.Response.Headers.Connection = "close";
            throw new AccountException(413, $"the escrow blob is larger than {maxBytes} bytes");
        }

        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        try
        {
            while ((read = await http.Request.Body.ReadAsync(chunk, http.RequestAborted).ConfigureAwait(false)) > 0)
            {
                if (buffer.Length + read > maxBytes)
                {
                    http.Response.Headers.Connection = "close";
                    throw new AccountException(413, $"the escrow blob is larger than {maxBytes} bytes");
                }

                buffer.Write(chunk, 0, read);
            }
        }
        catch (BadHttpRequestException)
        {
            throw new AccountException(413, $"the escrow blob is larger than {maxBytes} bytes");
        }

        return buffer.ToArray();
    }
}
