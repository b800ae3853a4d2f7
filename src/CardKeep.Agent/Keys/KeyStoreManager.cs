using System.Security.Cryptography;
using CardKeep.Agent.SshAgent;

namespace CardKeep.Agent.Keys;

/// <summary>
/// Every key the agent holds, by owner uid: keys added with ssh-add (in memory only, with their lifetime and confirm
/// constraints) and the keys of each user's logged-in sessions (card keys and unlocked host-store keys). A uid only
/// ever sees, uses or removes its own keys; root is not special. Each uid has its own lock state (ssh-add -x), so one
/// user locking the shared agent does not lock anyone else. Thread-safe.
/// </summary>
public sealed class KeyStoreManager : IDisposable
{
    private readonly Lock _lock = new();
    private readonly List<Identity> _identities = [];
    private readonly Dictionary<uint, LockState> _locks = [];
    private readonly AgentOptions _options;
    private readonly TimeProvider _time;

    public KeyStoreManager(AgentOptions? options = null, TimeProvider? time = null)
    {
        _options = options ?? new AgentOptions();
        _time = time ?? TimeProvider.System;
    }

    public AgentOptions Options => _options;

    /// <summary>Raised (outside the lock) when identities come or go.</summary>
    public event EventHandler? Changed;

    /// <summary>The identities <paramref name="uid"/> may use now: none while that uid has locked the agent.</summary>
    public IReadOnlyList<Identity> List(uint uid)
    {
        ReapExpired();
        lock (_lock)
        {
            if (_locks.ContainsKey(uid))
            {
                return [];
            }

            // Session keys first (card, then host store), then added keys, each in the order they came.
            return [.. _identities.Where(i => i.OwnerUid == uid).OrderBy(i => i.Source)];
        }
    }

    /// <summary>The identity of <paramref name="uid"/> with this public key blob, or null (also while locked).</summary>
    public Identity? Find(uint uid, ReadOnlySpan<byte> blob)
    {
        foreach (var identity in List(uid))
        {
            if (identity.Key.PublicKey.Blob.Span.SequenceEqual(blob))
            {
                return identity;
            }
        }

        return null;
    }

    /// <summary>Finds by <c>SHA256:…</c> fingerprint.</summary>
    public Identity? FindByFingerprint(uint uid, string fingerprint) =>
        List(uid).FirstOrDefault(i => string.Equals(i.Key.PublicKey.Fingerprint, fingerprint, StringComparison.Ordinal));

    public bool IsLocked(uint uid)
    {
        lock (_lock)
        {
            return _locks.ContainsKey(uid);
        }
    }

    /// <summary>
    /// Adds a key from ssh-add (ownership moves to the manager). A key the uid already added is replaced, as OpenSSH
    /// does. False when the uid is locked or already holds <see cref="AgentOptions.MaxAddedKeysPerUser"/> keys.
    /// </summary>
    public bool AddKey(uint uid, SoftwareKey key, TimeSpan? lifetime, bool confirm)
    {
        ArgumentNullException.ThrowIfNull(key);
        Identity? replaced;
        lock (_lock)
        {
            if (_locks.ContainsKey(uid))
            {
                return false;
            }

            replaced = _identities.FirstOrDefault(i => i.OwnerUid == uid && i.Source == KeySource.Added && i.Key.PublicKey.Equals(key.PublicKey));
            if (replaced is null && _identities.Count(i => i.OwnerUid == uid && i.Source == KeySource.Added) >= _options.MaxAddedKeysPerUser)
            {
                return false;
            }

            if (replaced is not null)
            {
                _identities.Remove(replaced);
            }

            _identities.Add(new Identity(key, uid, null, lifetime is { } t ? _time.GetUtcNow() + t : null, confirm));
        }

        replaced?.Key.Dispose();
        OnChanged();
        return true;
    }

    /// <summary>Removes a key the uid added. Session keys are not removed this way (that is what logout is for).</summary>
    public bool RemoveKey(uint uid, ReadOnlySpan<byte> blob)
    {
        Identity? removed;
        lock (_lock)
        {
            if (_locks.ContainsKey(uid))
            {
                return false;
            }

            int index = -1;
            for (int i = 0; i < _identities.Count; i++)
            {
                if (_identities[i].OwnerUid == uid && _identities[i].Source == KeySource.Added && _identities[i].Key.PublicKey.Blob.Span.SequenceEqual(blob))
                {
                    index = i;
                    break;
                }
            }

            if (index < 0)
            {
                return false;
            }

            removed = _identities[index];
            _identities.RemoveAt(index);
        }

        removed.Key.Dispose();
        OnChanged();
        return true;
    }

    /// <summary>Removes every key the uid added (ssh-add -D); its session keys stay.</summary>
    public bool RemoveAllAdded(uint uid)
    {
        List<Identity> removed;
        lock (_lock)
        {
            if (_locks.ContainsKey(uid))
            {
                return false;
            }

            removed = [.. _identities.Where(i => i.OwnerUid == uid && i.Source == KeySource.Added)];
            _identities.RemoveAll(i => i.OwnerUid == uid && i.Source == KeySource.Added);
        }

        foreach (var identity in removed)
        {
            identity.Key.Dispose();
        }

        OnChanged();
        return true;
    }

    /// <summary>Offers a session's keys to its owner. The session keeps ownership of the key objects.</summary>
    public void AttachSession(uint uid, string sessionId, IEnumerable<AgentKey> keys)
    {
        ArgumentNullException.ThrowIfNull(keys);
        lock (_lock)
        {
            foreach (var key in keys)
            {
                if (!_identities.Any(i => i.SessionId == sessionId && i.Key.PublicKey.Equals(key.PublicKey)))
                {
                    _identities.Add(new Identity(key, uid, sessionId, null, confirm: false));
                }
            }
        }

        OnChanged();
    }

    /// <summary>Withdraws every key of a session at once (logout, card removal). The session disposes the keys.</summary>
    public int DetachSession(string sessionId)
    {
        int count;
        lock (_lock)
        {
            count = _identities.RemoveAll(i => i.SessionId == sessionId);
        }

        if (count > 0)
        {
            OnChanged();
        }

        return count;
    }

    /// <summary>Locks the uid's view of the agent with a passphrase (kept only as a salted PBKDF2-SHA256 hash).</summary>
    public bool Lock(uint uid, ReadOnlySpan<byte> passphrase)
    {
        var salt = RandomNumberGenerator.GetBytes(16);
        var hash = Rfc2898DeriveBytes.Pbkdf2(passphrase, salt, _options.LockIterations, HashAlgorithmName.SHA256, 32);
        lock (_lock)
        {
            if (_locks.ContainsKey(uid))
            {
                CryptographicOperations.ZeroMemory(hash);
                return false;
            }

            _locks[uid] = new LockState(salt, hash);
        }

        OnChanged();
        return true;
    }

    /// <summary>Unlocks when the passphrase matches (constant-time compare). A wrong one is delayed, more with each failure.</summary>
    public bool Unlock(uint uid, ReadOnlySpan<byte> passphrase)
    {
        LockState? state;
        lock (_lock)
        {
            if (!_locks.TryGetValue(uid, out state))
            {
                return false;
            }
        }

        var hash = Rfc2898DeriveBytes.Pbkdf2(passphrase, state.Salt, _options.LockIterations, HashAlgorithmName.SHA256, 32);
        bool match = CryptographicOperations.FixedTimeEquals(hash, state.Hash);
        CryptographicOperations.ZeroMemory(hash);
        if (!match)
        {
            int failures;
            lock (_lock)
            {
                failures = ++state.Failures;
            }

            var delay = _options.UnlockFailureDelay * Math.Min(failures, 10);
            if (delay > TimeSpan.Zero)
            {
                Thread.Sleep(delay);
            }

            return false;
        }

        lock (_lock)
        {
            if (!_locks.Remove(uid))
            {
                return false;
            }
        }

        CryptographicOperations.ZeroMemory(state.Hash);
        OnChanged();
        return true;
    }

    /// <summary>Removes added keys whose lifetime has passed (also done on every listing). Returns how many went.</summary>
    public int ReapExpired()
    {
        var now = _time.GetUtcNow();
        List<Identity> expired;
        lock (_lock)
        {
            expired = [.. _identities.Where(i => i.Expires is { } e && e <= now)];
            foreach (var identity in expired)
            {
                _identities.Remove(identity);
            }
        }

        foreach (var identity in expired)
        {
            identity.Key.Dispose();
        }

        if (expired.Count > 0)
        {
            OnChanged();
        }

        return expired.Count;
    }

    /// <summary>How many keys were added (all users), for tests and the status API.</summary>
    public int AddedCount
    {
        get
        {
            lock (_lock)
            {
                return _identities.Count(i => i.Source == KeySource.Added);
            }
        }
    }

    public void Dispose()
    {
        List<Identity> all;
        lock (_lock)
        {
            all = [.. _identities.Where(i => i.Source == KeySource.Added)];
            _identities.Clear();
            foreach (var state in _locks.Values)
            {
                CryptographicOperations.ZeroMemory(state.Hash);
            }

            _locks.Clear();
        }

        foreach (var identity in all)
        {
            identity.Key.Dispose();
        }
    }

    private void OnChanged() => Changed?.Invoke(this, EventArgs.Empty);

    private sealed class LockState(byte[] salt, byte[] hash)
    {
        public byte[] Salt { get; } = salt;

        public byte[] Hash { get; } = hash;

        public int Failures { get; set; }
    }
}
