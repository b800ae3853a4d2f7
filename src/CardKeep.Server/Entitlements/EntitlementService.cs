using CardKeep.Protocol.Configuration;
using CardKeep.Server.Hosting;
using CardKeep.Server.Storage;
using Microsoft.Extensions.Logging;

namespace CardKeep.Server.Entitlements;

/// <summary>
/// Entitlements (who may use which application, with which roles, from where) and the S5 configuration built from
/// them. Every change raises the user's policy version, so it shows at the next session without re-registration.
/// </summary>
public sealed class EntitlementService
{
    /// <summary>The route the gateway listens on (named in app_servers instructions).</summary>
    public const string GatewayPath = "/trk1/gateway";

    private readonly IServerStore _store;
    private readonly ServerOptions _options;
    private readonly TimeProvider _clock;
    private readonly ILogger<EntitlementService> _logger;

    /// <summary>Creates the service.</summary>
    public EntitlementService(IServerStore store, ServerOptions options, TimeProvider clock, ILogger<EntitlementService> logger)
    {
        _store = store;
        _options = options;
        _clock = clock;
        _logger = logger;
    }

    /// <summary>True when <paramref name="application"/> is configured.</summary>
    public bool IsKnownApplication(string application) => _options.Applications.ContainsKey(application);

    /// <summary>Grants (or replaces) an entitlement; returns the new policy version.</summary>
    public async Task<long> GrantAsync(string username, string application, IReadOnlyList<string> roles, IReadOnlyList<string> locations, CancellationToken cancellationToken)
    {
        long now = _clock.GetUtcNow().ToUnixTimeMilliseconds();
        long version = await _store.GrantEntitlementAsync(new EntitlementRecord(username, application, roles, locations, now), now, cancellationToken).ConfigureAwait(false);
        Log.Granted(_logger, username, application, version);
        return version;
    }

    /// <summary>Revokes; the new policy version, or null when there was nothing to revoke.</summary>
    public async Task<long?> RevokeAsync(string username, string application, CancellationToken cancellationToken)
    {
        long? version = await _store.RevokeEntitlementAsync(username, application, cancellationToken).ConfigureAwait(false);
        if (version is long v)
        {
            Log.Revoked(_logger, username, application, v);
        }

        return version;
    }

    /// <summary>The user's entitlements.</summary>
    public Task<IReadOnlyList<EntitlementRecord>> ListAsync(string username, CancellationToken cancellationToken) => _store.ListEntitlementsAsync(username, cancellationToken);

    /// <summary>True when an entitlement applies at <paramref name="location"/> (no locations listed means anywhere).</summary>
    public static bool AllowedAt(EntitlementRecord entitlement, string? location)
    {
        ArgumentNullException.ThrowIfNull(entitlement);
        return entitlement.Locations.Count == 0 || (location is not null && entitlement.Locations.Contains(location, StringComparer.Ordinal));
    }

    /// <summary>The entitlement that lets <paramref name="username"/> use <paramref name="application"/> at <paramref name="location"/>, or why not.</summary>
    public async Task<(EntitlementRecord? Entitlement, string Reason)> AuthorizeAsync(string username, string application, string? location, CancellationToken cancellationToken)
    {
        if (!IsKnownApplication(application))
        {
            return (null, "unknown application");
        }

        var entitlement = (await ListAsync(username, cancellationToken).ConfigureAwait(false)).FirstOrDefault(e => e.Application == application);
        if (entitlement is null)
        {
            return (null, "not entitled");
        }

        return AllowedAt(entitlement, location) ? (entitlement, "entitled") : (null, "not entitled at this location");
    }

    /// <summary>S5: the configuration for <paramref name="username"/> on the system described by <paramref name="info"/>.</summary>
    public async Task<ConfigDocument> BuildConfigAsync(string username, UserInfo? info, CancellationToken cancellationToken)
    {
        var user = await _store.GetUserAsync(username, cancellationToken).ConfigureAwait(false);
        var entitlements = await ListAsync(username, cancellationToken).ConfigureAwait(false);
        var usable = entitlements.Where(e => IsKnownApplication(e.Application) && AllowedAt(e, info?.Location)).ToList();
        var instructions = new List<ConfigInstruction>();
        foreach (var e in usable)
        {
            var app = _options.Applications[e.Application];
            var settings = new Dictionary<string, string>(app.Settings, StringComparer.Ordinal)
            {
                ["roles"] = string.Join(',', e.Roles),
                ["gateway_path"] = GatewayPath,
            };
            instructions.Add(new ConfigInstruction { Type = "app_profile", Name = e.Application, Settings = settings });
        }

        instructions.Add(new ConfigInstruction
        {
            Type = "app_servers",
            Servers = usable.Select(e => new AppServerEntry(e.Application, GatewayPath, _options.Applications[e.Application].Description)).ToList(),
        });
        if (_options.Agent.Count > 0)
        {
            instructions.Add(new ConfigInstruction { Type = "agent_settings", Settings = new Dictionary<string, string>(_options.Agent, StringComparer.Ordinal) });
        }

        var config = new ConfigDocument
        {
            PolicyVersion = user?.PolicyVersion ?? 1,
            NotAfter = _clock.GetUtcNow().AddMinutes(_options.Sessions.ConfigValidityMinutes).ToUnixTimeMilliseconds(),
            User = username,
            Entitlements = entitlements.Select(e => new EntitlementInfo(e.Application, e.Roles, e.Locations)).ToList(),
            Instructions = instructions,
        };
        Log.ConfigSent(_logger, username, config.PolicyVersion, info?.Location, instructions.Count);
        return config;
    }
}
