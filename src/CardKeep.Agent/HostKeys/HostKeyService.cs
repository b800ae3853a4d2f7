using System.Security.Cryptography;
using CardKeep.Agent.Keys;
using CardKeep.Agent.Sessions;
using CardKeep.Agent.SshAgent;

namespace CardKeep.Agent.HostKeys;

/// <summary>
/// The host key service for users without a card: creates, imports, lists and removes the software keys in each user's
/// host key store, always for the uid the kernel says is asking. A key created or imported while the user has a host
/// session is offered through the agent at once.
/// </summary>
public sealed class HostKeyService(SessionManager sessions, KeyStoreManager keys)
{
    public IReadOnlyList<HostKeyInfo> List(uint uid)
    {
        string path = sessions.Paths.HostKeyStore(uid);
        return HostKeyStore.Exists(path) ? HostKeyStore.Open(path).Keys : [];
    }

    /// <summary>Generates a key into the store (created on first use with this passphrase).</summary>
    public HostKeyInfo New(uint uid, SshKeyType type, int rsaBits, string comment, ReadOnlySpan<byte> passphrase)
    {
        var key = SoftwareKey.Generate(type, rsaBits, comment, KeySource.HostStore);
        return Store(uid, key, passphrase);
    }

    /// <summary>Imports a private key file's text (OpenSSH unencrypted or PEM).</summary>
    public HostKeyInfo Import(uint uid, string privateKeyText, string? comment, ReadOnlySpan<byte> passphrase)
    {
        var key = PrivateKeyFile.Read(privateKeyText, KeySource.HostStore, comment);
        return Store(uid, key, passphrase);
    }

    /// <summary>Persists a key the uid added with ssh-add (found by fingerprint) into its host key store.</summary>
    public HostKeyInfo ImportFromAgent(uint uid, string fingerprint, ReadOnlySpan<byte> passphrase)
    {
        var identity = keys.FindByFingerprint(uid, fingerprint);
        if (identity?.Key is not SoftwareKey added || identity.Source != KeySource.Added)
        {
            throw new InvalidOperationException($"you have no key {fingerprint} added with ssh-add in this agent");
        }

        return Store(uid, added.Copy(added.Comment, KeySource.HostStore), passphrase);
    }

    public bool Remove(uint uid, string fingerprint, ReadOnlySpan<byte> passphrase)
    {
        string path = sessions.Paths.HostKeyStore(uid);
        if (!HostKeyStore.Exists(path))
        {
            return false;
        }

        var store = HostKeyStore.Open(path);
        using var storeKey = store.Unlock(passphrase);
        return store.Remove(storeKey, fingerprint);
    }

    private HostKeyInfo Store(uint uid, SoftwareKey key, ReadOnlySpan<byte> passphrase)
    {
        try
        {
            string path = sessions.Paths.HostKeyStore(uid);
            var store = HostKeyStore.Exists(path) ? HostKeyStore.Open(path) : HostKeyStore.Create(path, uid, passphrase, sessions.HostKeyIterations);
            if (store.Uid != uid)
            {
                throw new CryptographicException("the host key store file belongs to another uid");
            }

            HostKeyInfo info;
            using (var storeKey = store.Unlock(passphrase))
            {
                info = store.Add(storeKey, key);
            }

            if (sessions.OfferToHostSession(uid, key))
            {
                key = null!;
            }

            return info;
        }
        finally
        {
            key?.Dispose();
        }
    }
}
