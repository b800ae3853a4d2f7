using CardKeep.Protocol.Configuration;
using CardKeep.Server.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace CardKeep.Server.Entitlements;

/// <summary>Grant or replace an entitlement.</summary>
/// <param name="Roles">Roles in the application.</param>
/// <param name="Locations">Allowed locations (empty or absent: anywhere).</param>
public sealed record EntitlementRequest(IReadOnlyList<string>? Roles, IReadOnlyList<string>? Locations);

/// <summary>The user's policy version after a change.</summary>
/// <param name="User">User.</param>
/// <param name="Application">Application.</param>
/// <param name="PolicyVersion">New policy version.</param>
public sealed record PolicyVersionResponse(string User, string Application, long PolicyVersion);

/// <summary>An entitlement as the admin API shows it.</summary>
/// <param name="Application">Application.</param>
/// <param name="Roles">Roles.</param>
/// <param name="Locations">Locations.</param>
/// <param name="GrantedAt">Grant time.</param>
public sealed record EntitlementView(string Application, IReadOnlyList<string> Roles, IReadOnlyList<string> Locations, DateTimeOffset GrantedAt);

/// <summary>Admin API for entitlements.</summary>
internal static class EntitlementEndpoints
{
    public static void Map(WebApplication app)
    {
        var admin = app.MapAdminGroup("/admin/users/{user}/entitlements", "Entitlements");
        admin.MapGet("/", async (string user, EntitlementService service, CancellationToken cancellationToken) =>
        {
            if (AdminAuth.CheckUser(user) is { } bad)
            {
                return bad;
            }

            var list = await service.ListAsync(user, cancellationToken).ConfigureAwait(false);
            return Results.Ok(list.Select(e => new EntitlementView(e.Application, e.Roles, e.Locations, DateTimeOffset.FromUnixTimeMilliseconds(e.GrantedAt))));
        }).WithSummary("List a user's entitlements");
        admin.MapPut("/{application}", async (string user, string application, EntitlementRequest request, EntitlementService service, CancellationToken cancellationToken) =>
        {
            if (AdminAuth.CheckUser(user) is { } bad)
            {
                return bad;
            }

            var roles = request.Roles ?? [];
            var locations = request.Locations ?? [];
            if (!service.IsKnownApplication(application))
            {
                return Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: $"unknown application '{application}': configure it under Applications first");
            }

            if (roles.Count > 32 || locations.Count > 32 || !roles.Concat(locations).All(ConfigSchema.IsSafeName))
            {
                return Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "roles and locations: at most 32 each, 1-64 of a-z 0-9 . _ -");
            }

            long version = await service.GrantAsync(user, application, roles, locations, cancellationToken).ConfigureAwait(false);
            return Results.Ok(new PolicyVersionResponse(user, application, version));
        }).WithSummary("Grant or replace an entitlement; effective at the user's next session");
        admin.MapDelete("/{application}", async (string user, string application, EntitlementService service, CancellationToken cancellationToken) =>
        {
            long? version = await service.RevokeAsync(user, application, cancellationToken).ConfigureAwait(false);
            return version is long v ? Results.Ok(new PolicyVersionResponse(user, application, v)) : Results.NotFound();
        }).WithSummary("Revoke an entitlement; the gateway refuses at once, configuration changes at the next session");
    }
}
