using System.Text.Json;
using CardKeep.Protocol;

namespace CardKeep.Client.Tokens;

/// <summary>
/// A software token: one JSON file (0600) holding the serial, the issuer certificate and the registrations, each SSK
/// wrapped under the token passphrase (PBKDF2-SHA256 600 000 + HKDF, AES-256-GCM). Without a retry counter its
/// passphrase can be guessed offline from a copied file (W11): use a long passphrase, or a card or VSC.
/// </summary>
public sealed class SoftwareToken : ITokenStore
{
    /// <summary>The file's format name.</summary>
    public const string Format = "cardkeep-software-token";

    /// <summary>Shortest passphrase accepted for a software token.</summary>
    public const int MinimumPassphraseLength = 8;

    private static readonly JsonSerializerOptions _indented = new(TokenRecords.Json) { WriteIndented = true };
    private readonly string _path;

    /// <summary>Opens an existing software token file.</summary>
    public SoftwareToken(string path)
    {
        _path = Path.GetFullPath(path);
        if (!File.Exists(_path))
        {
            throw new TokenException($"no software token at {_path}; create one with 'cardkeep token provision --file {path}'");
        }
    }

    /// <inheritdoc/>
    public string Description => $"software token {_path}";

    /// <summary>Writes a new token file (fails if it exists).</summary>
    public static SoftwareToken Create(string path, TokenIdentity identity)
    {
        ArgumentNullException.ThrowIfNull(identity);
        string full = Path.GetFullPath(path);
        if (File.Exists(full))
        {
            throw new TokenException($"{full} exists already");
        }

        Save(full, new TokenFile(Format, 1, Convert.ToHexStringLower(identity.Serial), Convert.ToBase64String(identity.IssuerCertificate), []), createNew: true);
        return new SoftwareToken(full);
    }

    /// <inheritdoc/>
    public TokenIdentity ReadIdentity()
    {
        var file = Load();
        return new TokenIdentity(Convert.FromHexString(file.Serial), Convert.FromBase64String(file.IssuerCertificate));
    }

    /// <inheritdoc/>
    public IReadOnlyList<TokenRegistration> ReadRegistrations(ReadOnlySpan<byte> pin) => Load().Registrations ?? [];

    /// <inheritdoc/>
    public void WriteRegistrations(IReadOnlyList<TokenRegistration> registrations, ReadOnlySpan<byte> pin) =>
        Save(_path, Load() with { Registrations = registrations }, createNew: false);

    private TokenFile Load()
    {
        try
        {
            var file = JsonSerializer.Deserialize<TokenFile>(File.ReadAllBytes(_path), TokenRecords.Json);
            if (file is null || file.Format != Format || file.Version != 1 || file.Serial.Length != Trk1Limits.TokenSerialLength * 2)
            {
                throw new TokenException($"{_path} is not a CardKeep software token (version 1)");
            }

            return file;
        }
        catch (Exception e) when (e is JsonException or FormatException)
        {
            throw new TokenException($"{_path} is damaged: {e.Message}", e);
        }
    }

    private static void Save(string path, TokenFile file, bool createNew)
    {
        var bytes = JsonSerializer.SerializeToUtf8Bytes(file, _indented);
        string temp = path + ".tmp";
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using (var stream = new FileStream(temp, options))
        {
            stream.Write(bytes);
            stream.Flush(true);
        }

        if (createNew && File.Exists(path))
        {
            File.Delete(temp);
            throw new TokenException($"{path} exists already");
        }

        File.Move(temp, path, overwrite: true);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
    }

    private sealed record TokenFile(string Format, int Version, string Serial, string IssuerCertificate, IReadOnlyList<TokenRegistration>? Registrations);
}
