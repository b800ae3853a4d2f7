using System.Text.Json;
using System.Text.Json.Serialization;
using CardKeep.VirtualCard.Store;

namespace CardKeep.Agent.Sessions;

/// <summary>The agent's JSON state files: owner-only (0600) in an owner-only folder (0700), replaced atomically.</summary>
internal static class JsonFile
{
    public static readonly JsonSerializerOptions Options = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>The same names on one line: the local API sends one JSON object per line.</summary>
    public static readonly JsonSerializerOptions Compact = new(Options) { WriteIndented = false };

    public static T? Read<T>(string path)
        where T : class
    {
        if (!File.Exists(path))
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize<T>(File.ReadAllBytes(path), Options);
        }
        catch (JsonException e)
        {
            throw new IOException($"'{path}' is not a valid CardKeep state file: {e.Message}", e);
        }
    }

    public static void Write<T>(string path, T value)
    {
        EnsureDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        AtomicFile.Write(path, JsonSerializer.SerializeToUtf8Bytes(value, Options), overwrite: true);
    }

    public static void EnsureDirectory(string directory)
    {
        if (!Directory.Exists(directory))
        {
            Directory.CreateDirectory(directory, AtomicFile.DirectoryMode0700);
        }

        Daemon.SafeFolder.Require(directory);
    }
}
