using CardKeep.Protocol;
using CardKeep.Server.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace CardKeep.Server.Gateway;

/// <summary>The gateway endpoint: GatewayRequest record → GatewayResponse record.</summary>
internal static class GatewayEndpoints
{
    public static void Map(WebApplication app)
    {
        app.MapPost("/trk1/gateway", (HttpContext context, GatewayService service, ILogger<GatewayService> logger) =>
                Trk1Endpoint.RunAsync(context, "gateway", Trk1Limits.MaxRecordMessageLength, logger, body => service.HandleAsync(body, context.RequestAborted)))
            .WithTags("Gateway")
            .RequireRateLimiting(ServerHost.SessionPolicy)
            .WithSummary("Forward a request of an established session to an entitled application server")
            .Accepts<byte[]>(Trk1Endpoint.ContentType)
            .Produces<byte[]>(StatusCodes.Status200OK, Trk1Endpoint.ContentType);
    }
}
