using System.Text.Json;
using CardKeep.Protocol;
using CardKeep.Protocol.Configuration;

namespace CardKeep.Client;

/// <summary>What <see cref="ConfigApplier.Apply"/> did.</summary>
/// <param name="PolicyVersion">The policy version applied.</param>
/// <param name="Actions">One line per file written or removed.</param>
public sealed record AppliedConfig(long PolicyVersion, IReadOnlyList<string> Actions);

/// <summary>
/// Applies the whitelisted instruction types of a checked Config into the client data folder
/// ($CARDKEEP_HOME/client): <c>app_profile</c> → profiles/NAME.json (profiles no longer sent are removed),
/// <c>app_servers</c> → app-servers.json, <c>agent_settings</c> → agent.json. Remembers the policy version per
/// server in state.json, so an older configuration is refused later (anti-rollback).
/// </summary>
public sealed class ConfigApplier
{
    private static readonly JsonSerializerOptions _json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    /// <summary>Uses <paramref name="directory"/> as the client data folder.</summary>
    public ConfigApplier(string directory)
    {
        Directory = Path.GetFullPath(directory);
    }

    /// <summary>The client data folder.</summary>
    public string Directory { get; }

    /// <summary>The policy version last applied from <paramref name="serverId"/> (0 when none).</summary>
    public long AppliedPolicyVersion(byte[] serverId) =>
        LoadState().TryGetValue(Convert.ToHexStringLower(serverId), out var entry) ? entry.PolicyVersion : 0;

    /// <summary>Writes what <paramref name="config"/> says (already checked by <see cref="ConfigSchema.ParseConfig"/>).</summary>
    public AppliedConfig Apply(ConfigDocument config, byte[] serverId, string serverUrl)
    {
        ArgumentNullException.ThrowIfNull(config);
        long applied = AppliedPolicyVersion(serverId);
        if (config.PolicyVersion < applied)
        {
            throw new Trk1Exception(Trk1Failure.BadConfiguration, "policy version rolled back");
        }

        System.IO.Directory.CreateDirectory(Path.Combine(Directory, "profiles"));
        var actions = new List<string>();
        var profiles = new HashSet<string>(StringComparer.Ordinal);
        foreach (var instruction in config.Instructions)
        {
            switch (instruction.Type)
            {
                case "app_profile":
                    profiles.Add(instruction.Name!);
                    Write(Path.Combine("profiles", instruction.Name + ".json"), new { application = instruction.Name, settings = instruction.Settings, user = config.User }, actions);
                    break;
                case "app_servers":
                    Write("app-servers.json", new { server = serverUrl, servers = instruction.Servers }, actions);
                    break;
                case "agent_settings":
                    Write("agent.json", instruction.Settings, actions);
                    break;
                default:
                    throw new Trk1Exception(Trk1Failure.BadConfiguration, "instruction type not whitelisted");
            }
        }

        foreach (var file in System.IO.Directory.EnumerateFiles(Path.Combine(Directory, "profiles"), "*.json"))
        {
            if (!profiles.Contains(Path.GetFileNameWithoutExtension(file)))
            {
                File.Delete(file);
                actions.Add($"removed profiles/{Path.GetFileName(file)}");
            }
        }

        var state = LoadState();
        state[Convert.ToHexStringLower(serverId)] = new ServerState(serverUrl, config.PolicyVersion, DateTimeOffset.UtcNow);
        WriteAtomic("state.json", JsonSerializer.SerializeToUtf8Bytes(state, _json));
        return new AppliedConfig(config.PolicyVersion, actions);
    }

    private void Write(string relative, object? content, List<string> actions)
    {
        WriteAtomic(relative, JsonSerializer.SerializeToUtf8Bytes(content, _json));
        actions.Add($"wrote {relative}");
    }

    private void WriteAtomic(string relative, byte[] bytes)
    {
        string path = Path.Combine(Directory, relative);
        string temp = path + ".tmp";
        File.WriteAllBytes(temp, bytes);
        File.Move(temp, path, overwrite: true);
    }

    private Dictionary<string, ServerState> LoadState()
    {
        string path = Path.Combine(Directory, "state.json");
        if (!File.Exists(path))
        {
            return new Dictionary<string, ServerState>(StringComparer.Ordinal);
        }

        try
        {
            return JsonSerializer.Deserialize<Dictionary<string, ServerState>>(File.ReadAllBytes(path), _json) ?? new Dictionary<string, ServerState>(StringComparer.Ordinal);
        }
        catch (JsonException e)
        {
            throw new IOException($"{path} is damaged; remove it to accept any policy version again", e);
        }
    }

    private sealed record ServerState(string Url, long PolicyVersion, DateTimeOffset AppliedAt);
}
