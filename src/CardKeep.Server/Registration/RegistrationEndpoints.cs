using CardKeep.Protocol;
using CardKeep.Server.Hosting;
using CardKeep.Server.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace CardKeep.Server.Registration;

/// <summary>Admin request for an activation code.</summary>
/// <param name="User">Canonical user name the code lets register.</param>
/// <param name="TtlHours">Lifetime (default Registration:ActivationCodeHours).</param>
public sealed record ActivationCodeRequest(string User, int? TtlHours);

/// <summary>The code, shown once.</summary>
/// <param name="User">User name.</param>
/// <param name="Code">The one-time code.</param>
/// <param name="ExpiresAt">Expiry.</param>
public sealed record ActivationCodeResponse(string User, string Code, DateTimeOffset ExpiresAt);

/// <summary>A token as the admin API shows it (no key material).</summary>
/// <param name="Handle">Token handle (hex).</param>
/// <param name="Serial">Token serial (hex).</param>
/// <param name="Suite">Suite.</param>
/// <param name="Status">Status.</param>
/// <param name="FailCount">Consecutive failures.</param>
/// <param name="RegisteredAt">Registration time.</param>
public sealed record TokenView(string Handle, string Serial, string Suite, string Status, int FailCount, DateTimeOffset RegisteredAt);

/// <summary>Registration endpoints: TRK1 REG1–REG5 and the admin API for activation codes and tokens.</summary>
internal static class RegistrationEndpoints
{
    public static void Map(WebApplication app)
    {
        var trk1 = app.MapGroup("/trk1/registration").WithTags("Registration").RequireRateLimiting(ServerHost.RegistrationPolicy);
        trk1.MapPost("/hello", (HttpContext context, string? suite, RegistrationService service, ILogger<RegistrationService> logger) =>
                Trk1Endpoint.RunAsync(context, "REG1", 0, logger, _ => Task.FromResult(service.Hello(ParseSuite(suite)))))
            .WithSummary("REG1: certificate, template and server nonce for suite R or E (query ?suite=R|E, default E)")
            .Produces<byte[]>(StatusCodes.Status200OK, Trk1Endpoint.ContentType);
        trk1.MapPost("/", (HttpContext context, RegistrationService service, ILogger<RegistrationService> logger) =>
                Trk1Endpoint.RunAsync(context, "REG2/REG4", Protocol.Registration.RegistrationServer.MaxRequestLength, logger, body => service.HandleAsync(body, context.RequestAborted)))
            .WithSummary("REG2 → REG3, REG4 → REG5 (TRK1 messages, application/octet-stream)")
            .Accepts<byte[]>(Trk1Endpoint.ContentType)
            .Produces<byte[]>(StatusCodes.Status200OK, Trk1Endpoint.ContentType);

        var admin = app.MapAdminGroup("/admin", "Admin");
        admin.MapPost("/activation-codes", async (ActivationCodeRequest request, RegistrationService service, CancellationToken cancellationToken) =>
        {
            if (AdminAuth.CheckUser(request.User) is { } bad)
            {
                return bad;
            }

            if (request.TtlHours is <= 0 or > 24 * 90)
            {
                return Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "ttlHours must be 1 to 2160");
            }

            var (code, expires) = await service.IssueActivationCodeAsync(request.User, request.TtlHours is int h ? TimeSpan.FromHours(h) : null, cancellationToken).ConfigureAwait(false);
            return Results.Ok(new ActivationCodeResponse(request.User, code, expires));
        }).WithSummary("Issue a one-time activation code for a user name");
        admin.MapGet("/users/{user}/tokens", async (string user, IServerStore store, CancellationToken cancellationToken) =>
        {
            var tokens = await store.ListTokensAsync(user, cancellationToken).ConfigureAwait(false);
            return Results.Ok(tokens.Select(t => new TokenView(Convert.ToHexStringLower(t.TokenHandle), Convert.ToHexStringLower(t.TokenSerial), t.Suite, t.Status, t.FailCount,
                DateTimeOffset.FromUnixTimeMilliseconds(t.RegisteredAt))));
        }).WithSummary("List a user's registered tokens");
        admin.MapPost("/tokens/{handle}/status/{status}", async (string handle, string status, IServerStore store, CancellationToken cancellationToken) =>
        {
            if (status is not (TokenStatus.Active or TokenStatus.Revoked) || !TryHex(handle, Trk1Limits.TokenHandleLength, out var bytes))
            {
                return Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "status must be active or revoked; handle 32 hex digits");
            }

            return await store.SetTokenStatusAsync(bytes, status, cancellationToken).ConfigureAwait(false) ? Results.NoContent() : Results.NotFound();
        }).WithSummary("Unlock (active) or revoke a token");
        admin.MapPost("/token-serials/{serial}/block", async (string serial, IServerStore store, TimeProvider clock, CancellationToken cancellationToken) =>
        {
            if (!TryHex(serial, Trk1Limits.TokenSerialLength, out var bytes))
            {
                return Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "serial must be 32 hex digits");
            }

            await store.BlockSerialAsync(bytes, "blocked by administrator", clock.GetUtcNow().ToUnixTimeMilliseconds(), cancellationToken).ConfigureAwait(false);
            return Results.NoContent();
        }).WithSummary("Block a token serial: its tokens are revoked and it cannot register again");
    }

    internal static Trk1Suite ParseSuite(string? suite) => suite?.ToUpperInvariant() switch
    {
        null or "" or "E" => Trk1Suite.E,
        "R" => Trk1Suite.R,
        _ => throw new Trk1Exception(Trk1Failure.BadHeader, "unknown suite"),
    };

    private static bool TryHex(string text, int length, out byte[] bytes)
    {
        try
        {
            bytes = Convert.FromHexString(text);
            return bytes.Length == length;
        }
        catch (FormatException)
        {
            bytes = [];
            return false;
        }
    }
}
