using System.Formats.Asn1;
using System.Globalization;
using System.Security.Cryptography;

namespace CardKeep.Cards.Piv;

/// <summary>
/// PKCS#1 v1.5 (RFC 8017 §9.2, §7.2) block formatting for the host side of a PIV card, which only does raw RSA:
/// the signature block <c>00 01 FF… 00 DigestInfo</c> to send for signing, and removal of the encryption padding
/// <c>00 02 PS 00 M</c> from what a decryption returns.
/// </summary>
public static class PivRsaPadding
{
    /// <summary>DER DigestInfo for a hash made with SHA-1, SHA-256, SHA-384 or SHA-512.</summary>
    public static byte[] DigestInfo(ReadOnlySpan<byte> hash, HashAlgorithmName hashAlgorithm)
    {
        (string oid, int length) = hashAlgorithm.Name switch
        {
            "SHA1" => ("1.3.14.3.2.26", 20),
            "SHA256" => ("2.16.840.1.101.3.4.2.1", 32),
            "SHA384" => ("2.16.840.1.101.3.4.2.2", 48),
            "SHA512" => ("2.16.840.1.101.3.4.2.3", 64),
            _ => throw new ArgumentException($"hash algorithm {hashAlgorithm.Name} is not supported", nameof(hashAlgorithm)),
        };
        if (hash.Length != length)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"a {hashAlgorithm.Name} hash has {length} bytes, got {hash.Length}"), nameof(hash));
        }

        var writer = new AsnWriter(AsnEncodingRules.DER);
        using (writer.PushSequence())
        {
            using (writer.PushSequence())
            {
                writer.WriteObjectIdentifier(oid);
                writer.WriteNull();
            }

            writer.WriteOctetString(hash);
        }

        return writer.Encode();
    }

    /// <summary>The signature block <c>00 01 FF…FF 00 DigestInfo</c> of exactly <paramref name="modulusLength"/> bytes.</summary>
    public static byte[] PadSignature(ReadOnlySpan<byte> hash, HashAlgorithmName hashAlgorithm, int modulusLength)
    {
        var digestInfo = DigestInfo(hash, hashAlgorithm);
        if (digestInfo.Length + 11 > modulusLength)
        {
            throw new ArgumentException("the modulus is too short for this DigestInfo", nameof(modulusLength));
        }

        var block = new byte[modulusLength];
        block[1] = 0x01;
        block.AsSpan(2, modulusLength - digestInfo.Length - 3).Fill(0xFF);
        digestInfo.CopyTo(block, modulusLength - digestInfo.Length);
        return block;
    }

    /// <summary>
    /// The message inside a decrypted encryption block <c>00 02 PS(≥ 8 non-zero bytes) 00 M</c>.
    /// Raises <see cref="CryptographicException"/> when the block is not well formed.
    /// </summary>
    public static byte[] UnpadEncryption(ReadOnlySpan<byte> block)
    {
        int separator = block.Length > 2 ? block[2..].IndexOf((byte)0) : -1;
        if (block.Length < 11 || block[0] != 0x00 || block[1] != 0x02 || separator < 8)
        {
            throw new CryptographicException("the decrypted block is not PKCS#1 v1.5 encryption padding");
        }

        return block[(separator + 3)..].ToArray();
    }
}
