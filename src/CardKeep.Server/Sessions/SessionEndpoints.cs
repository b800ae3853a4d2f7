using CardKeep.Protocol;
using CardKeep.Server.Hosting;
using CardKeep.Server.Registration;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace CardKeep.Server.Sessions;

/// <summary>Session endpoints: S1, S2 → S3 and S4 → S5.</summary>
internal static class SessionEndpoints
{
    public static void Map(WebApplication app)
    {
        var trk1 = app.MapGroup("/trk1/session").WithTags("Sessions").RequireRateLimiting(ServerHost.SessionPolicy);
        trk1.MapPost("/challenge", (HttpContext context, string? suite, SessionService service, ILogger<SessionService> logger) =>
                Trk1Endpoint.RunAsync(context, "S1", 0, logger, _ => Task.FromResult(service.Challenge(RegistrationEndpoints.ParseSuite(suite)))))
            .WithSummary("S1: challenge for a token registered under suite R or E (query ?suite=R|E, default E)")
            .Produces<byte[]>(StatusCodes.Status200OK, Trk1Endpoint.ContentType);
        trk1.MapPost("/", (HttpContext context, SessionService service, ILogger<SessionService> logger) =>
                Trk1Endpoint.RunAsync(context, "S2/S4", Trk1Limits.HeaderLength + 8 + Trk1Limits.MaxUserInfoLength + Trk1Limits.TagLength, logger,
                    body => service.HandleAsync(body, context.RequestAborted)))
            .WithSummary("S2 → S3 (ServerFinished), S4 UserInfo → S5 Config (TRK1 messages)")
            .Accepts<byte[]>(Trk1Endpoint.ContentType)
            .Produces<byte[]>(StatusCodes.Status200OK, Trk1Endpoint.ContentType);
    }
}
