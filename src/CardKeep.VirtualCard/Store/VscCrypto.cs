using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace CardKeep.VirtualCard.Store;

/// <summary>The area private key wrapped under a PIN- or PUK-derived key (PBKDF2-SHA256 + AES-256-GCM).</summary>
internal sealed record WrappedKey(int Iterations, byte[] Salt, byte[] Nonce, byte[] Ciphertext, byte[] Tag);

/// <summary>An ECIES envelope to the card's area public key (P-256 ECDH + HKDF-SHA256 + AES-256-GCM).</summary>
internal sealed record SealedItem(byte[] EphemeralPublicKey, byte[] Nonce, byte[] Ciphertext, byte[] Tag);

/// <summary>
/// The VSC crypto design (docs/vsc-format.md §Crypto): PIN/PUK wraps of the area private key and ECIES items sealed to
/// the area public key. Every key buffer is zeroed in a finally block.
/// </summary>
internal static class VscCrypto
{
    public const int DefaultIterations = 600_000;
    public const int MinIterations = 100_000;
    public const int MaxIterations = 10_000_000;
    public const int SaltLength = 16;
    public const int NonceLength = 12;
    public const int TagLength = 16;
    public const int KeyLength = 32;
    public const int PointLength = 65;
    public const byte KindPrivateObject = 1;
    public const byte KindSecretKey = 2;
    public const string PinPurpose = "pin";
    public const string PukPurpose = "puk";

    private static readonly byte[] _itemInfo = "CardKeep VSC item v1"u8.ToArray();

    /// <summary>
    /// Iteration count for a re-wrap of a wrap that used <paramref name="current"/>: production wraps are raised to the
    /// current default; test wraps (below the production minimum) keep their count.
    /// </summary>
    public static int NextIterations(int current) => current < MinIterations ? current : Math.Max(current, DefaultIterations);

    /// <summary>A new P-256 area key pair: (65-byte uncompressed public point, 32-byte private scalar).</summary>
    public static (byte[] PublicKey, byte[] PrivateKey) NewAreaKey()
    {
        using var ecdh = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
        var parameters = ecdh.ExportParameters(includePrivateParameters: true);
        try
        {
            return (EncodePoint(parameters.Q), parameters.D!.AsSpan().ToArray());
        }
        finally
        {
            CryptographicOperations.ZeroMemory(parameters.D);
        }
    }

    public static WrappedKey Wrap(ReadOnlySpan<byte> areaPrivateKey, ReadOnlySpan<byte> secret, int iterations, string cardId, string purpose)
    {
        var salt = RandomNumberGenerator.GetBytes(SaltLength);
        var nonce = RandomNumberGenerator.GetBytes(NonceLength);
        var ciphertext = new byte[areaPrivateKey.Length];
        var tag = new byte[TagLength];
        Span<byte> kek = stackalloc byte[KeyLength];
        try
        {
            Rfc2898DeriveBytes.Pbkdf2(secret, salt, kek, iterations, HashAlgorithmName.SHA256);
            using var gcm = new AesGcm(kek, TagLength);
            gcm.Encrypt(nonce, areaPrivateKey, ciphertext, tag, WrapAad(cardId, purpose));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(kek);
        }

        return new WrappedKey(iterations, salt, nonce, ciphertext, tag);
    }

    /// <summary>Unwraps into <paramref name="areaPrivateKey"/>; false (and a zeroed destination) when the secret is wrong.</summary>
    public static bool TryUnwrap(WrappedKey wrapped, ReadOnlySpan<byte> secret, string cardId, string purpose, Span<byte> areaPrivateKey)
    {
        Span<byte> kek = stackalloc byte[KeyLength];
        try
        {
            Rfc2898DeriveBytes.Pbkdf2(secret, wrapped.Salt, kek, wrapped.Iterations, HashAlgorithmName.SHA256);
            using var gcm = new AesGcm(kek, TagLength);
            gcm.Decrypt(wrapped.Nonce, wrapped.Ciphertext, wrapped.Tag, areaPrivateKey, WrapAad(cardId, purpose));
            return true;
        }
        catch (AuthenticationTagMismatchException)
        {
            CryptographicOperations.ZeroMemory(areaPrivateKey);
            return false;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(kek);
        }
    }

    public static SealedItem Seal(ReadOnlySpan<byte> areaPublicKey, string cardId, byte kind, uint id, ReadOnlySpan<byte> plaintext)
    {
        using var ephemeral = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
        var ephemeralPublic = EncodePoint(ephemeral.ExportParameters(includePrivateParameters: false).Q);
        using var area = ImportPublic(areaPublicKey);
        using var areaPublic = area.PublicKey;
        var nonce = RandomNumberGenerator.GetBytes(NonceLength);
        var ciphertext = new byte[plaintext.Length];
        var tag = new byte[TagLength];
        Span<byte> key = stackalloc byte[KeyLength];
        try
        {
            DeriveItemKey(ephemeral, areaPublic, ephemeralPublic, areaPublicKey, key);
            using var gcm = new AesGcm(key, TagLength);
            gcm.Encrypt(nonce, plaintext, ciphertext, tag, ItemAad(cardId, kind, id));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }

        return new SealedItem(ephemeralPublic, nonce, ciphertext, tag);
    }

    /// <summary>Opens an item with the unlocked area key; false (and a zeroed destination) when it does not authenticate.</summary>
    public static bool TryOpen(SealedItem item, ECDiffieHellman areaKey, ReadOnlySpan<byte> areaPublicKey, string cardId, byte kind, uint id, Span<byte> plaintext)
    {
        Span<byte> key = stackalloc byte[KeyLength];
        try
        {
            using var ephemeral = ImportPublic(item.EphemeralPublicKey);
            using var ephemeralPublic = ephemeral.PublicKey;
            DeriveItemKey(areaKey, ephemeralPublic, item.EphemeralPublicKey, areaPublicKey, key);
            using var gcm = new AesGcm(key, TagLength);
            gcm.Decrypt(item.Nonce, item.Ciphertext, item.Tag, plaintext, ItemAad(cardId, kind, id));
            return true;
        }
        catch (AuthenticationTagMismatchException)
        {
            CryptographicOperations.ZeroMemory(plaintext);
            return false;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
    }

    /// <summary>
    /// The area key pair as an ECDH object. Throws <see cref="CryptographicException"/> when the private scalar does not
    /// belong to the public point (OpenSSL checks the pair on import).
    /// </summary>
    public static ECDiffieHellman ImportAreaKey(ReadOnlySpan<byte> privateKey, ReadOnlySpan<byte> publicKey)
    {
        var parameters = new ECParameters
        {
            Curve = ECCurve.NamedCurves.nistP256,
            D = privateKey.ToArray(),
            Q = DecodePoint(publicKey),
        };
        try
        {
            return ECDiffieHellman.Create(parameters);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(parameters.D);
        }
    }

    /// <summary>True when <paramref name="point"/> is a 65-byte uncompressed point on P-256.</summary>
    public static bool IsValidPoint(ReadOnlySpan<byte> point)
    {
        if (point.Length != PointLength || point[0] != 0x04)
        {
            return false;
        }

        try
        {
            using var key = ImportPublic(point);
            return true;
        }
        catch (CryptographicException)
        {
            return false;
        }
    }

    private static ECDiffieHellman ImportPublic(ReadOnlySpan<byte> point) =>
        ECDiffieHellman.Create(new ECParameters { Curve = ECCurve.NamedCurves.nistP256, Q = DecodePoint(point) });

    private static void DeriveItemKey(ECDiffieHellman own, ECDiffieHellmanPublicKey other, ReadOnlySpan<byte> ephemeralPublic, ReadOnlySpan<byte> areaPublic, Span<byte> key)
    {
        byte[] shared = own.DeriveRawSecretAgreement(other);
        Span<byte> salt = stackalloc byte[2 * PointLength];
        ephemeralPublic.CopyTo(salt);
        areaPublic.CopyTo(salt[PointLength..]);
        try
        {
            HKDF.DeriveKey(HashAlgorithmName.SHA256, shared, key, salt, _itemInfo);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(shared);
        }
    }

    private static byte[] WrapAad(string cardId, string purpose)
    {
        var id = Encoding.UTF8.GetBytes(cardId);
        var aad = new byte[id.Length + 1 + purpose.Length];
        id.CopyTo(aad, 0);
        Encoding.ASCII.GetBytes(purpose, aad.AsSpan(id.Length + 1));
        return aad;
    }

    private static byte[] ItemAad(string cardId, byte kind, uint id)
    {
        var cardIdBytes = Encoding.UTF8.GetBytes(cardId);
        var aad = new byte[cardIdBytes.Length + 1 + 1 + 4];
        cardIdBytes.CopyTo(aad, 0);
        aad[cardIdBytes.Length + 1] = kind;
        BinaryPrimitives.WriteUInt32BigEndian(aad.AsSpan(cardIdBytes.Length + 2), id);
        return aad;
    }

    private static byte[] EncodePoint(ECPoint q)
    {
        var point = new byte[PointLength];
        point[0] = 0x04;
        q.X.AsSpan().CopyTo(point.AsSpan(1, 32));
        q.Y.AsSpan().CopyTo(point.AsSpan(33, 32));
        return point;
    }

    private static ECPoint DecodePoint(ReadOnlySpan<byte> point) =>
        new() { X = point.Slice(1, 32).ToArray(), Y = point.Slice(33, 32).ToArray() };
}
