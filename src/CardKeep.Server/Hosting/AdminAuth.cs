using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace CardKeep.Server.Hosting;

/// <summary>The admin API's guard: <c>Authorization: Bearer &lt;contents of DATA/admin.token&gt;</c>, else 401.</summary>
internal static class AdminAuth
{
    public static RouteGroupBuilder MapAdminGroup(this WebApplication app, string prefix, string tag)
    {
        var group = app.MapGroup(prefix).WithTags(tag);
        group.AddEndpointFilter(async (context, next) =>
        {
            var http = context.HttpContext;
            var token = http.RequestServices.GetRequiredService<AdminToken>();
            string? header = http.Request.Headers.Authorization;
            string? presented = header is not null && header.StartsWith("Bearer ", StringComparison.Ordinal) ? header["Bearer ".Length..].Trim() : null;
            if (!token.Verify(presented))
            {
                var logger = http.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("CardKeep.Server.Admin");
                Log.AdminRefused(logger, http.Connection.RemoteIpAddress?.ToString());
                return Results.Problem(statusCode: StatusCodes.Status401Unauthorized, title: "admin token required");
            }

            return await next(context).ConfigureAwait(false);
        });
        return group;
    }

    public static IResult? CheckUser(string user) =>
        Protocol.Registration.Trk1Names.IsCanonicalUsername(user) ? null
            : Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "user name must be canonical: lower case NFC, letters, digits and . _ - @, at most 64 bytes");
}
