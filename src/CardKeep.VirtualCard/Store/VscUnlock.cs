using System.Security.Cryptography;

namespace CardKeep.VirtualCard.Store;

/// <summary>
/// Proof of a successful PIN (or PUK) verification: holds the unlocked area private key in memory until disposed,
/// when it is zeroed. Pass it to <see cref="VirtualSmartCard.GetPrivateObject"/> and
/// <see cref="VirtualSmartCard.UsePrivateKey{T}"/>. It also keeps a verifier of the PIN
/// (HMAC-SHA256 under a random per-unlock key) so that a live session can re-verify the same PIN quickly and in
/// constant time (<see cref="Matches"/>) without running PBKDF2 again.
/// </summary>
public sealed class VscUnlock : IDisposable
{
    private readonly Lock _gate = new();
    private readonly byte[] _areaPrivateKey;
    private readonly byte[] _areaPublicKey;
    private readonly byte[] _verifierKey;
    private readonly byte[]? _verifier;
    private bool _disposed;

    /// <summary>Takes a copy of <paramref name="areaPrivateKey"/>; <paramref name="pin"/> empty means "no verifier".</summary>
    internal VscUnlock(string cardId, ReadOnlySpan<byte> areaPrivateKey, ReadOnlySpan<byte> areaPublicKey, ReadOnlySpan<byte> pin, object owner, int pinGeneration)
    {
        CardId = cardId;
        _areaPrivateKey = areaPrivateKey.ToArray();
        _areaPublicKey = areaPublicKey.ToArray();
        _verifierKey = RandomNumberGenerator.GetBytes(32);
        _verifier = pin.IsEmpty ? null : HMACSHA256.HashData(_verifierKey, pin);
        Owner = owner;
        PinGeneration = pinGeneration;
    }

    private VscUnlock(VscUnlock other)
    {
        CardId = other.CardId;
        _areaPrivateKey = (byte[])other._areaPrivateKey.Clone();
        _areaPublicKey = other._areaPublicKey;
        _verifierKey = (byte[])other._verifierKey.Clone();
        _verifier = (byte[]?)other._verifier?.Clone();
        Owner = other.Owner;
        PinGeneration = other.PinGeneration;
    }

    /// <summary>Id of the card this unlock belongs to.</summary>
    public string CardId { get; }

    /// <summary>True once disposed: the key is zeroed and the unlock can no longer be used.</summary>
    public bool IsDisposed
    {
        get
        {
            lock (_gate)
            {
                return _disposed;
            }
        }
    }

    /// <summary>The card object that issued this unlock (fast re-verify only works there).</summary>
    internal object Owner { get; }

    /// <summary>The issuing card's PIN generation at issue time; a PIN change makes older verifiers stale.</summary>
    internal int PinGeneration { get; }

    internal ReadOnlySpan<byte> AreaPublicKey => _areaPublicKey;

    /// <summary>
    /// Constant-time check that <paramref name="pin"/> (unpadded) is the PIN that produced this unlock. False when
    /// disposed or when the unlock was not made from a PIN. Does not touch the retry counter: a card re-verify should
    /// go through <see cref="VirtualSmartCard.VerifyPin(ReadOnlySpan{byte}, VscUnlock?)"/>, which uses this check.
    /// </summary>
    public bool Matches(ReadOnlySpan<byte> pin)
    {
        lock (_gate)
        {
            if (_disposed || _verifier is null)
            {
                return false;
            }

            Span<byte> candidate = stackalloc byte[32];
            HMACSHA256.HashData(_verifierKey, pin, candidate);
            bool equal = CryptographicOperations.FixedTimeEquals(candidate, _verifier);
            CryptographicOperations.ZeroMemory(candidate);
            return equal;
        }
    }

    /// <summary>Zeroes the area key and the verifier. Safe to call more than once.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            CryptographicOperations.ZeroMemory(_areaPrivateKey);
            CryptographicOperations.ZeroMemory(_verifierKey);
            CryptographicOperations.ZeroMemory(_verifier);
        }
    }

    /// <summary>Card Id and state only; never key material.</summary>
    public override string ToString() => IsDisposed ? $"VscUnlock({CardId}, disposed)" : $"VscUnlock({CardId})";

    /// <summary>An independent copy (own key buffer), for handing a second owner the same unlock.</summary>
    internal VscUnlock Clone()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return new VscUnlock(this);
        }
    }

    /// <summary>Copies the area private key into <paramref name="destination"/> (32 bytes), which the caller zeroes.</summary>
    internal void CopyAreaPrivateKey(Span<byte> destination)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _areaPrivateKey.CopyTo(destination);
        }
    }

    /// <summary>The area key pair as an ECDH object; the caller disposes it.</summary>
    internal ECDiffieHellman CreateAreaKey()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return VscCrypto.ImportAreaKey(_areaPrivateKey, _areaPublicKey);
        }
    }
}
