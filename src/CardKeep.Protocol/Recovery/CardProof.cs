using System.Security.Cryptography;
using System.Text;

namespace CardKeep.Protocol.Recovery;

/// <summary>What a card proof is for: part of the signed message, so a proof for one purpose never serves another.</summary>
public static class CardProofPurpose
{
    /// <summary>Account registration (the card becomes the account's active card).</summary>
    public const string Register = "register";

    /// <summary>Card sign-in (bearer token of scope "card").</summary>
    public const string Login = "login";

    /// <summary>A new card proving itself during a replacement or a temporary card.</summary>
    public const string Replace = "replace";

    /// <summary>True for a known purpose.</summary>
    public static bool IsKnown(string? purpose) => purpose is Register or Login or Replace;
}

/// <summary>
/// A card proves it holds the private key of its PIV slot 9A by signing a server nonce. The signed message is
/// domain-separated: <c>"CardKeep card proof v1\n" ‖ purpose ‖ "\n" ‖ user name ‖ "\n" ‖ card serial ‖ "\n" ‖ nonce</c>
/// (UTF-8 text, raw nonce bytes). Hash: SHA-384 for P-384 keys, SHA-256 for P-256 and RSA. Signatures: ECDSA as DER
/// (what a PIV card returns) or IEEE P1363 r‖s; RSA PKCS#1 v1.5. Pure: no I/O.
/// </summary>
public static class CardProof
{
    /// <summary>Nonce length the server issues.</summary>
    public const int NonceBytes = 32;

    private const string Domain = "CardKeep card proof v1\n";

    /// <summary>The message the card signs.</summary>
    public static byte[] Message(string purpose, string username, string cardSerial, ReadOnlySpan<byte> nonce)
    {
        ArgumentNullException.ThrowIfNull(purpose);
        ArgumentNullException.ThrowIfNull(username);
        ArgumentNullException.ThrowIfNull(cardSerial);
        var head = Encoding.UTF8.GetBytes($"{Domain}{purpose}\n{username}\n{cardSerial}\n");
        var message = new byte[head.Length + nonce.Length];
        head.CopyTo(message, 0);
        nonce.CopyTo(message.AsSpan(head.Length));
        return message;
    }

    /// <summary>The hash the signer uses for the key in <paramref name="subjectPublicKeyInfo"/> (throws for an unsupported key).</summary>
    public static HashAlgorithmName HashFor(ReadOnlySpan<byte> subjectPublicKeyInfo)
    {
        var (kind, size) = Describe(subjectPublicKeyInfo);
        return kind == "ec" && size == 384 ? HashAlgorithmName.SHA384 : HashAlgorithmName.SHA256;
    }

    /// <summary>
    /// Checks the key is one a card proof may use (ECDSA P-256/P-384, RSA 2048–4096) and returns a short description
    /// ("ECDSA P-256", "RSA 2048"); false with an error otherwise.
    /// </summary>
    public static bool TryDescribeKey(ReadOnlySpan<byte> subjectPublicKeyInfo, out string description)
    {
        try
        {
            var (kind, size) = Describe(subjectPublicKeyInfo);
            description = kind == "ec" ? $"ECDSA P-{size}" : $"RSA {size}";
            return true;
        }
        catch (CryptographicException)
        {
            description = "the card key must be ECDSA P-256, P-384 or RSA 2048–4096 (DER SubjectPublicKeyInfo)";
            return false;
        }
    }

    /// <summary>True when <paramref name="signature"/> is a valid proof over <see cref="Message"/> by the key. Never throws for bad input.</summary>
    public static bool Verify(ReadOnlySpan<byte> subjectPublicKeyInfo, string purpose, string username, string cardSerial, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> signature)
    {
        byte[] message = Message(purpose, username, cardSerial, nonce);
        try
        {
            var (kind, size) = Describe(subjectPublicKeyInfo);
            if (kind == "rsa")
            {
                using var rsa = RSA.Create();
                rsa.ImportSubjectPublicKeyInfo(subjectPublicKeyInfo, out _);
                return rsa.VerifyData(message, signature, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            }

            using var ecdsa = ECDsa.Create();
            ecdsa.ImportSubjectPublicKeyInfo(subjectPublicKeyInfo, out _);
            var hash = size == 384 ? HashAlgorithmName.SHA384 : HashAlgorithmName.SHA256;
            return ecdsa.VerifyData(message, signature, hash, DSASignatureFormat.Rfc3279DerSequence)
                || ecdsa.VerifyData(message, signature, hash, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        }
        catch (CryptographicException)
        {
            return false;
        }
    }

    private static (string Kind, int Size) Describe(ReadOnlySpan<byte> spki)
    {
        try
        {
            using var ecdsa = ECDsa.Create();
            ecdsa.ImportSubjectPublicKeyInfo(spki, out var read);
            var size = ecdsa.KeySize;
            if (read == spki.Length && size is 256 or 384)
            {
                var oid = ecdsa.ExportParameters(false).Curve.Oid.Value;
                if (oid is "1.2.840.10045.3.1.7" or "1.3.132.0.34")
                {
                    return ("ec", size);
                }
            }
        }
        catch (CryptographicException)
        {
            // not an EC key: try RSA
        }

        using var rsa = RSA.Create();
        rsa.ImportSubjectPublicKeyInfo(spki, out var rsaRead);
        if (rsaRead != spki.Length || rsa.KeySize is < 2048 or > 4096)
        {
            throw new CryptographicException("unsupported card key");
        }

        return ("rsa", rsa.KeySize);
    }
}
