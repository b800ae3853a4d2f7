using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Security.Cryptography;

namespace CardKeep.Cards.Piv;

/// <summary>
/// The PIV card management key (slot 9B): single-block ECB encryption with 3DES or AES, as both the host and the
/// card need for the GENERAL AUTHENTICATE challenge-response, plus key checks. Nothing here keeps key material:
/// every cipher object is disposed (which clears its key copy) before the method returns.
/// </summary>
public static class PivManagementKey
{
    /// <summary>The factory 3DES key 01 02 … 08 three times (YubiKey before 5.7, Windows TPM virtual smart cards, CardKeep).</summary>
    public static ReadOnlySpan<byte> DefaultKey =>
    [
        0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
        0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
    ];

    /// <summary>Throws unless <paramref name="algorithm"/> is a management-key algorithm and <paramref name="key"/> has its length.</summary>
    public static void ValidateLength(PivAlgorithm algorithm, ReadOnlySpan<byte> key)
    {
        if (!algorithm.IsManagementKey())
        {
            throw new ArgumentOutOfRangeException(nameof(algorithm), algorithm, "not a management-key algorithm (3DES, AES-128/192/256)");
        }

        if (key.Length != algorithm.KeyLength())
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"a {algorithm.DisplayName()} management key has {algorithm.KeyLength()} bytes, got {key.Length}"), nameof(key));
        }
    }

    /// <summary>
    /// True when a 3DES key has a DES weak or semi-weak key as any of its three 8-byte parts (parity bits ignored), the
    /// check yubico-piv-tool applies before set-mgm-key. Always false for AES.
    /// </summary>
    public static bool IsWeak(PivAlgorithm algorithm, ReadOnlySpan<byte> key)
    {
        ValidateLength(algorithm, key);
        if (algorithm != PivAlgorithm.TripleDes)
        {
            return false;
        }

        var part = new byte[8];
        try
        {
            for (int i = 0; i < 24; i += 8)
            {
                key.Slice(i, 8).CopyTo(part);
                if (IsWeakDesPart(part))
                {
                    return true;
                }
            }

            return false;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(part);
        }
    }

    /// <summary>
    /// Checks a key about to be SET (SET MANAGEMENT KEY): right length, and for 3DES no weak DES part.
    /// Throws <see cref="ArgumentException"/> otherwise. A card should answer 6A80 to such a key.
    /// </summary>
    public static void ValidateNewKey(PivAlgorithm algorithm, ReadOnlySpan<byte> key)
    {
        if (IsWeak(algorithm, key))
        {
            throw new ArgumentException("the 3DES key contains a weak or semi-weak DES key", nameof(key));
        }
    }

    /// <summary>Encrypts one block (8 bytes for 3DES, 16 for AES) with ECB.</summary>
    public static void EncryptBlock(PivAlgorithm algorithm, ReadOnlySpan<byte> key, ReadOnlySpan<byte> block, Span<byte> destination) =>
        Transform(algorithm, key, block, destination, encrypt: true);

    /// <summary>Decrypts one block (8 bytes for 3DES, 16 for AES) with ECB.</summary>
    public static void DecryptBlock(PivAlgorithm algorithm, ReadOnlySpan<byte> key, ReadOnlySpan<byte> block, Span<byte> destination) =>
        Transform(algorithm, key, block, destination, encrypt: false);

    /// <summary>Encrypts one block with ECB into a new array.</summary>
    public static byte[] EncryptBlock(PivAlgorithm algorithm, ReadOnlySpan<byte> key, ReadOnlySpan<byte> block)
    {
        var result = new byte[block.Length];
        EncryptBlock(algorithm, key, block, result);
        return result;
    }

    /// <summary>Decrypts one block with ECB into a new array.</summary>
    public static byte[] DecryptBlock(PivAlgorithm algorithm, ReadOnlySpan<byte> key, ReadOnlySpan<byte> block)
    {
        var result = new byte[block.Length];
        DecryptBlock(algorithm, key, block, result);
        return result;
    }

    [SuppressMessage("Security", "CA5350:Do Not Use Weak Cryptographic Algorithms", Justification = "PIV mandates 3DES management keys (SP 800-78-4).")]
    [SuppressMessage("Security", "CA5351:Do Not Use Broken Cryptographic Primitives", Justification = "A 3DES key with two equal parts is single DES; .NET refuses it as TripleDES.")]
    private static void Transform(PivAlgorithm algorithm, ReadOnlySpan<byte> key, ReadOnlySpan<byte> block, Span<byte> destination, bool encrypt)
    {
        ValidateLength(algorithm, key);
        int blockSize = algorithm.BlockSize();
        if (block.Length != blockSize || destination.Length < blockSize)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"a {algorithm.DisplayName()} block has {blockSize} bytes"), nameof(block));
        }

        if (algorithm != PivAlgorithm.TripleDes)
        {
            using var aes = Aes.Create();
            aes.SetKey(key);
            Run(aes, block, destination, encrypt);
            return;
        }

        // EDE with K1 = K2 collapses to single DES under K3, and with K2 = K3 to single DES under K1. .NET refuses such
        // keys as TripleDES keys ("known weak key"), but the factory key 0102…08 ×3 is exactly that, so run DES.
        var k1 = key[..8];
        var k2 = key[8..16];
        var k3 = key[16..];
        ReadOnlySpan<byte> single = SameIgnoringParity(k1, k2) ? k3 : SameIgnoringParity(k2, k3) ? k1 : default;
        if (single.IsEmpty)
        {
            using var tdes = TripleDES.Create();
            tdes.SetKey(key);
            Run(tdes, block, destination, encrypt);
        }
        else
        {
            using var des = DES.Create();
            des.SetKey(single);
            Run(des, block, destination, encrypt);
        }
    }

    private static void Run(SymmetricAlgorithm cipher, ReadOnlySpan<byte> block, Span<byte> destination, bool encrypt)
    {
        int written = encrypt
            ? cipher.EncryptEcb(block, destination, PaddingMode.None)
            : cipher.DecryptEcb(block, destination, PaddingMode.None);
        if (written != block.Length)
        {
            throw new CryptographicException("block cipher wrote an unexpected length");
        }
    }

    private static bool SameIgnoringParity(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        int difference = 0;
        for (int i = 0; i < a.Length; i++)
        {
            difference |= (a[i] ^ b[i]) & 0xFE;
        }

        return difference == 0;
    }

    [SuppressMessage("Security", "CA5351:Do Not Use Broken Cryptographic Primitives", Justification = "Only the weak-key tables of DES are consulted.")]
    private static bool IsWeakDesPart(byte[] part) => DES.IsWeakKey(part) || DES.IsSemiWeakKey(part);
}
