using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace CardKeep.Client.PersonalEnvironment;

/// <summary>An entry in the local offline copy.</summary>
/// <param name="Id">Record id.</param>
/// <param name="Entry">Content (null when removed locally and not yet synced).</param>
/// <param name="BaseRevision">The server revision this copy started from (0 = never on the server).</param>
/// <param name="ChangeId">Random id of an unsynced local edit (null = clean).</param>
/// <param name="UsedAt">Last use.</param>
public sealed record LocalEntry(string Id, EnvEntry? Entry, long BaseRevision, string? ChangeId, long UsedAt)
{
    /// <summary>True when edited (or removed) locally since the last sync.</summary>
    public bool Dirty => ChangeId is not null;
}

/// <summary>The local copy's contents.</summary>
/// <param name="Set">The set the card carries (null = all entries).</param>
/// <param name="Entries">Entries by id.</param>
public sealed record LocalState(string? Set, IReadOnlyList<LocalEntry> Entries);

/// <summary>The non-secret part of the folder: whose it is, which server and card, and the RMK wrapped to that card (for offline use).</summary>
/// <param name="User">User name.</param>
/// <param name="Server">Server URL.</param>
/// <param name="CardSerial">Card serial.</param>
/// <param name="CardWrap">The record master key wrapped to the card's 9D key.</param>
public sealed record LocalKeys(string User, string? Server, string CardSerial, byte[] CardWrap);

/// <summary>
/// The client's offline copy of the environment in a folder (default <c>~/.local/share/cardkeep/env</c>; mode 0700):
/// <c>keys.json</c> (the RMK wrapped to the card, no secret) and <c>state.bin</c>, the entries encrypted with
/// AES-256-GCM under a key derived from the RMK. Files are replaced atomically (write, fsync, rename).
/// </summary>
public sealed class LocalFolder(string path)
{
    /// <summary>The folder.</summary>
    public string Path { get; } = System.IO.Path.GetFullPath(path);

    private string KeysFile => System.IO.Path.Combine(Path, "keys.json");

    private string StateFile => System.IO.Path.Combine(Path, "state.bin");

    /// <summary>The default folder.</summary>
    public static string DefaultPath() =>
        System.IO.Path.Combine(Environment.GetEnvironmentVariable("XDG_DATA_HOME") is { Length: > 0 } xdg ? xdg
            : System.IO.Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "share"), "cardkeep", "env");

    /// <summary>The keys file, or null before the first use.</summary>
    public LocalKeys? ReadKeys() => File.Exists(KeysFile) ? JsonSerializer.Deserialize<LocalKeys>(File.ReadAllBytes(KeysFile), EnvJson.Options) : null;

    /// <summary>Writes the keys file.</summary>
    public void WriteKeys(LocalKeys keys) => Replace(KeysFile, JsonSerializer.SerializeToUtf8Bytes(keys, EnvJson.Options));

    /// <summary>The state (empty when none); <see cref="DamagedRecordException"/> when it fails authentication.</summary>
    public LocalState ReadState(ReadOnlySpan<byte> rmk, string user)
    {
        if (!File.Exists(StateFile))
        {
            return new LocalState(null, []);
        }

        byte[] key = RecordCrypto.DeriveSubkey(rmk, "local", user);
        byte[]? plaintext = null;
        try
        {
            plaintext = RecordCrypto.Open(key, File.ReadAllBytes(StateFile), Ad(user), $"the local copy {StateFile}");
            return JsonSerializer.Deserialize<LocalState>(plaintext, EnvJson.Options) ?? new LocalState(null, []);
        }
        catch (JsonException e)
        {
            throw new DamagedRecordException($"the local copy {StateFile} does not parse", e);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
            if (plaintext is not null)
            {
                CryptographicOperations.ZeroMemory(plaintext);
            }
        }
    }

    /// <summary>Encrypts and atomically replaces the state.</summary>
    public void WriteState(ReadOnlySpan<byte> rmk, string user, LocalState state)
    {
        byte[] key = RecordCrypto.DeriveSubkey(rmk, "local", user);
        byte[] plaintext = JsonSerializer.SerializeToUtf8Bytes(state, EnvJson.Options);
        try
        {
            Replace(StateFile, RecordCrypto.Seal(key, plaintext, Ad(user)));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
            CryptographicOperations.ZeroMemory(plaintext);
        }
    }

    private void Replace(string file, byte[] content)
    {
        Directory.CreateDirectory(Path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        string temp = file + ".tmp";
        using (var stream = new FileStream(temp, new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite }))
        {
            stream.Write(content);
            stream.Flush(flushToDisk: true);
        }

        File.Move(temp, file, overwrite: true);
    }

    private static byte[] Ad(string user) => Encoding.UTF8.GetBytes("cardkeep-env-local-v1\0" + user);
}
