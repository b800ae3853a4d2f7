using System.Text.Json;
using System.Text.Json.Serialization;

namespace CardKeep.Protocol.Configuration;

/// <summary>S4 UserInfo: what the client says about the user's system (JSON ≤ 4 KiB; see docs/protocol-trk1.md).</summary>
public sealed record UserInfo
{
    /// <summary>Host name of the client machine.</summary>
    public string? Host { get; init; }

    /// <summary>Location label (e.g. "office-berlin"); compared with an entitlement's allowed locations.</summary>
    public string? Location { get; init; }

    /// <summary>Operating system description.</summary>
    public string? Os { get; init; }

    /// <summary>Client program and version.</summary>
    public string? Client { get; init; }
}

/// <summary>One entitlement as the configuration reports it.</summary>
/// <param name="Application">Application name.</param>
/// <param name="Roles">Roles in that application.</param>
/// <param name="Locations">Allowed locations (empty = anywhere).</param>
public sealed record EntitlementInfo(string Application, IReadOnlyList<string> Roles, IReadOnlyList<string> Locations);

/// <summary>An application server the client may use, reached through the gateway.</summary>
/// <param name="Name">Application name.</param>
/// <param name="GatewayPath">Gateway route on the authentication server.</param>
/// <param name="Description">Human description.</param>
public sealed record AppServerEntry(string Name, string GatewayPath, string? Description);

/// <summary>
/// One configuration instruction. Whitelisted types (anything else refuses the whole document):
/// <c>app_profile</c> (name + settings: written to profiles/NAME.json), <c>app_servers</c> (servers: written to
/// app-servers.json), <c>agent_settings</c> (settings: written to agent.json).
/// </summary>
public sealed record ConfigInstruction
{
    /// <summary>Instruction type.</summary>
    public required string Type { get; init; }

    /// <summary>Profile name (app_profile).</summary>
    public string? Name { get; init; }

    /// <summary>Settings (app_profile, agent_settings).</summary>
    public IReadOnlyDictionary<string, string>? Settings { get; init; }

    /// <summary>Application servers (app_servers).</summary>
    public IReadOnlyList<AppServerEntry>? Servers { get; init; }
}

/// <summary>S5 Config, schema version 1.</summary>
public sealed record ConfigDocument
{
    /// <summary>Schema version (1).</summary>
    public int Schema { get; init; } = ConfigSchema.Version;

    /// <summary>Monotonic policy version: a client refuses a lower one than it has applied (anti-rollback).</summary>
    public long PolicyVersion { get; init; }

    /// <summary>Unix milliseconds after which the document must not be applied.</summary>
    public long NotAfter { get; init; }

    /// <summary>The user the configuration is for.</summary>
    public required string User { get; init; }

    /// <summary>The user's entitlements in force.</summary>
    public IReadOnlyList<EntitlementInfo> Entitlements { get; init; } = [];

    /// <summary>What the client should apply.</summary>
    public IReadOnlyList<ConfigInstruction> Instructions { get; init; } = [];
}

/// <summary>Serialisation and the client's checks (C11) for UserInfo and Config.</summary>
public static class ConfigSchema
{
    /// <summary>The schema version this library writes and accepts.</summary>
    public const int Version = 1;

    /// <summary>Instruction types a client applies.</summary>
    public static IReadOnlySet<string> InstructionTypes { get; } = new HashSet<string>(StringComparer.Ordinal) { "app_profile", "app_servers", "agent_settings" };

    private const int MaxSettings = 64;
    private const int MaxSettingLength = 512;

    private static readonly JsonSerializerOptions _json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        AllowDuplicateProperties = false,
        MaxDepth = 8,
    };

    /// <summary>UTF-8 JSON of a UserInfo.</summary>
    public static byte[] Serialize(UserInfo info) => Bounded(JsonSerializer.SerializeToUtf8Bytes(info, _json), Trk1Limits.MaxUserInfoLength);

    /// <summary>UTF-8 JSON of a Config.</summary>
    public static byte[] Serialize(ConfigDocument config) => Bounded(JsonSerializer.SerializeToUtf8Bytes(config, _json), Trk1Limits.MaxConfigLength);

    /// <summary>Server side: parses S4's JSON (unknown members refused).</summary>
    public static UserInfo ParseUserInfo(ReadOnlySpan<byte> json)
    {
        if (json.Length > Trk1Limits.MaxUserInfoLength)
        {
            throw new Trk1Exception(Trk1Failure.Malformed, "UserInfo too long");
        }

        try
        {
            var info = JsonSerializer.Deserialize<UserInfo>(json, _json) ?? throw new Trk1Exception(Trk1Failure.Malformed, "UserInfo is null");
            foreach (var value in new[] { info.Host, info.Location, info.Os, info.Client })
            {
                if (value is { Length: > 256 })
                {
                    throw new Trk1Exception(Trk1Failure.Malformed, "UserInfo field too long");
                }
            }

            return info;
        }
        catch (JsonException)
        {
            throw new Trk1Exception(Trk1Failure.Malformed, "UserInfo is not valid JSON of the schema");
        }
    }

    /// <summary>
    /// Client side (C11): schema version 1, <c>policy_version ≥ <paramref name="appliedPolicyVersion"/></c>,
    /// <c>now &lt; not_after</c>, only whitelisted instruction types with their required, well-formed members.
    /// </summary>
    public static ConfigDocument ParseConfig(ReadOnlySpan<byte> json, long appliedPolicyVersion, DateTimeOffset now)
    {
        if (json.Length > Trk1Limits.MaxConfigLength)
        {
            throw new Trk1Exception(Trk1Failure.BadConfiguration, "Config too long");
        }

        ConfigDocument config;
        try
        {
            config = JsonSerializer.Deserialize<ConfigDocument>(json, _json) ?? throw new Trk1Exception(Trk1Failure.BadConfiguration, "Config is null");
        }
        catch (JsonException)
        {
            throw new Trk1Exception(Trk1Failure.BadConfiguration, "Config is not valid JSON of the schema");
        }

        if (config.Schema != Version)
        {
            throw new Trk1Exception(Trk1Failure.BadConfiguration, "unknown configuration schema version");
        }

        if (config.PolicyVersion < appliedPolicyVersion)
        {
            throw new Trk1Exception(Trk1Failure.BadConfiguration, "policy version rolled back");
        }

        if (now.ToUnixTimeMilliseconds() >= config.NotAfter)
        {
            throw new Trk1Exception(Trk1Failure.BadConfiguration, "configuration expired");
        }

        foreach (var instruction in config.Instructions ?? [])
        {
            CheckInstruction(instruction);
        }

        return config;
    }

    /// <summary>True for names safe as file names and identifiers: 1–64 of a-z 0-9 . _ - (not starting with '.').</summary>
    public static bool IsSafeName(string? name) =>
        !string.IsNullOrEmpty(name) && name.Length <= 64 && name[0] != '.' && name.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '.' or '_' or '-');

    private static void CheckInstruction(ConfigInstruction instruction)
    {
        if (instruction is null || !InstructionTypes.Contains(instruction.Type))
        {
            throw new Trk1Exception(Trk1Failure.BadConfiguration, "instruction type not whitelisted");
        }

        bool ok = instruction.Type switch
        {
            "app_profile" => IsSafeName(instruction.Name) && SettingsOk(instruction.Settings) && instruction.Servers is null,
            "agent_settings" => instruction.Name is null && SettingsOk(instruction.Settings) && instruction.Servers is null,
            "app_servers" => instruction.Name is null && instruction.Settings is null && instruction.Servers is { Count: <= 64 } servers
                && servers.All(s => s is not null && IsSafeName(s.Name) && s.GatewayPath is { Length: > 0 and <= 256 } && s.GatewayPath.StartsWith('/') && s.Description is not { Length: > 256 }),
            _ => false,
        };
        if (!ok)
        {
            throw new Trk1Exception(Trk1Failure.BadConfiguration, "instruction members out of schema");
        }
    }

    private static bool SettingsOk(IReadOnlyDictionary<string, string>? settings) =>
        settings is { Count: <= MaxSettings } && settings.All(kv => IsSafeName(kv.Key) && kv.Value is { Length: <= MaxSettingLength });

    private static byte[] Bounded(byte[] json, int max) =>
        json.Length <= max ? json : throw new InvalidOperationException("document longer than the protocol allows");
}
