using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using CardKeep.Agent.Keys;
using CardKeep.Agent.Sessions;
using CardKeep.Agent.SshAgent;

namespace CardKeep.Agent.HostKeys;

/// <summary>The public facts of one stored host key (no passphrase needed to read them).</summary>
public sealed record HostKeyInfo(string Fingerprint, string Type, string Comment, string PublicKey, DateTimeOffset Created);

/// <summary>A wrong passphrase for a host key store (the GCM tag of its check block did not verify).</summary>
public sealed class WrongPassphraseException : Exception
{
    public WrongPassphraseException() : base("the passphrase does not open this host key store") { }

    public WrongPassphraseException(string message) : base(message) { }

    public WrongPassphraseException(string message, Exception innerException) : base(message, innerException) { }
}

/// <summary>
/// One user's host key store file: software private keys sealed at rest with AES-256-GCM under a key derived from the
/// user's passphrase with PBKDF2-SHA256 (600,000 iterations, 16-byte salt). Each key is sealed on its own (12-byte random
/// nonce, 16-byte tag) with the store's uid and the key's public blob as associated data, so a sealed key cannot be
/// moved to another user's file or relabelled. A check block tells a wrong passphrase from a damaged file. The plaintext
/// of a key is its agent-protocol private form (<see cref="SoftwareKey.WritePrivate"/>). Files are 0600, atomic.
/// </summary>
public sealed class HostKeyStore
{
    public const int DefaultIterations = 600_000;
    private const int SaltLength = 16;
    private const int NonceLength = 12;
    private const int TagLength = 16;
    private static readonly byte[] _checkPlaintext = "cardkeep host key store v1"u8.ToArray();
    private readonly Document _document;

    private HostKeyStore(string path, Document document)
    {
        Path = path;
        _document = document;
    }

    public string Path { get; }

    public uint Uid => _document.Uid;

    public int Iterations => _document.Iterations;

    public IReadOnlyList<HostKeyInfo> Keys =>
        [.. _document.Keys.Select(k => new HostKeyInfo(k.Fingerprint, k.Type, k.Comment, k.PublicKey, k.Created))];

    public static bool Exists(string path) => File.Exists(path);

    /// <summary>Opens an existing store file (no passphrase needed until keys are read or added).</summary>
    public static HostKeyStore Open(string path)
    {
        var document = JsonFile.Read<Document>(path) ?? throw new FileNotFoundException("no host key store here", path);
        if (document.Version != 1 || document.Kdf != "PBKDF2-SHA256" || document.Iterations < 1 || Convert.FromBase64String(document.Salt).Length != SaltLength)
        {
            throw new IOException($"'{path}' is not a version 1 CardKeep host key store");
        }

        return new HostKeyStore(path, document);
    }

    /// <summary>Creates an empty store for <paramref name="uid"/> sealed with <paramref name="passphrase"/> and saves it.</summary>
    public static HostKeyStore Create(string path, uint uid, ReadOnlySpan<byte> passphrase, int iterations = DefaultIterations)
    {
        if (File.Exists(path))
        {
            throw new IOException($"a host key store already exists at '{path}'");
        }

        var salt = RandomNumberGenerator.GetBytes(SaltLength);
        var document = new Document { Uid = uid, Iterations = iterations, Salt = Convert.ToBase64String(salt) };
        var store = new HostKeyStore(path, document);
        using (var key = store.DeriveKey(passphrase, checkPassphrase: false))
        {
            document.Check = Convert.ToBase64String(key.Seal(_checkPlaintext, CheckAad(uid)));
        }

        store.Save();
        return store;
    }

    /// <summary>Derives the store key from the passphrase and checks it; a wrong passphrase raises <see cref="WrongPassphraseException"/>.</summary>
    public StoreKey Unlock(ReadOnlySpan<byte> passphrase) => DeriveKey(passphrase, checkPassphrase: true);

    /// <summary>Decrypts every key (the caller owns and disposes them).</summary>
    public IReadOnlyList<SoftwareKey> ReadAll(StoreKey key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var keys = new List<SoftwareKey>();
        try
        {
            foreach (var entry in _document.Keys)
            {
                var blob = Convert.FromBase64String(entry.PublicKey);
                var plaintext = key.Open(Convert.FromBase64String(entry.Sealed), KeyAad(Uid, blob));
                try
                {
                    var reader = new SshReader(plaintext);
                    var software = SoftwareKey.ReadPrivate(ref reader, entry.Comment, KeySource.HostStore);
                    if (!software.PublicKey.Blob.Span.SequenceEqual(blob))
                    {
                        software.Dispose();
                        throw new CryptographicException($"stored key {entry.Fingerprint} does not match its public key");
                    }

                    keys.Add(software);
                }
                finally
                {
                    CryptographicOperations.ZeroMemory(plaintext);
                }
            }

            return keys;
        }
        catch
        {
            foreach (var k in keys)
            {
                k.Dispose();
            }

            throw;
        }
    }

    /// <summary>Seals and stores a key (a key with the same public key is replaced) and saves the file.</summary>
    public HostKeyInfo Add(StoreKey key, SoftwareKey software)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(software);
        var blob = software.PublicKey.Blob.ToArray();
        using var writer = new SshWriter(2048);
        software.WritePrivate(writer);
        var entry = new Entry
        {
            Fingerprint = software.PublicKey.Fingerprint,
            Type = software.PublicKey.Type.Name(),
            Comment = software.Comment,
            PublicKey = Convert.ToBase64String(blob),
            Created = DateTimeOffset.UtcNow,
            Sealed = Convert.ToBase64String(key.Seal(writer.AsSpan(), KeyAad(Uid, blob))),
        };
        _document.Keys.RemoveAll(k => k.Fingerprint == entry.Fingerprint);
        _document.Keys.Add(entry);
        Save();
        return new HostKeyInfo(entry.Fingerprint, entry.Type, entry.Comment, entry.PublicKey, entry.Created);
    }

    /// <summary>Removes the key with this fingerprint; the passphrase is checked first so a stolen session cannot wipe keys.</summary>
    public bool Remove(StoreKey key, string fingerprint)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (_document.Keys.RemoveAll(k => k.Fingerprint == fingerprint) == 0)
        {
            return false;
        }

        Save();
        return true;
    }

    private StoreKey DeriveKey(ReadOnlySpan<byte> passphrase, bool checkPassphrase)
    {
        var bytes = Rfc2898DeriveBytes.Pbkdf2(passphrase, Convert.FromBase64String(_document.Salt), _document.Iterations, HashAlgorithmName.SHA256, 32);
        var key = new StoreKey(bytes);
        if (checkPassphrase)
        {
            try
            {
                var check = key.Open(Convert.FromBase64String(_document.Check), CheckAad(Uid));
                bool same = CryptographicOperations.FixedTimeEquals(check, _checkPlaintext);
                if (!same)
                {
                    throw new WrongPassphraseException();
                }
            }
            catch (AuthenticationTagMismatchException)
            {
                key.Dispose();
                throw new WrongPassphraseException();
            }
            catch
            {
                key.Dispose();
                throw;
            }
        }

        return key;
    }

    private void Save() => JsonFile.Write(Path, _document);

    private static byte[] CheckAad(uint uid) => Aad("check", uid, []);

    private static byte[] KeyAad(uint uid, ReadOnlySpan<byte> blob) => Aad("key", uid, blob);

    private static byte[] Aad(string purpose, uint uid, ReadOnlySpan<byte> blob)
    {
        var label = Encoding.ASCII.GetBytes("cardkeep-hostkey-v1\0" + purpose + "\0");
        var aad = new byte[label.Length + 4 + blob.Length];
        label.CopyTo(aad, 0);
        BinaryPrimitives.WriteUInt32BigEndian(aad.AsSpan(label.Length), uid);
        blob.CopyTo(aad.AsSpan(label.Length + 4));
        return aad;
    }

    /// <summary>The AES-256 key derived from a passphrase; zeroed on <see cref="Dispose"/>.</summary>
    public sealed class StoreKey : IDisposable
    {
        private readonly byte[] _key;

        internal StoreKey(byte[] key) => _key = key;

        /// <summary>nonce ‖ ciphertext ‖ tag.</summary>
        internal byte[] Seal(ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> aad)
        {
            var output = new byte[NonceLength + plaintext.Length + TagLength];
            var nonce = output.AsSpan(0, NonceLength);
            RandomNumberGenerator.Fill(nonce);
            using var gcm = new AesGcm(_key, TagLength);
            gcm.Encrypt(nonce, plaintext, output.AsSpan(NonceLength, plaintext.Length), output.AsSpan(NonceLength + plaintext.Length), aad);
            return output;
        }

        internal byte[] Open(ReadOnlySpan<byte> sealedBytes, ReadOnlySpan<byte> aad)
        {
            if (sealedBytes.Length < NonceLength + TagLength)
            {
                throw new CryptographicException("a sealed host key is too short");
            }

            var plaintext = new byte[sealedBytes.Length - NonceLength - TagLength];
            using var gcm = new AesGcm(_key, TagLength);
            gcm.Decrypt(sealedBytes[..NonceLength], sealedBytes[NonceLength..^TagLength], sealedBytes[^TagLength..], plaintext, aad);
            return plaintext;
        }

        public void Dispose() => CryptographicOperations.ZeroMemory(_key);
    }

    private sealed class Document
    {
        public int Version { get; set; } = 1;

        public uint Uid { get; set; }

        public string Kdf { get; set; } = "PBKDF2-SHA256";

        public int Iterations { get; set; } = DefaultIterations;

        public string Salt { get; set; } = string.Empty;

        public string Check { get; set; } = string.Empty;

        public List<Entry> Keys { get; set; } = [];
    }

    private sealed class Entry
    {
        public string Fingerprint { get; set; } = string.Empty;

        public string Type { get; set; } = string.Empty;

        public string Comment { get; set; } = string.Empty;

        public string PublicKey { get; set; } = string.Empty;

        public DateTimeOffset Created { get; set; }

        public string Sealed { get; set; } = string.Empty;
    }
}
