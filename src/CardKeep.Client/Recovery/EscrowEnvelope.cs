using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace CardKeep.Client.Recovery;

/// <summary>
/// The escrow blob the server keeps for a card: the card's backup VSC file, encrypted on the client so the server
/// never sees its content (a VSC file's public area is not encrypted by the VSC format itself). AES-256-GCM under a
/// key derived from the account's recovery password with PBKDF2-SHA256; the user name and the header are
/// authenticated data, so a blob moved to another account does not open.
/// <code>
/// "CKESC1" | iterations u32 BE | salt 16 | nonce 12 | ciphertext | tag 16
/// </code>
/// </summary>
public static class EscrowEnvelope
{
    /// <summary>PBKDF2 iterations for a new blob (OWASP 2023 guidance for PBKDF2-HMAC-SHA256).</summary>
    public const int DefaultIterations = 600_000;

    /// <summary>The fewest iterations a blob may claim; tests use this, people should not.</summary>
    public const int MinimumIterations = 1_000;

    private static readonly byte[] _magic = "CKESC1"u8.ToArray();
    private const int SaltLength = 16;
    private const int NonceLength = 12;
    private const int TagLength = 16;
    private const int HeaderLength = 6 + 4 + SaltLength + NonceLength;

    /// <summary>Encrypts <paramref name="plain"/> for <paramref name="user"/> under <paramref name="password"/>.</summary>
    public static byte[] Seal(ReadOnlySpan<byte> plain, ReadOnlySpan<byte> password, string user, int iterations = DefaultIterations)
    {
        ArgumentNullException.ThrowIfNull(user);
        if (iterations < MinimumIterations)
        {
            throw new ArgumentOutOfRangeException(nameof(iterations), $"at least {MinimumIterations} PBKDF2 iterations");
        }

        var blob = new byte[HeaderLength + plain.Length + TagLength];
        _magic.CopyTo(blob, 0);
        BinaryPrimitives.WriteUInt32BigEndian(blob.AsSpan(6), (uint)iterations);
        RandomNumberGenerator.Fill(blob.AsSpan(10, SaltLength + NonceLength));
        var key = DeriveKey(password, blob.AsSpan(10, SaltLength), iterations);
        try
        {
            using var gcm = new AesGcm(key, TagLength);
            gcm.Encrypt(blob.AsSpan(10 + SaltLength, NonceLength), plain, blob.AsSpan(HeaderLength, plain.Length), blob.AsSpan(HeaderLength + plain.Length), Aad(blob, user));
            return blob;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
    }

    /// <summary>Decrypts a blob; a wrong password, another user's blob or a damaged one is an <see cref="AccountException"/> (Escrow).</summary>
    public static byte[] Open(ReadOnlySpan<byte> blob, ReadOnlySpan<byte> password, string user)
    {
        ArgumentNullException.ThrowIfNull(user);
        if (blob.Length < HeaderLength + TagLength || !blob[..6].SequenceEqual(_magic))
        {
            throw new AccountException(AccountFailure.Escrow, "the escrowed backup is not a CardKeep escrow blob (damaged, or from another program)");
        }

        uint iterations = BinaryPrimitives.ReadUInt32BigEndian(blob[6..]);
        if (iterations is < MinimumIterations or > 100_000_000)
        {
            throw new AccountException(AccountFailure.Escrow, "the escrowed backup's header is damaged");
        }

        var key = DeriveKey(password, blob.Slice(10, SaltLength), (int)iterations);
        var plain = new byte[blob.Length - HeaderLength - TagLength];
        try
        {
            using var gcm = new AesGcm(key, TagLength);
            gcm.Decrypt(blob.Slice(10 + SaltLength, NonceLength), blob[HeaderLength..^TagLength], blob[^TagLength..], plain, Aad(blob, user));
            return plain;
        }
        catch (AuthenticationTagMismatchException e)
        {
            throw new AccountException(AccountFailure.Escrow, "the escrowed backup does not open with this recovery password (or it is damaged, or another account's)", e);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
    }

    private static byte[] Aad(ReadOnlySpan<byte> blob, string user) => [.. blob[..HeaderLength], .. Encoding.UTF8.GetBytes("\0cardkeep-escrow\0" + user)];

    private static byte[] DeriveKey(ReadOnlySpan<byte> password, ReadOnlySpan<byte> salt, int iterations) =>
        Rfc2898DeriveBytes.Pbkdf2(password, salt, iterations, HashAlgorithmName.SHA256, 32);
}
