using System.Security.Cryptography;
using System.Text;

namespace CardKeep.Server.Hosting;

/// <summary>CardKeep's data folder and the owner-only files the server keeps in it.</summary>
public static class DataFiles
{
    /// <summary>$CARDKEEP_HOME, else $XDG_DATA_HOME/cardkeep, else ~/.local/share/cardkeep.</summary>
    public static string Home()
    {
        string? home = Environment.GetEnvironmentVariable("CARDKEEP_HOME");
        if (!string.IsNullOrEmpty(home))
        {
            return home;
        }

        string? xdg = Environment.GetEnvironmentVariable("XDG_DATA_HOME");
        return !string.IsNullOrEmpty(xdg) && Path.IsPathRooted(xdg)
            ? Path.Combine(xdg, "cardkeep")
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "share", "cardkeep");
    }

    /// <summary>The server's default data folder: Home()/server.</summary>
    public static string DefaultServerDirectory() => Path.Combine(Home(), "server");

    /// <summary>Creates a folder readable by the owner only (0700 on Unix).</summary>
    public static void CreatePrivateDirectory(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(path);
        }
        else
        {
            Directory.CreateDirectory(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    /// <summary>Writes a new file readable and writable by the owner only (0600); fails if it exists.</summary>
    public static void WriteNewPrivateFile(string path, ReadOnlySpan<byte> content)
    {
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using var stream = new FileStream(path, options);
        stream.Write(content);
        stream.Flush(true);
    }

    /// <summary>Reads <paramref name="path"/>, or creates it with <paramref name="create"/>'s bytes (0600) when absent.</summary>
    public static byte[] LoadOrCreate(string path, Func<byte[]> create)
    {
        ArgumentNullException.ThrowIfNull(create);
        if (File.Exists(path))
        {
            return File.ReadAllBytes(path);
        }

        var content = create();
        try
        {
            WriteNewPrivateFile(path, content);
            return content;
        }
        catch (IOException) when (File.Exists(path))
        {
            // Another process created it first: use theirs.
            CryptographicOperations.ZeroMemory(content);
            return File.ReadAllBytes(path);
        }
    }
}

/// <summary>
/// The server's long-term secret (DATA/secret.key, 32 random bytes, 0600, created at first start) and the keys
/// derived from it with HKDF: the master KEK that wraps stored SSKs, K_uid for user identification codes and K_act
/// for activation-code HMACs. Servers sharing one PostgreSQL database must share this file.
/// </summary>
public sealed class ServerSecrets : IDisposable
{
    private ServerSecrets(byte[] secret)
    {
        WrapKey = Derive(secret, "ssk wrap");
        UserIdKey = Derive(secret, "user id code");
        ActivationKey = Derive(secret, "activation code");
        CryptographicOperations.ZeroMemory(secret);
    }

    /// <summary>Master KEK for stored SSKs.</summary>
    public byte[] WrapKey { get; }

    /// <summary>K_uid.</summary>
    public byte[] UserIdKey { get; }

    /// <summary>K_act.</summary>
    public byte[] ActivationKey { get; }

    /// <summary>Loads or creates DATA/secret.key.</summary>
    public static ServerSecrets LoadOrCreate(string dataDirectory)
    {
        var secret = DataFiles.LoadOrCreate(Path.Combine(dataDirectory, "secret.key"), () => RandomNumberGenerator.GetBytes(32));
        if (secret.Length != 32)
        {
            throw new InvalidOperationException($"{Path.Combine(dataDirectory, "secret.key")} is not a 32-byte server secret");
        }

        return new ServerSecrets(secret);
    }

    /// <summary>A secret for tests.</summary>
    public static ServerSecrets FromBytes(byte[] secret) => new((byte[])secret.Clone());

    private static byte[] Derive(byte[] secret, string purpose) =>
        HKDF.Expand(HashAlgorithmName.SHA256, secret, 32, Encoding.ASCII.GetBytes("cardkeep server " + purpose));

    /// <inheritdoc/>
    public void Dispose()
    {
        CryptographicOperations.ZeroMemory(WrapKey);
        CryptographicOperations.ZeroMemory(UserIdKey);
        CryptographicOperations.ZeroMemory(ActivationKey);
    }
}

/// <summary>
/// The local administrator token (DATA/admin.token, 0600, created at first start): whoever can read the file may use
/// the admin API (<c>Authorization: Bearer TOKEN</c>). Compared in constant time via SHA-256 digests.
/// </summary>
public sealed class AdminToken
{
    private readonly byte[] _digest;

    private AdminToken(string path, byte[] digest)
    {
        Path = path;
        _digest = digest;
    }

    /// <summary>The token file.</summary>
    public string Path { get; }

    /// <summary>Loads or creates DATA/admin.token.</summary>
    public static AdminToken LoadOrCreate(string dataDirectory)
    {
        string path = System.IO.Path.Combine(dataDirectory, "admin.token");
        var bytes = DataFiles.LoadOrCreate(path, () => Encoding.ASCII.GetBytes(Base64Url(RandomNumberGenerator.GetBytes(32)) + "\n"));
        var token = Encoding.ASCII.GetString(bytes).Trim();
        CryptographicOperations.ZeroMemory(bytes);
        return new AdminToken(path, SHA256.HashData(Encoding.ASCII.GetBytes(token)));
    }

    /// <summary>True when <paramref name="presented"/> is the token (constant time).</summary>
    public bool Verify(string? presented) =>
        !string.IsNullOrEmpty(presented) && CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(presented)), _digest);

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
