using System.Security.Cryptography;
using System.Text.Json;

namespace CardKeep.Manager;

/// <summary>
/// Objects copied from a card, waiting to be pasted, kept in <c>clipboard.json</c> in the data folder. When it holds
/// a private (PIN-protected) object the file is encrypted with AES-256-GCM under a random key kept in the runtime
/// folder (<c>$XDG_RUNTIME_DIR/cardkeep/clipboard.key</c>, 0600), which goes away at logout or reboot: private
/// objects do not outlive the login session on disk.
/// </summary>
public sealed class Clipboard(string dataDirectory, string runtimeDirectory)
{
    private const int FormatVersion = 1;
    private static readonly byte[] _aad = "CardKeep clipboard v1"u8.ToArray();

    public static Clipboard Default() => new(DataPaths.DataDirectory(), DataPaths.RuntimeDirectory());

    private string FilePath => Path.Combine(dataDirectory, "clipboard.json");

    private string KeyPath => Path.Combine(runtimeDirectory, "clipboard.key");

    public sealed record Content(string Source, DateTimeOffset Copied, IReadOnlyList<CardObject> Objects);

    private sealed record StoredObject(uint Tag, ObjectArea Area, byte[] Value);

    private sealed record Plain(string Source, DateTimeOffset Copied, List<StoredObject> Objects);

    private sealed record Envelope(int Version, bool Encrypted, Plain? Content, byte[]? Nonce, byte[]? Ciphertext);

    public void Put(string source, IReadOnlyList<CardObject> objects)
    {
        ArgumentNullException.ThrowIfNull(objects);
        var plain = new Plain(source, DateTimeOffset.UtcNow, [.. objects.Select(o => new StoredObject(o.Tag, o.Area, o.Value))]);
        Envelope envelope;
        if (objects.Any(o => o.Area == ObjectArea.Private))
        {
            byte[] json = JsonSerializer.SerializeToUtf8Bytes(plain);
            byte[] key = LoadOrCreateKey();
            try
            {
                byte[] nonce = RandomNumberGenerator.GetBytes(12);
                byte[] ciphertext = new byte[json.Length + 16];
                using var aes = new AesGcm(key, 16);
                aes.Encrypt(nonce, json, ciphertext.AsSpan(0, json.Length), ciphertext.AsSpan(json.Length), _aad);
                envelope = new Envelope(FormatVersion, true, null, nonce, ciphertext);
            }
            finally
            {
                CryptographicOperations.ZeroMemory(json);
                CryptographicOperations.ZeroMemory(key);
            }
        }
        else
        {
            envelope = new Envelope(FormatVersion, false, plain, null, null);
        }

        string temporary = FilePath + ".tmp-" + Environment.ProcessId;
        File.WriteAllBytes(temporary, JsonSerializer.SerializeToUtf8Bytes(envelope));
        File.SetUnixFileMode(temporary, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.Move(temporary, FilePath, overwrite: true);
    }

    /// <summary>What the clipboard holds, or null when empty. Throws when it cannot be decrypted (key gone).</summary>
    public Content? Get()
    {
        if (!File.Exists(FilePath))
        {
            return null;
        }

        Envelope envelope;
        try
        {
            envelope = JsonSerializer.Deserialize<Envelope>(File.ReadAllBytes(FilePath)) ?? throw new JsonException("empty");
        }
        catch (JsonException)
        {
            throw new ManagerException($"the clipboard file {FilePath} is damaged; copy again");
        }

        Plain plain;
        if (envelope.Encrypted)
        {
            if (!File.Exists(KeyPath) || envelope.Nonce is not { Length: 12 } || envelope.Ciphertext is not { Length: >= 16 })
            {
                throw new ManagerException("the clipboard holds private objects from an earlier login session and can no longer be decrypted; copy again");
            }

            byte[] key = File.ReadAllBytes(KeyPath);
            byte[] json = new byte[envelope.Ciphertext.Length - 16];
            try
            {
                using var aes = new AesGcm(key, 16);
                aes.Decrypt(envelope.Nonce, envelope.Ciphertext.AsSpan(0, json.Length), envelope.Ciphertext.AsSpan(json.Length), json, _aad);
                plain = JsonSerializer.Deserialize<Plain>(json) ?? throw new JsonException("empty");
            }
            catch (AuthenticationTagMismatchException)
            {
                throw new ManagerException("the clipboard cannot be decrypted (it was changed, or its key belongs to another session); copy again");
            }
            finally
            {
                CryptographicOperations.ZeroMemory(key);
                CryptographicOperations.ZeroMemory(json);
            }
        }
        else
        {
            plain = envelope.Content ?? throw new ManagerException($"the clipboard file {FilePath} is damaged; copy again");
        }

        return new Content(plain.Source, plain.Copied, [.. plain.Objects.Select(o => new CardObject(o.Tag, o.Area, o.Value))]);
    }

    public void Clear() => File.Delete(FilePath);

    private byte[] LoadOrCreateKey()
    {
        if (File.Exists(KeyPath))
        {
            byte[] existing = File.ReadAllBytes(KeyPath);
            if (existing.Length == 32)
            {
                return existing;
            }
        }

        byte[] key = RandomNumberGenerator.GetBytes(32);
        using (var stream = new FileStream(KeyPath, new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite }))
        {
            stream.Write(key);
        }

        return key;
    }
}
