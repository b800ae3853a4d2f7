using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace CardKeep.Agent.Keys;

/// <summary>
/// Ed25519 (RFC 8032) through the machine's libsodium (<c>libsodium.so.23</c>, Debian package libsodium23): .NET 10 has
/// no Ed25519. A thin binding to three calls: seed → key pair, detached sign, detached verify. The 64-byte secret key
/// libsodium wants (seed‖public) lives only for the duration of a call and is zeroed after it.
/// </summary>
public static partial class Ed25519
{
    public const int SeedLength = 32;
    public const int PublicKeyLength = 32;
    public const int SignatureLength = 64;
    private const string Library = "libsodium.so.23";
    private static readonly Lazy<bool> _initialised = new(() =>
    {
        try
        {
            return SodiumInit() >= 0;
        }
        catch (DllNotFoundException)
        {
            return false;
        }
    });

    /// <summary>True when libsodium could be loaded and initialised.</summary>
    public static bool IsAvailable => _initialised.Value;

    /// <summary>The public key of a 32-byte seed.</summary>
    public static byte[] PublicKeyFromSeed(ReadOnlySpan<byte> seed)
    {
        var secret = ExpandSeed(seed, out byte[] publicKey);
        CryptographicOperations.ZeroMemory(secret);
        return publicKey;
    }

    /// <summary>A detached signature of <paramref name="message"/> with the key of <paramref name="seed"/>.</summary>
    public static byte[] Sign(ReadOnlySpan<byte> seed, ReadOnlySpan<byte> message)
    {
        var secret = ExpandSeed(seed, out _);
        try
        {
            var signature = new byte[SignatureLength];
            if (SignDetached(signature, out ulong length, message, (ulong)message.Length, secret) != 0 || length != SignatureLength)
            {
                throw new CryptographicException("libsodium crypto_sign_detached failed");
            }

            return signature;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(secret);
        }
    }

    /// <summary>True when <paramref name="signature"/> is a valid Ed25519 signature of <paramref name="message"/>.</summary>
    public static bool Verify(ReadOnlySpan<byte> publicKey, ReadOnlySpan<byte> message, ReadOnlySpan<byte> signature)
    {
        if (publicKey.Length != PublicKeyLength || signature.Length != SignatureLength)
        {
            return false;
        }

        RequireLibrary();
        return VerifyDetached(signature, message, (ulong)message.Length, publicKey) == 0;
    }

    private static byte[] ExpandSeed(ReadOnlySpan<byte> seed, out byte[] publicKey)
    {
        if (seed.Length != SeedLength)
        {
            throw new CryptographicException("an Ed25519 seed has 32 bytes");
        }

        RequireLibrary();
        publicKey = new byte[PublicKeyLength];
        var secret = new byte[64];
        if (SeedKeypair(publicKey, secret, seed) != 0)
        {
            CryptographicOperations.ZeroMemory(secret);
            throw new CryptographicException("libsodium crypto_sign_seed_keypair failed");
        }

        return secret;
    }

    private static void RequireLibrary()
    {
        if (!IsAvailable)
        {
            throw new CryptographicException("Ed25519 needs libsodium (libsodium.so.23): install the 'libsodium23' package");
        }
    }

    [LibraryImport(Library, EntryPoint = "sodium_init")]
    private static partial int SodiumInit();

    [LibraryImport(Library, EntryPoint = "crypto_sign_seed_keypair")]
    private static partial int SeedKeypair(Span<byte> publicKey, Span<byte> secretKey, ReadOnlySpan<byte> seed);

    [LibraryImport(Library, EntryPoint = "crypto_sign_detached")]
    private static partial int SignDetached(Span<byte> signature, out ulong signatureLength, ReadOnlySpan<byte> message, ulong messageLength, ReadOnlySpan<byte> secretKey);

    [LibraryImport(Library, EntryPoint = "crypto_sign_verify_detached")]
    private static partial int VerifyDetached(ReadOnlySpan<byte> signature, ReadOnlySpan<byte> message, ulong messageLength, ReadOnlySpan<byte> publicKey);
}
