using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using CardKeep.VirtualCard.Store;

namespace CardKeep.Client.Recovery;

/// <summary>Why a <see cref="MachineStore"/> could not be used.</summary>
public enum MachineStoreProblem
{
    /// <summary>No binding: this computer was never registered (or the folder is wrong).</summary>
    Missing,

    /// <summary>The folder or a file is not owned by root, is not a plain folder/file, or others may read or change it.</summary>
    Unsafe,

    /// <summary>The binding or its key is truncated, edited or unreadable: authentication failed.</summary>
    Damaged,
}

/// <summary>The machine store cannot be used; the message is for the administrator and never holds a secret.</summary>
public sealed class MachineStoreException(MachineStoreProblem problem, string message, Exception? inner = null) : Exception(message, inner)
{
    public MachineStoreProblem Problem { get; } = problem;
}

/// <summary>Options of a <see cref="MachineStore"/>.</summary>
public sealed record MachineStoreOptions
{
    /// <summary>The uid that must own the folder and its files: root (0). Unit tests that do not run as root set their own.</summary>
    public uint RequiredOwner { get; init; }

    /// <summary>Options requiring this process's own uid as the owner (unit tests that run without root).</summary>
    public static MachineStoreOptions ForCurrentUser() => new() { RequiredOwner = LibC.GetEuid() };

    /// <summary>How long <see cref="MachineStore.Update"/> waits for another process's update to finish.</summary>
    public TimeSpan LockTimeout { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>Fault-injection point for tests: runs after the new binding is on disk, before it replaces the old one.</summary>
    public Action<string>? BeforeRename { get; init; }
}

/// <summary>
/// The machine's protected local store (its "non-volatile memory"): one folder, by default
/// <see cref="DefaultDirectory"/> (<c>/var/lib/cardkeep/machine</c>, or <c>$CARDKEEP_MACHINE_DIR</c>), mode 0700 and owned
/// by root, holding
/// <list type="bullet">
/// <item><c>binding.key</c> (0600): 32 random bytes, made with the first binding;</item>
/// <item><c>binding.ck</c> (0600): the <see cref="MachineBinding"/> as JSON sealed with AES-256-GCM under that key:
/// <c>"CKMB" ‖ version 1 (4 bytes) ‖ nonce (12) ‖ tag (16) ‖ ciphertext</c>, the first 8 bytes as associated data.</item>
/// </list>
/// Saves are atomic (temporary file, fsync, rename, fsync of the folder) and updates are serialized by an exclusive
/// lock on <c>binding.lock</c>. Any damage (truncation, an edited byte, a lost key) fails authentication and raises
/// <see cref="MachineStoreException"/> with <see cref="MachineStoreProblem.Damaged"/>; a folder or file another user
/// owns or may read or write raises <see cref="MachineStoreProblem.Unsafe"/> before anything is read.
/// </summary>
/// <example>
/// Saving a binding after registration (what <c>cardkeep account register</c> does):
/// <code>
/// var store = new MachineStore(MachineStore.DefaultDirectory());
/// store.Save(new MachineBinding { User = "alice", MachineId = id, MachineSecret = secret, ServerUrls = [url],
///     Card = RegisteredCard.From(serial, spki9a, spki9e), }.WithAccessKey(accessKey));
/// </code>
/// </example>
public sealed class MachineStore
{
    /// <summary>The environment variable that moves the store (tests: "my computer" and "another computer").</summary>
    public const string DirectoryVariable = "CARDKEEP_MACHINE_DIR";

    /// <summary>The folder used when neither <c>--machine-dir</c> nor <see cref="DirectoryVariable"/> is given.</summary>
    public const string SystemDirectory = "/var/lib/cardkeep/machine";

    public const string BindingFileName = "binding.ck";
    public const string KeyFileName = "binding.key";
    private const string LockFileName = "binding.lock";
    private const int HeaderLength = 8;
    private const int NonceLength = 12;
    private const int TagLength = 16;
    private const int KeyLength = 32;
    private const uint FormatVersion = 1;
    private const int MaxFileLength = 1 << 20;
    private const int OwnerOnlyMask = 0x3F; // group and other bits: 0077
    private const int FileTypeMask = 0xF000;
    private const int DirectoryType = 0x4000;
    private const int RegularFileType = 0x8000;

    private static readonly byte[] _magic = "CKMB"u8.ToArray();

    private static readonly JsonSerializerOptions _json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    private readonly MachineStoreOptions _options;

    public MachineStore(string directory, MachineStoreOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        Directory = Path.GetFullPath(directory);
        _options = options ?? new MachineStoreOptions();
    }

    /// <summary>The store's folder.</summary>
    public string Directory { get; }

    /// <summary>The sealed binding file.</summary>
    public string BindingPath => Path.Combine(Directory, BindingFileName);

    /// <summary>The key file.</summary>
    public string KeyPath => Path.Combine(Directory, KeyFileName);

    /// <summary><paramref name="explicitDirectory"/> (a <c>--machine-dir</c>), else <c>$CARDKEEP_MACHINE_DIR</c>, else <see cref="SystemDirectory"/>.</summary>
    public static string DefaultDirectory(string? explicitDirectory = null) =>
        explicitDirectory is { Length: > 0 } ? explicitDirectory
        : Environment.GetEnvironmentVariable(DirectoryVariable) is { Length: > 0 } fromEnvironment ? fromEnvironment
        : SystemDirectory;

    /// <summary>Whether a binding was ever saved here (the folder holds a binding or a key file).</summary>
    public bool Exists => File.Exists(BindingPath) || File.Exists(KeyPath);

    /// <summary>Reads, checks and decrypts the binding. Throws <see cref="MachineStoreException"/> when it cannot.</summary>
    public MachineBinding Load()
    {
        CheckDirectory(mustExist: true);
        if (!File.Exists(BindingPath) && !File.Exists(KeyPath))
        {
            throw new MachineStoreException(MachineStoreProblem.Missing, $"this computer has no CardKeep binding in {Directory} (register it with 'cardkeep account register')");
        }

        byte[] key = ReadKey();
        try
        {
            CheckFile(BindingPath, "binding");
            byte[] sealedBytes = ReadLimited(BindingPath);
            return Open(sealedBytes, key);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
    }

    /// <summary>
    /// Writes <paramref name="binding"/> atomically, creating the folder (0700) and the key (0600) on first use. Refuses
    /// to replace a damaged store's key: a binding whose key is lost stays damaged until an administrator removes it.
    /// </summary>
    public void Save(MachineBinding binding)
    {
        ArgumentNullException.ThrowIfNull(binding);
        EnsureDirectory();
        byte[] key = File.Exists(KeyPath) || File.Exists(BindingPath) ? ReadKey() : CreateKey();
        try
        {
            Write(binding, key);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
    }

    /// <summary>
    /// Loads the binding, applies <paramref name="change"/> and saves the result, holding an exclusive lock so that two
    /// logins at once (PAM) do not lose each other's throttle counts or rotations. Returns the saved binding.
    /// </summary>
    public MachineBinding Update(Func<MachineBinding, MachineBinding> change)
    {
        ArgumentNullException.ThrowIfNull(change);
        using var held = Lock();
        var updated = change(Load());
        byte[] key = ReadKey();
        try
        {
            Write(updated, key);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }

        return updated;
    }

    /// <summary>Takes the store's exclusive lock (for a read-decide-write sequence longer than one <see cref="Update"/>).</summary>
    public IDisposable Lock()
    {
        EnsureDirectory();
        var deadline = DateTime.UtcNow + _options.LockTimeout;
        while (true)
        {
            try
            {
                return new FileStream(Path.Combine(Directory, LockFileName), new FileStreamOptions
                {
                    Mode = FileMode.OpenOrCreate,
                    Access = FileAccess.ReadWrite,
                    Share = FileShare.None,
                    UnixCreateMode = AtomicFile.FileMode0600,
                });
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                Thread.Sleep(50);
            }
        }
    }

    private void Write(MachineBinding binding, byte[] key)
    {
        byte[] plain = JsonSerializer.SerializeToUtf8Bytes(binding, _json);
        byte[] sealedBytes = new byte[HeaderLength + NonceLength + TagLength + plain.Length];
        try
        {
            _magic.CopyTo(sealedBytes, 0);
            BinaryPrimitives.WriteUInt32BigEndian(sealedBytes.AsSpan(4), FormatVersion);
            var nonce = sealedBytes.AsSpan(HeaderLength, NonceLength);
            RandomNumberGenerator.Fill(nonce);
            using (var aes = new AesGcm(key, TagLength))
            {
                aes.Encrypt(nonce, plain, sealedBytes.AsSpan(HeaderLength + NonceLength + TagLength), sealedBytes.AsSpan(HeaderLength + NonceLength, TagLength),
                    sealedBytes.AsSpan(0, HeaderLength));
            }

            AtomicFile.Write(BindingPath, sealedBytes, overwrite: true, _options.BeforeRename);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plain);
        }
    }

    private MachineBinding Open(byte[] sealedBytes, byte[] key)
    {
        if (sealedBytes.Length < HeaderLength + NonceLength + TagLength || !sealedBytes.AsSpan(0, 4).SequenceEqual(_magic))
        {
            throw Damaged($"{BindingPath} is truncated or not a CardKeep machine binding");
        }

        uint version = BinaryPrimitives.ReadUInt32BigEndian(sealedBytes.AsSpan(4));
        if (version != FormatVersion)
        {
            throw Damaged(string.Create(CultureInfo.InvariantCulture, $"{BindingPath} has format version {version}; this cardkeep reads version {FormatVersion}"));
        }

        byte[] plain = new byte[sealedBytes.Length - HeaderLength - NonceLength - TagLength];
        try
        {
            using (var aes = new AesGcm(key, TagLength))
            {
                aes.Decrypt(sealedBytes.AsSpan(HeaderLength, NonceLength), sealedBytes.AsSpan(HeaderLength + NonceLength + TagLength),
                    sealedBytes.AsSpan(HeaderLength + NonceLength, TagLength), plain, sealedBytes.AsSpan(0, HeaderLength));
            }

            var binding = JsonSerializer.Deserialize<MachineBinding>(plain, _json) ?? throw Damaged($"{BindingPath} holds an empty binding");
            return Validate(binding);
        }
        catch (AuthenticationTagMismatchException e)
        {
            throw Damaged($"{BindingPath} failed its integrity check (edited, truncated or sealed with another key)", e);
        }
        catch (JsonException e)
        {
            throw Damaged($"{BindingPath} decrypts but is not a valid binding", e);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plain);
        }
    }

    /// <summary>Fields the gate relies on must be well formed: a binding that decrypts but is not is damaged, never a crash later.</summary>
    private MachineBinding Validate(MachineBinding binding)
    {
        static bool IsBase64(string? text) => text is null || Convert.TryFromBase64String(text, new byte[text.Length], out _);

        string? problem =
            binding.Version != 1 ? "an unknown binding version"
            : binding.User.Length == 0 ? "no bound user"
            : binding.Card is { } card && (card.Serial.Length == 0 || card.AuthenticationKey.Length == 0 || !IsBase64(card.AuthenticationKey) || !IsBase64(card.CardAuthenticationKey)) ? "a malformed card"
            : binding.AccessKeys.Concat(binding.UsedAccessKeys).Any(v => !CardKeep.Protocol.Recovery.AccessKeyVerifier.IsWellFormed(v)) ? "a malformed access-key verifier"
            : binding.Kit is { } kit && (kit.KitId.Length == 0 || !IsBase64(kit.SecretHash)) ? "a malformed kit verifier"
            : binding.ServerUrls.Any(u => !Uri.TryCreate(u, UriKind.Absolute, out _)) ? "a malformed server URL"
            : binding.Policy is not { LockAfterFailures: > 0, LockoutSeconds: >= 0, FailureDelayMilliseconds: >= 0 } ? "a malformed gate policy"
            : null;
        return problem is null ? binding : throw Damaged($"{BindingPath} decrypts but holds {problem}");
    }

    private byte[] ReadKey()
    {
        if (!File.Exists(KeyPath))
        {
            throw Damaged($"{KeyPath} is missing, so {BindingPath} cannot be checked");
        }

        CheckFile(KeyPath, "key");
        byte[] key = ReadLimited(KeyPath);
        if (key.Length != KeyLength)
        {
            CryptographicOperations.ZeroMemory(key);
            throw Damaged(string.Create(CultureInfo.InvariantCulture, $"{KeyPath} has {key.Length} bytes, not {KeyLength}"));
        }

        return key;
    }

    private byte[] CreateKey()
    {
        byte[] key = RandomNumberGenerator.GetBytes(KeyLength);
        AtomicFile.Write(KeyPath, key, overwrite: false);
        return key;
    }

    private void EnsureDirectory()
    {
        if (!System.IO.Directory.Exists(Directory))
        {
            System.IO.Directory.CreateDirectory(Directory, AtomicFile.DirectoryMode0700);
        }

        CheckDirectory(mustExist: true);
    }

    private void CheckDirectory(bool mustExist)
    {
        var status = LibC.Status(Directory);
        if (status is null)
        {
            if (mustExist)
            {
                throw new MachineStoreException(MachineStoreProblem.Missing, $"this computer has no CardKeep binding: {Directory} does not exist (register it with 'cardkeep account register')");
            }

            return;
        }

        CheckStatus(Directory, "folder", status.Value, DirectoryType);
    }

    private void CheckFile(string path, string what)
    {
        var status = LibC.Status(path) ?? throw Damaged($"{path} is missing");
        CheckStatus(path, what, status, RegularFileType);
    }

    private void CheckStatus(string path, string what, (int Mode, uint Uid) status, int type)
    {
        if ((status.Mode & FileTypeMask) != type)
        {
            throw new MachineStoreException(MachineStoreProblem.Unsafe, $"the machine store's {what} {path} is not a plain {(type == DirectoryType ? "folder" : "file")} (a link?): refused");
        }

        if (status.Uid != _options.RequiredOwner)
        {
            throw new MachineStoreException(MachineStoreProblem.Unsafe,
                string.Create(CultureInfo.InvariantCulture, $"the machine store's {what} {path} is owned by uid {status.Uid}, not {_options.RequiredOwner}: refused"));
        }

        if ((status.Mode & OwnerOnlyMask) != 0)
        {
            throw new MachineStoreException(MachineStoreProblem.Unsafe,
                string.Create(CultureInfo.InvariantCulture, $"the machine store's {what} {path} has mode {Convert.ToString(status.Mode & 0xFFF, 8)}: others may read or change it (want {(type == DirectoryType ? "700" : "600")}): refused"));
        }
    }

    private static byte[] ReadLimited(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        if (stream.Length > MaxFileLength)
        {
            throw new MachineStoreException(MachineStoreProblem.Damaged, $"{path} is larger than any binding ({stream.Length} bytes)");
        }

        var bytes = new byte[stream.Length];
        stream.ReadExactly(bytes);
        return bytes;
    }

    private static MachineStoreException Damaged(string message, Exception? inner = null) => new(MachineStoreProblem.Damaged, message, inner);
}
