using System.Collections.Immutable;
using System.Security.Cryptography;

namespace CardKeep.VirtualCard.Store;

/// <summary>
/// One virtual smart card (a software PIV card), bound to its encrypted file. Opening runs the consistency check of
/// format and encryption structure; the first successful PIN (or PUK) unlock also authenticates every sealed item.
/// Every mutation, including each retry-counter change, is saved atomically before the method returns.
/// Thread-safe: all members take the card's lock.
/// </summary>
/// <remarks>
/// Retry counters follow the smart-card rule: the counter is decreased and saved BEFORE the PIN is tried and restored
/// (saved again) only after it proved right, so killing the process at any moment cannot give a free attempt.
/// </remarks>
public sealed class VirtualSmartCard : IDisposable
{
    /// <summary>PIV management-key algorithm 3DES (24-byte key).</summary>
    public const byte ManagementKeyTripleDes = 0x03;

    /// <summary>PIV management-key algorithm AES-128.</summary>
    public const byte ManagementKeyAes128 = 0x08;

    /// <summary>PIV management-key algorithm AES-192.</summary>
    public const byte ManagementKeyAes192 = 0x0A;

    /// <summary>PIV management-key algorithm AES-256.</summary>
    public const byte ManagementKeyAes256 = 0x0C;

    /// <summary>PBKDF2-SHA256 iterations for new PIN/PUK wraps (600,000).</summary>
    public const int DefaultKdfIterations = VscCrypto.DefaultIterations;

    /// <summary>Files whose wraps use fewer iterations are refused (unless opened for tests).</summary>
    public const int MinimumKdfIterations = VscCrypto.MinIterations;

    private readonly Lock _gate = new();
    private readonly bool _readOnly;
    private VscDocument _doc;
    private IDisposable? _heldLock;
    private int _pinGeneration;
    private bool _sealedItemsChecked;
    private bool _disposed;

    private VirtualSmartCard(string path, VscDocument document, bool readOnly)
    {
        Path = path;
        _doc = document;
        _readOnly = readOnly;
    }

    /// <summary>The default PIN, "123456" (as a YubiKey).</summary>
    public static ReadOnlySpan<byte> DefaultPin => "123456"u8;

    /// <summary>The default PUK, "12345678".</summary>
    public static ReadOnlySpan<byte> DefaultPuk => "12345678"u8;

    /// <summary>The default management key 010203040506070801020304050607080102030405060708.</summary>
    public static ReadOnlySpan<byte> DefaultManagementKey =>
        [1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8];

    /// <summary>Full path of the card's file.</summary>
    public string Path { get; }

    /// <summary>True when opened with <see cref="VscOpenOptions.ReadOnly"/>.</summary>
    public bool IsReadOnly => _readOnly;

    /// <summary>Header: identity, state, times, hierarchy, attributes.</summary>
    public VscHeader Header => Read(d => d.ToHeader());

    /// <summary>The card's VSC serial number (always in the VSC range).</summary>
    public uint Serial => Read(d => d.Serial);

    /// <summary>A copy of the 16-byte card GUID.</summary>
    public ReadOnlyMemory<byte> CardGuid => Read(d => (ReadOnlyMemory<byte>)d.CardGuid.ToArray());

    /// <summary>Serial of the real card this one was copied from, if recorded.</summary>
    public string? SourceSerial => Read(d => d.SourceSerial);

    /// <summary>ATR of the real card this one was copied from; empty if not recorded.</summary>
    public ReadOnlyMemory<byte> SourceAtr => Read(d => (ReadOnlyMemory<byte>)(d.SourceAtr?.ToArray() ?? []));

    /// <summary>Tags of the objects in the public area, ascending.</summary>
    public IReadOnlyCollection<uint> PublicObjectTags => Read(d => (IReadOnlyCollection<uint>)[.. d.PublicObjects.Keys]);

    /// <summary>Tags of the objects in the private area, ascending (their values need an unlock).</summary>
    public IReadOnlyCollection<uint> PrivateObjectTags => Read(d => (IReadOnlyCollection<uint>)[.. d.PrivateObjects.Keys]);

    /// <summary>The keys in the secret-key area, by ascending slot.</summary>
    public IReadOnlyList<VscKeyInfo> Keys => Read(d => (IReadOnlyList<VscKeyInfo>)[.. d.Keys.Values.Select(k => k.Info)]);

    /// <summary>PIN tries left (0 = blocked).</summary>
    public int PinRetriesLeft => Read(d => d.PinRetriesLeft);

    /// <summary>PIN tries after a success or reset.</summary>
    public int PinRetriesMax => Read(d => d.PinRetriesMax);

    /// <summary>PUK tries left (0 = blocked).</summary>
    public int PukRetriesLeft => Read(d => d.PukRetriesLeft);

    /// <summary>PUK tries after a success or reset.</summary>
    public int PukRetriesMax => Read(d => d.PukRetriesMax);

    /// <summary>True while the PIN is the default "123456".</summary>
    public bool PinIsDefault => Read(d => d.PinIsDefault);

    /// <summary>True while the PUK is the default "12345678".</summary>
    public bool PukIsDefault => Read(d => d.PukIsDefault);

    /// <summary>PBKDF2 iterations of the PIN wrap (raised to the default when a production-strength PIN is next used).</summary>
    public int PinKdfIterations => Read(d => d.PinWrap.Iterations);

    /// <summary>PBKDF2 iterations of the PUK wrap.</summary>
    public int PukKdfIterations => Read(d => d.PukWrap.Iterations);

    /// <summary>Management-key algorithm (03, 08, 0A or 0C).</summary>
    public byte ManagementKeyAlgorithm => Read(d => d.ManagementKey.Algorithm);

    /// <summary>True while the management key is the default 0102…08 ×3.</summary>
    public bool ManagementKeyIsDefault => Read(d => d.ManagementKey.IsDefault);

    /// <summary>Whether the management key is marked as requiring touch.</summary>
    public bool ManagementKeyTouch => Read(d => d.ManagementKey.Touch);

    /// <summary>Fault-injection point for tests: runs after the temporary file is written, before the rename.</summary>
    internal Action<string>? BeforeRenameForTests { get; set; }

    /// <summary>
    /// Creates a new card file at <paramref name="path"/> (which must not exist; its folder must) and returns it open.
    /// Runs PBKDF2 twice (PIN and PUK wraps).
    /// </summary>
    public static VirtualSmartCard Create(string path, VscCreateOptions options)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(options);
        string fullPath = System.IO.Path.GetFullPath(path);
        var document = NewDocument(options);
        if (File.Exists(fullPath))
        {
            throw new VscException($"a file already exists at '{fullPath}'");
        }

        var card = new VirtualSmartCard(fullPath, document, readOnly: false);
        card.Save(document, overwrite: false);
        return card;
    }

    /// <summary>
    /// Opens the card file at <paramref name="path"/> after the consistency check (signature, version, length, SHA-256
    /// seal, strict structure, key and nonce sizes, valid points, KDF parameters). A file that fails is refused with a
    /// <see cref="VscFormatException"/> that says what failed.
    /// </summary>
    public static VirtualSmartCard Open(string path, VscOpenOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        options ??= VscOpenOptions.Default;
        string fullPath = System.IO.Path.GetFullPath(path);
        return new VirtualSmartCard(fullPath, ReadDocument(fullPath, options.AllowWeakKdfForTests), options.ReadOnly);
    }

    /// <summary>Sets the state (Enabled/Disabled) and saves.</summary>
    public void SetState(VscState state)
    {
        if (!Enum.IsDefined(state))
        {
            throw new ArgumentOutOfRangeException(nameof(state));
        }

        Mutate(d => d with { State = state });
    }

    /// <summary>Sets the label (free text, at most 128 characters, no control characters) and saves.</summary>
    public void SetLabel(string label)
    {
        VscRules.Require(VscRules.CheckLabel(label), nameof(label));
        Mutate(d => d with { Label = label });
    }

    /// <summary>Sets the role and the parent card (null for none) and saves.</summary>
    public void SetHierarchy(VscRole role, string? parent)
    {
        if (!Enum.IsDefined(role))
        {
            throw new ArgumentOutOfRangeException(nameof(role));
        }

        VscRules.Require(VscRules.CheckParent(parent), nameof(parent));
        Mutate(d => d with { Role = role, Parent = parent });
    }

    /// <summary>Sets attribute <paramref name="key"/> to <paramref name="value"/>, or removes it when null; saves.</summary>
    public void SetAttribute(string key, string? value)
    {
        VscRules.Require(VscRules.CheckAttributeKey(key), nameof(key));
        if (value is not null)
        {
            VscRules.Require(VscRules.CheckAttributeValue(value), nameof(value));
        }

        Mutate(d =>
        {
            var attributes = value is null ? d.Attributes.Remove(key) : d.Attributes.SetItem(key, value);
            if (attributes.Count > VscRules.MaxAttributes)
            {
                throw new InvalidOperationException($"a card holds at most {VscRules.MaxAttributes} attributes");
            }

            return d with { Attributes = attributes };
        });
    }

    /// <summary>A copy of public object <paramref name="tag"/>, or null when absent.</summary>
    public byte[]? GetPublicObject(uint tag) => Read(d => d.PublicObjects.TryGetValue(tag, out var value) ? value.ToArray() : null);

    /// <summary>Stores public object <paramref name="tag"/> (replacing it, and removing a private object with that tag); saves.</summary>
    public void PutPublicObject(uint tag, ReadOnlySpan<byte> value)
    {
        VscRules.Require(VscRules.CheckObjectLength(value.Length), nameof(value));
        var copy = value.ToArray();
        Mutate(d => d with { PublicObjects = d.PublicObjects.SetItem(tag, copy), PrivateObjects = d.PrivateObjects.Remove(tag) });
    }

    /// <summary>
    /// Seals private object <paramref name="tag"/> to the area public key (no PIN needed to write; replacing it and
    /// removing a public object with that tag) and saves.
    /// </summary>
    public void PutPrivateObject(uint tag, ReadOnlySpan<byte> value)
    {
        VscRules.Require(VscRules.CheckObjectLength(value.Length), nameof(value));
        lock (_gate)
        {
            EnsureWritable();
            var d = _doc;
            var item = VscCrypto.Seal(d.AreaPublicKey, d.Id, VscCrypto.KindPrivateObject, tag, value);
            Commit(Touched(d with { PrivateObjects = d.PrivateObjects.SetItem(tag, item), PublicObjects = d.PublicObjects.Remove(tag) }));
        }
    }

    /// <summary>
    /// Decrypts private object <paramref name="tag"/> with <paramref name="unlock"/>; null when absent. Throws
    /// <see cref="VscPinRequiredException"/> for a disposed unlock and <see cref="VscFormatException"/> when the item
    /// does not authenticate. The caller owns (and should zero) the result.
    /// </summary>
    public byte[]? GetPrivateObject(uint tag, VscUnlock unlock)
    {
        ArgumentNullException.ThrowIfNull(unlock);
        lock (_gate)
        {
            EnsureOpen();
            var d = _doc;
            RequireUnlock(unlock, d);
            if (!d.PrivateObjects.TryGetValue(tag, out var item))
            {
                return null;
            }

            var plaintext = new byte[item.Ciphertext.Length];
            using var areaKey = unlock.CreateAreaKey();
            if (!VscCrypto.TryOpen(item, areaKey, d.AreaPublicKey, d.Id, VscCrypto.KindPrivateObject, tag, plaintext))
            {
                throw new VscFormatException(Path, $"private object {tag:X} failed authentication (modified, or moved from another card)");
            }

            return plaintext;
        }
    }

    /// <summary>Deletes object <paramref name="tag"/> from the public or private area; false when it was in neither.</summary>
    public bool DeleteObject(uint tag)
    {
        lock (_gate)
        {
            EnsureWritable();
            var d = _doc;
            if (!d.PublicObjects.ContainsKey(tag) && !d.PrivateObjects.ContainsKey(tag))
            {
                return false;
            }

            Commit(Touched(d with { PublicObjects = d.PublicObjects.Remove(tag), PrivateObjects = d.PrivateObjects.Remove(tag) }));
            return true;
        }
    }

    /// <summary>The key in <paramref name="slot"/>, or null.</summary>
    public VscKeyInfo? GetKey(byte slot) => Read(d => d.Keys.TryGetValue(slot, out var key) ? key.Info : null);

    /// <summary>
    /// Stores a private key (PKCS#8) and its public key (SubjectPublicKeyInfo) in <paramref name="slot"/>, replacing any
    /// key there, and saves. The key is sealed to the area key (usable only with an unlock) unless
    /// <paramref name="pinPolicy"/> is 1 (Never) or the slot is 9E: then it is stored as plain PKCS#8 (see
    /// <see cref="KeyProtection.None"/>). No PIN is needed to store a key.
    /// </summary>
    public void PutKey(byte slot, byte algorithm, byte pinPolicy, byte touchPolicy, byte origin, ReadOnlySpan<byte> pkcs8PrivateKey, ReadOnlySpan<byte> spki)
    {
        VscRules.Require(VscRules.CheckOrigin(origin), nameof(origin));
        VscRules.Require(VscRules.CheckDerSequence(pkcs8PrivateKey, "private key"), nameof(pkcs8PrivateKey));
        VscRules.Require(VscRules.CheckDerSequence(spki, "public key"), nameof(spki));
        var protection = VscRules.ProtectionFor(slot, pinPolicy);
        var info = new VscKeyInfo(slot, algorithm, pinPolicy, touchPolicy, origin, spki.ToArray(), protection);
        lock (_gate)
        {
            EnsureWritable();
            var d = _doc;
            var stored = protection == KeyProtection.Pin
                ? new StoredKey(info, VscCrypto.Seal(d.AreaPublicKey, d.Id, VscCrypto.KindSecretKey, slot, pkcs8PrivateKey), null)
                : new StoredKey(info, null, pkcs8PrivateKey.ToArray());
            var old = d.Keys.GetValueOrDefault(slot);
            try
            {
                Commit(Touched(d with { Keys = d.Keys.SetItem(slot, stored) }));
            }
            catch
            {
                CryptographicOperations.ZeroMemory(stored.PlainPkcs8);
                throw;
            }

            CryptographicOperations.ZeroMemory(old?.PlainPkcs8);
        }
    }

    /// <summary>
    /// Runs <paramref name="use"/> with the PKCS#8 private key of <paramref name="slot"/>, decrypted into a buffer that is
    /// zeroed afterwards (the span must not be kept). A PIN-protected key needs <paramref name="unlock"/>
    /// (<see cref="VscPinRequiredException"/> otherwise); an empty slot throws <see cref="KeyNotFoundException"/>.
    /// </summary>
    public T UsePrivateKey<T>(byte slot, VscUnlock? unlock, Func<ReadOnlySpan<byte>, T> use)
    {
        ArgumentNullException.ThrowIfNull(use);
        lock (_gate)
        {
            EnsureOpen();
            var d = _doc;
            if (!d.Keys.TryGetValue(slot, out var key))
            {
                throw new KeyNotFoundException($"no key in slot {slot:X2}");
            }

            if (key.PlainPkcs8 is { } plain)
            {
                return use(plain);
            }

            if (unlock is null)
            {
                throw new VscPinRequiredException($"the key in slot {slot:X2} needs PIN verification");
            }

            RequireUnlock(unlock, d);
            var sealedKey = key.Sealed!;
            var pkcs8 = new byte[sealedKey.Ciphertext.Length];
            try
            {
                using (var areaKey = unlock.CreateAreaKey())
                {
                    if (!VscCrypto.TryOpen(sealedKey, areaKey, d.AreaPublicKey, d.Id, VscCrypto.KindSecretKey, slot, pkcs8))
                    {
                        throw new VscFormatException(Path, $"secret key in slot {slot:X2} failed authentication (modified, or moved from another card or slot)");
                    }
                }

                return use(pkcs8);
            }
            finally
            {
                CryptographicOperations.ZeroMemory(pkcs8);
            }
        }
    }

    /// <summary>Deletes the key in <paramref name="slot"/>; false when the slot was empty.</summary>
    public bool DeleteKey(byte slot)
    {
        lock (_gate)
        {
            EnsureWritable();
            var d = _doc;
            if (!d.Keys.TryGetValue(slot, out var old))
            {
                return false;
            }

            Commit(Touched(d with { Keys = d.Keys.Remove(slot) }));
            CryptographicOperations.ZeroMemory(old.PlainPkcs8);
            return true;
        }
    }

    /// <summary>Verifies the PIN (unpadded, 1 to 8 bytes). Same as <see cref="VerifyPin(ReadOnlySpan{byte}, VscUnlock?)"/> without a current unlock.</summary>
    public PinResult VerifyPin(ReadOnlySpan<byte> pin) => VerifyPin(pin, null);

    /// <summary>
    /// Verifies the PIN (unpadded, 1 to 8 bytes). If <paramref name="current"/> is a live unlock this card issued for
    /// the current PIN and the PIN matches it, no PBKDF2 runs (constant-time HMAC check). Otherwise the counter is
    /// decreased and saved, the PIN is tried, and on success restored and saved. Returns
    /// <see cref="PinResult.Blocked"/> without trying when the counter is 0, <see cref="PinResult.Wrong"/> with the tries
    /// left, or <see cref="PinResult.Verified"/> with a new unlock owned by the caller. The first success on this object
    /// authenticates every sealed item and throws <see cref="VscFormatException"/> if any is damaged.
    /// A PIV applet should drop its current unlock when this returns Wrong (a failed VERIFY resets the PIN status).
    /// </summary>
    public PinResult VerifyPin(ReadOnlySpan<byte> pin, VscUnlock? current)
    {
        VscRules.Require(VscRules.CheckSecretLength(pin.Length, "PIN"), nameof(pin));
        lock (_gate)
        {
            EnsureWritable();
            var d = _doc;
            if (d.PinRetriesLeft > 0 && current is not null && ReferenceEquals(current.Owner, this)
                && current.PinGeneration == _pinGeneration && current.AreaPublicKey.SequenceEqual(d.AreaPublicKey) && current.Matches(pin))
            {
                if (d.PinRetriesLeft != d.PinRetriesMax)
                {
                    Commit(d with { PinRetriesLeft = d.PinRetriesMax });
                }

                return new PinResult.Verified(current.Clone());
            }

            return Attempt(Operation.VerifyPin, pin, default);
        }
    }

    /// <summary>
    /// Changes the PIN: <paramref name="oldPin"/> counts as a PIN attempt (same counter rules as VerifyPin); on success
    /// the area key is re-wrapped under <paramref name="newPin"/> and the counter restored. Verified carries an unlock
    /// for the new PIN.
    /// </summary>
    public PinResult ChangePin(ReadOnlySpan<byte> oldPin, ReadOnlySpan<byte> newPin)
    {
        VscRules.Require(VscRules.CheckSecretLength(oldPin.Length, "PIN"), nameof(oldPin));
        VscRules.Require(VscRules.CheckSecretLength(newPin.Length, "PIN"), nameof(newPin));
        return Attempt(Operation.ChangePin, oldPin, newPin);
    }

    /// <summary>
    /// Changes the PUK: <paramref name="oldPuk"/> counts against the PUK counter; on success the area key is re-wrapped
    /// under <paramref name="newPuk"/>. Verified carries an unlock without PIN verifier (Matches is always false); a
    /// PIV applet should dispose it and not treat it as PIN verification.
    /// </summary>
    public PinResult ChangePuk(ReadOnlySpan<byte> oldPuk, ReadOnlySpan<byte> newPuk)
    {
        VscRules.Require(VscRules.CheckSecretLength(oldPuk.Length, "PUK"), nameof(oldPuk));
        VscRules.Require(VscRules.CheckSecretLength(newPuk.Length, "PUK"), nameof(newPuk));
        return Attempt(Operation.ChangePuk, oldPuk, newPuk);
    }

    /// <summary>
    /// Unblocks (or resets) the PIN with the PUK: <paramref name="puk"/> counts against the PUK counter; on success the
    /// area key is re-wrapped under <paramref name="newPin"/> and both counters are restored. Private data stays
    /// readable. Verified carries an unlock for the new PIN.
    /// </summary>
    public PinResult UnblockPin(ReadOnlySpan<byte> puk, ReadOnlySpan<byte> newPin)
    {
        VscRules.Require(VscRules.CheckSecretLength(puk.Length, "PUK"), nameof(puk));
        VscRules.Require(VscRules.CheckSecretLength(newPin.Length, "PIN"), nameof(newPin));
        return Attempt(Operation.UnblockPin, puk, newPin);
    }

    /// <summary>
    /// Sets the PIN and PUK try counts (1 to 255) and, as a YubiKey does, resets PIN and PUK to their defaults. Needs a
    /// live <paramref name="unlock"/> because the area key must be re-wrapped under the default PIN and PUK.
    /// </summary>
    public void SetRetries(int pinTries, int pukTries, VscUnlock unlock)
    {
        VscRules.Require(VscRules.CheckRetries(pinTries, "PIN"), nameof(pinTries));
        VscRules.Require(VscRules.CheckRetries(pukTries, "PUK"), nameof(pukTries));
        ArgumentNullException.ThrowIfNull(unlock);
        lock (_gate)
        {
            EnsureWritable();
            var d = _doc;
            RequireUnlock(unlock, d);
            Span<byte> area = stackalloc byte[VscCrypto.KeyLength];
            try
            {
                unlock.CopyAreaPrivateKey(area);
                Commit(Touched(d with
                {
                    PinWrap = Rewrapped(d.PinWrap, area, DefaultPin, d.Id, VscCrypto.PinPurpose),
                    PukWrap = Rewrapped(d.PukWrap, area, DefaultPuk, d.Id, VscCrypto.PukPurpose),
                    PinRetriesMax = pinTries,
                    PinRetriesLeft = pinTries,
                    PukRetriesMax = pukTries,
                    PukRetriesLeft = pukTries,
                    PinIsDefault = true,
                    PukIsDefault = true,
                }));
                _pinGeneration++;
            }
            finally
            {
                CryptographicOperations.ZeroMemory(area);
            }
        }
    }

    /// <summary>
    /// PIV RESET: a new area key; every key and every public and private object deleted; PIN, PUK and management key
    /// back to defaults; counters 3/3. Keeps Id, label, state, serial, GUID, role, parent and attributes. Whether a reset
    /// is allowed (YubiKey: only when PIN and PUK are both blocked) is the applet's decision. Existing unlocks become
    /// useless.
    /// </summary>
    public void Reset()
    {
        lock (_gate)
        {
            EnsureWritable();
            var d = _doc;
            var (areaPublic, areaPrivate) = VscCrypto.NewAreaKey();
            try
            {
                Commit(Touched(d with
                {
                    AreaPublicKey = areaPublic,
                    PinWrap = Rewrapped(d.PinWrap, areaPrivate, DefaultPin, d.Id, VscCrypto.PinPurpose),
                    PukWrap = Rewrapped(d.PukWrap, areaPrivate, DefaultPuk, d.Id, VscCrypto.PukPurpose),
                    PublicObjects = ImmutableSortedDictionary<uint, byte[]>.Empty,
                    PrivateObjects = ImmutableSortedDictionary<uint, SealedItem>.Empty,
                    Keys = ImmutableSortedDictionary<byte, StoredKey>.Empty,
                    PinRetriesMax = 3,
                    PinRetriesLeft = 3,
                    PukRetriesMax = 3,
                    PukRetriesLeft = 3,
                    PinIsDefault = true,
                    PukIsDefault = true,
                    ManagementKey = DefaultManagementKeyData(),
                }));
            }
            finally
            {
                CryptographicOperations.ZeroMemory(areaPrivate);
            }

            ZeroPlainSecrets(d);
            _pinGeneration++;
            _sealedItemsChecked = false;
        }
    }

    /// <summary>A copy of the management key; the caller zeroes it after use.</summary>
    public byte[] GetManagementKey() => Read(d => d.ManagementKey.Key.ToArray());

    /// <summary>Sets the management key (algorithm 03/08/0A/0C with a key of 24/16/24/32 bytes) and saves.</summary>
    public void SetManagementKey(byte algorithm, ReadOnlySpan<byte> key, bool touch)
    {
        VscRules.Require(VscRules.CheckManagementKey(algorithm, key.Length), nameof(key));
        var copy = key.ToArray();
        lock (_gate)
        {
            EnsureWritable();
            var old = _doc.ManagementKey;
            try
            {
                Commit(Touched(_doc with { ManagementKey = new ManagementKeyData(algorithm, copy, touch, IsDefaultManagementKey(copy)) }));
            }
            catch
            {
                CryptographicOperations.ZeroMemory(copy);
                throw;
            }

            CryptographicOperations.ZeroMemory(old.Key);
        }
    }

    /// <summary>Writes the current state to the file again (atomically). Mutators already save; this is for callers that want to be sure.</summary>
    public void Save()
    {
        lock (_gate)
        {
            EnsureWritable();
            Save(_doc, overwrite: true);
        }
    }

    /// <summary>Zeroes the in-memory cleartext secrets (management key, policy-Never keys) and releases the store lock, if held.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            ZeroPlainSecrets(_doc);
            _heldLock?.Dispose();
            _heldLock = null;
        }
    }

    /// <summary>Id, label, serial and path only.</summary>
    public override string ToString()
    {
        var d = _doc;
        return $"VSC {d.Id} '{d.Label}' serial {d.Serial} ({Path})";
    }

    internal static bool IsDefaultManagementKey(ReadOnlySpan<byte> key) => key.SequenceEqual(DefaultManagementKey);

    /// <summary>Reads and checks a file; the read buffer is zeroed afterwards (it holds the cleartext management key).</summary>
    internal static VscDocument ReadDocument(string path, bool allowWeakKdf)
    {
        byte[] bytes = ReadCapped(path);
        try
        {
            return new VscDecoder(path, allowWeakKdf).Decode(bytes);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(bytes);
        }
    }

    /// <summary>The whole file, refusing (as damaged) one larger than the format allows.</summary>
    internal static byte[] ReadCapped(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        long limit = VscCodec.PreambleLength + VscRules.MaxFileLength + VscCodec.SealLength;
        if (stream.Length > limit)
        {
            throw new VscFormatException(path, $"the file is {stream.Length} bytes, larger than the {limit}-byte limit");
        }

        var bytes = new byte[stream.Length];
        stream.ReadExactly(bytes);
        return bytes;
    }

    /// <summary>Hands the card a store lock to release on <see cref="Dispose"/>.</summary>
    internal void AttachLock(IDisposable heldLock) => _heldLock = heldLock;

    /// <summary>The document as it is now (for tests and the store).</summary>
    internal VscDocument Document => Read(d => d);

    private static VscDocument NewDocument(VscCreateOptions o)
    {
        uint serial = o.Serial ?? VscSerial.NewRandom();
        if (!VscSerial.IsVirtual(serial))
        {
            throw new ArgumentException($"serial {serial} is outside the VSC range {VscSerial.Min}..{VscSerial.Max}", nameof(o));
        }

        string id = o.Id ?? $"VSC-{serial}";
        VscRules.Require(VscRules.CheckId(id), nameof(o.Id));
        VscRules.Require(VscRules.CheckLabel(o.Label), nameof(o.Label));
        VscRules.Require(VscRules.CheckParent(o.Parent), nameof(o.Parent));
        VscRules.Require(VscRules.CheckSourceSerial(o.SourceSerial), nameof(o.SourceSerial));
        VscRules.Require(VscRules.CheckAccessConditions(o.AccessConditions), nameof(o.AccessConditions));
        VscRules.Require(VscRules.CheckRetries(o.PinRetries, "PIN"), nameof(o.PinRetries));
        VscRules.Require(VscRules.CheckRetries(o.PukRetries, "PUK"), nameof(o.PukRetries));
        if (!Enum.IsDefined(o.Role) || !Enum.IsDefined(o.State))
        {
            throw new ArgumentException("unknown role or state", nameof(o));
        }

        var pin = o.Pin.IsEmpty ? DefaultPin : o.Pin.Span;
        var puk = o.Puk.IsEmpty ? DefaultPuk : o.Puk.Span;
        VscRules.Require(VscRules.CheckSecretLength(pin.Length, "PIN"), nameof(o.Pin));
        VscRules.Require(VscRules.CheckSecretLength(puk.Length, "PUK"), nameof(o.Puk));
        var managementKey = o.ManagementKey.IsEmpty ? DefaultManagementKey : o.ManagementKey.Span;
        VscRules.Require(VscRules.CheckManagementKey(o.ManagementKeyAlgorithm, managementKey.Length), nameof(o.ManagementKey));
        if (!o.CardGuid.IsEmpty && o.CardGuid.Length != VscRules.GuidLength)
        {
            throw new ArgumentException($"card GUID must be {VscRules.GuidLength} bytes", nameof(o));
        }

        if (!o.SourceAtr.IsEmpty)
        {
            VscRules.Require(VscRules.CheckSourceAtr(o.SourceAtr.Length), nameof(o.SourceAtr));
        }

        var attributes = ImmutableSortedDictionary.CreateRange(StringComparer.Ordinal, o.Attributes ?? new Dictionary<string, string>());
        if (attributes.Count > VscRules.MaxAttributes)
        {
            throw new ArgumentException($"at most {VscRules.MaxAttributes} attributes", nameof(o));
        }

        foreach (var (key, value) in attributes)
        {
            VscRules.Require(VscRules.CheckAttributeKey(key), nameof(o.Attributes));
            VscRules.Require(VscRules.CheckAttributeValue(value), nameof(o.Attributes));
        }

        int iterations = o.Iterations ?? VscCrypto.DefaultIterations;
        int minimum = o.AllowWeakKdfForTests ? 1 : VscCrypto.MinIterations;
        if (iterations < minimum || iterations > VscCrypto.MaxIterations)
        {
            throw new ArgumentOutOfRangeException(nameof(o), $"iterations must be {minimum} to {VscCrypto.MaxIterations}"
                + (o.AllowWeakKdfForTests ? "" : " (lower counts need AllowWeakKdfForTests)"));
        }

        var (areaPublic, areaPrivate) = VscCrypto.NewAreaKey();
        try
        {
            var now = Now();
            return new VscDocument
            {
                FormatVersion = VscCodec.CurrentVersion,
                Id = id,
                Label = o.Label,
                CardType = VscRules.PivCardType,
                State = o.State,
                Created = now,
                Modified = now,
                Role = o.Role,
                Parent = o.Parent,
                Attributes = attributes,
                AccessConditions = o.AccessConditions,
                Serial = serial,
                CardGuid = o.CardGuid.IsEmpty ? RandomNumberGenerator.GetBytes(VscRules.GuidLength) : o.CardGuid.ToArray(),
                SourceSerial = o.SourceSerial,
                SourceAtr = o.SourceAtr.IsEmpty ? null : o.SourceAtr.ToArray(),
                PublicObjects = ImmutableSortedDictionary<uint, byte[]>.Empty,
                PrivateObjects = ImmutableSortedDictionary<uint, SealedItem>.Empty,
                Keys = ImmutableSortedDictionary<byte, StoredKey>.Empty,
                AreaPublicKey = areaPublic,
                PinWrap = VscCrypto.Wrap(areaPrivate, pin, iterations, id, VscCrypto.PinPurpose),
                PukWrap = VscCrypto.Wrap(areaPrivate, puk, iterations, id, VscCrypto.PukPurpose),
                PinRetriesMax = o.PinRetries,
                PinRetriesLeft = o.PinRetries,
                PukRetriesMax = o.PukRetries,
                PukRetriesLeft = o.PukRetries,
                PinIsDefault = pin.SequenceEqual(DefaultPin),
                PukIsDefault = puk.SequenceEqual(DefaultPuk),
                ManagementKey = new ManagementKeyData(o.ManagementKeyAlgorithm, managementKey.ToArray(), o.ManagementKeyTouch, IsDefaultManagementKey(managementKey)),
            };
        }
        finally
        {
            CryptographicOperations.ZeroMemory(areaPrivate);
        }
    }

    private static ManagementKeyData DefaultManagementKeyData() =>
        new(ManagementKeyTripleDes, DefaultManagementKey.ToArray(), Touch: false, IsDefault: true);

    private static DateTimeOffset Now() => DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());

    private static VscDocument Touched(VscDocument d) => d with { Modified = Now() };

    internal static void ZeroPlainSecrets(VscDocument d)
    {
        CryptographicOperations.ZeroMemory(d.ManagementKey.Key);
        foreach (var key in d.Keys.Values)
        {
            CryptographicOperations.ZeroMemory(key.PlainPkcs8);
        }
    }

    /// <summary>The same wrap, or (when its iteration count is below the current default) a re-wrap at the default.</summary>
    private static WrappedKey Upgraded(WrappedKey wrap, ReadOnlySpan<byte> area, ReadOnlySpan<byte> secret, string cardId, string purpose) =>
        VscCrypto.NextIterations(wrap.Iterations) == wrap.Iterations ? wrap : Rewrapped(wrap, area, secret, cardId, purpose);

    /// <summary>A new wrap of the area key under <paramref name="secret"/> (fresh salt and nonce) replacing <paramref name="wrap"/>.</summary>
    private static WrappedKey Rewrapped(WrappedKey wrap, ReadOnlySpan<byte> area, ReadOnlySpan<byte> secret, string cardId, string purpose) =>
        VscCrypto.Wrap(area, secret, VscCrypto.NextIterations(wrap.Iterations), cardId, purpose);

    /// <summary>
    /// One PIN or PUK attempt. The counter is decreased and saved BEFORE the secret is tried (so a process killed at any
    /// moment keeps the decrease); a wrong secret returns with that counter. A right one saves the operation's result
    /// with the counter restored and returns a new unlock.
    /// </summary>
    private PinResult Attempt(Operation operation, ReadOnlySpan<byte> secret, ReadOnlySpan<byte> newSecret)
    {
        bool puk = operation is Operation.ChangePuk or Operation.UnblockPin;
        lock (_gate)
        {
            EnsureWritable();
            var d = _doc;
            int left = (puk ? d.PukRetriesLeft : d.PinRetriesLeft) - 1;
            if (left < 0)
            {
                return new PinResult.Blocked();
            }

            Commit(puk ? d with { PukRetriesLeft = left } : d with { PinRetriesLeft = left });
            Span<byte> area = stackalloc byte[VscCrypto.KeyLength];
            try
            {
                if (!VscCrypto.TryUnwrap(puk ? d.PukWrap : d.PinWrap, secret, d.Id, puk ? VscCrypto.PukPurpose : VscCrypto.PinPurpose, area))
                {
                    return new PinResult.Wrong(left);
                }

                var restored = puk ? d with { PukRetriesLeft = d.PukRetriesMax } : d with { PinRetriesLeft = d.PinRetriesMax };
                Commit(operation switch
                {
                    Operation.VerifyPin => restored with { PinWrap = Upgraded(restored.PinWrap, area, secret, restored.Id, VscCrypto.PinPurpose) },
                    Operation.ChangePin => Touched(restored with { PinWrap = Rewrapped(restored.PinWrap, area, newSecret, restored.Id, VscCrypto.PinPurpose), PinIsDefault = newSecret.SequenceEqual(DefaultPin) }),
                    Operation.ChangePuk => Touched(restored with { PukWrap = Rewrapped(restored.PukWrap, area, newSecret, restored.Id, VscCrypto.PukPurpose), PukIsDefault = newSecret.SequenceEqual(DefaultPuk) }),
                    Operation.UnblockPin => Touched(restored with
                    {
                        PukWrap = Upgraded(restored.PukWrap, area, secret, restored.Id, VscCrypto.PukPurpose),
                        PinWrap = Rewrapped(restored.PinWrap, area, newSecret, restored.Id, VscCrypto.PinPurpose),
                        PinIsDefault = newSecret.SequenceEqual(DefaultPin),
                        PinRetriesLeft = restored.PinRetriesMax,
                    }),
                    _ => throw new ArgumentOutOfRangeException(nameof(operation)),
                });
                if (operation is Operation.ChangePin or Operation.UnblockPin)
                {
                    _pinGeneration++;
                }

                return new PinResult.Verified(IssueUnlock(area, operation switch
                {
                    Operation.VerifyPin => secret,
                    Operation.ChangePin or Operation.UnblockPin => newSecret,
                    _ => default,
                }));
            }
            finally
            {
                CryptographicOperations.ZeroMemory(area);
            }
        }
    }

    /// <summary>
    /// Builds an unlock from the unwrapped area key. Checks that the key belongs to the stored public key and, the
    /// first time on this object, that every sealed item authenticates (the part of the consistency check that needs
    /// the PIN).
    /// </summary>
    private VscUnlock IssueUnlock(ReadOnlySpan<byte> area, ReadOnlySpan<byte> pin)
    {
        var d = _doc;
        ECDiffieHellman areaKey;
        try
        {
            areaKey = VscCrypto.ImportAreaKey(area, d.AreaPublicKey);
        }
        catch (CryptographicException ex)
        {
            throw new VscFormatException(Path, "password area: the unwrapped area key does not belong to the area public key", ex);
        }

        using (areaKey)
        {
            if (!_sealedItemsChecked)
            {
                CheckSealedItems(areaKey, d);
                _sealedItemsChecked = true;
            }
        }

        return new VscUnlock(d.Id, area, d.AreaPublicKey, pin, this, _pinGeneration);
    }

    private void CheckSealedItems(ECDiffieHellman areaKey, VscDocument d)
    {
        var damaged = new List<string>();
        foreach (var (tag, item) in d.PrivateObjects)
        {
            if (!Authenticates(item, VscCrypto.KindPrivateObject, tag, checkPkcs8: false))
            {
                damaged.Add($"private object {tag:X}");
            }
        }

        foreach (var (slot, key) in d.Keys)
        {
            if (key.Sealed is { } item && !Authenticates(item, VscCrypto.KindSecretKey, slot, checkPkcs8: true))
            {
                damaged.Add($"secret key in slot {slot:X2}");
            }
        }

        if (damaged.Count > 0)
        {
            throw new VscFormatException(Path, $"{string.Join(", ", damaged)} failed authentication (modified, or moved from another card or slot)");
        }

        bool Authenticates(SealedItem item, byte kind, uint id, bool checkPkcs8)
        {
            var plaintext = new byte[item.Ciphertext.Length];
            try
            {
                return VscCrypto.TryOpen(item, areaKey, d.AreaPublicKey, d.Id, kind, id, plaintext)
                    && (!checkPkcs8 || VscRules.CheckDerSequence(plaintext, "private key") is null);
            }
            finally
            {
                CryptographicOperations.ZeroMemory(plaintext);
            }
        }
    }

    private static void RequireUnlock(VscUnlock unlock, VscDocument d)
    {
        if (unlock.IsDisposed)
        {
            throw new VscPinRequiredException("the PIN unlock was disposed; verify the PIN again");
        }

        if (unlock.CardId != d.Id || !unlock.AreaPublicKey.SequenceEqual(d.AreaPublicKey))
        {
            throw new ArgumentException($"the unlock belongs to another card or to this card before a reset (card {d.Id})", nameof(unlock));
        }
    }

    private T Read<T>(Func<VscDocument, T> read)
    {
        lock (_gate)
        {
            EnsureOpen();
            return read(_doc);
        }
    }

    private void Mutate(Func<VscDocument, VscDocument> change)
    {
        lock (_gate)
        {
            EnsureWritable();
            Commit(Touched(change(_doc)));
        }
    }

    /// <summary>Saves <paramref name="next"/> and only then makes it the current document.</summary>
    private void Commit(VscDocument next)
    {
        Save(next, overwrite: true);
        _doc = next;
    }

    private void Save(VscDocument document, bool overwrite)
    {
        var bytes = VscCodec.Encode(document);
        try
        {
            AtomicFile.Write(Path, bytes, overwrite, BeforeRenameForTests);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(bytes);
        }
    }

    private void EnsureOpen() => ObjectDisposedException.ThrowIf(_disposed, this);

    private void EnsureWritable()
    {
        EnsureOpen();
        if (_readOnly)
        {
            throw new InvalidOperationException($"VSC '{_doc.Id}' was opened read-only");
        }
    }

    private enum Operation
    {
        VerifyPin,
        ChangePin,
        ChangePuk,
        UnblockPin,
    }
}
