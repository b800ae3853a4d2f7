using System.Globalization;
using System.Numerics;
using System.Security.Cryptography;
using CardKeep.Cards.Iso7816;

namespace CardKeep.Cards.Piv;

/// <summary>
/// The private-key operations a PIV card performs for GENERAL AUTHENTICATE and GENERATE, on .NET's
/// System.Security.Cryptography only:
/// raw RSA (the host sends the already padded block, for signing and decryption alike) with CRT, blinding and a
/// fault check; ECDSA over a host-computed hash with FIPS 186-4 truncation, answered as DER SEQUENCE{r, s};
/// ECDH returning the raw shared X coordinate; and key-pair generation.
/// Input a card must refuse raises <see cref="PivInvalidInputException"/> (status 6A80).
/// Byte buffers holding key material are zeroed after use; <see cref="BigInteger"/> intermediates are immutable
/// managed objects and cannot be wiped.
/// </summary>
public static class PivCardCrypto
{
    /// <summary>
    /// m = c^d mod n on a block of exactly the modulus length that is numerically below n, computed with the CRT
    /// (p, q, dP, dQ, qInv), blinded by a fresh random r (c·r^e is exponentiated, then multiplied by r⁻¹) and checked
    /// by re-encrypting with e. The result has the modulus length.
    /// </summary>
    public static byte[] RsaPrivateOperation(PivPrivateKey key, ReadOnlySpan<byte> block)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (!key.Algorithm.IsRsa())
        {
            throw new PivInvalidInputException($"slot key is {key.Algorithm.DisplayName()}, not RSA");
        }

        ref readonly var rsa = ref key.Rsa;
        int k = rsa.Modulus!.Length;
        if (block.Length != k)
        {
            throw new PivInvalidInputException(string.Create(CultureInfo.InvariantCulture,
                $"RSA input has {block.Length} bytes; it must have exactly the modulus length {k}"));
        }

        var n = PivBigInteger.FromBigEndian(rsa.Modulus);
        var c = PivBigInteger.FromBigEndian(block);
        if (c >= n)
        {
            throw new PivInvalidInputException("RSA input is not below the modulus");
        }

        var e = PivBigInteger.FromBigEndian(rsa.Exponent);
        var fast = new byte[k];
        if (OpenSslRawRsa.TryPrivate(rsa, block, fast))
        {
            // Our own fault check as well: the result must re-encrypt to the input (cheap with e = 65537).
            if (BigInteger.ModPow(PivBigInteger.FromBigEndian(fast), e, n) != c)
            {
                CryptographicOperations.ZeroMemory(fast);
                throw new CryptographicException("RSA fault check failed: the result does not re-encrypt to the input");
            }

            return fast;
        }

        // Without OpenSSL 3: CRT with blinding in managed code (BigInteger.ModPow is not constant-time; blinding is the defence).
        var p = PivBigInteger.FromBigEndian(rsa.P);
        var q = PivBigInteger.FromBigEndian(rsa.Q);
        var dP = PivBigInteger.FromBigEndian(rsa.DP);
        var dQ = PivBigInteger.FromBigEndian(rsa.DQ);
        var qInv = PivBigInteger.FromBigEndian(rsa.InverseQ);

        BigInteger r, rInverse;
        while (true)
        {
            r = PivBigInteger.RandomBelow(n);
            if (PivBigInteger.ModInverse(r, n) is { } inverse)
            {
                rInverse = inverse;
                break;
            }
        }

        var blinded = c * BigInteger.ModPow(r, e, n) % n;
        var m1 = BigInteger.ModPow(blinded % p, dP, p);
        var m2 = BigInteger.ModPow(blinded % q, dQ, q);
        var h = PivBigInteger.Mod(qInv * (m1 - m2), p);
        var m = (m2 + (h * q)) * rInverse % n;
        if (BigInteger.ModPow(m, e, n) != c)
        {
            throw new CryptographicException("RSA fault check failed: the result does not re-encrypt to the input");
        }

        return PivBigInteger.ToBigEndian(m, k);
    }

    /// <summary>
    /// ECDSA signature over a host-computed hash of any non-empty length. A hash longer than the curve order is
    /// truncated to its leftmost bits (FIPS 186-4 §6.4; done here so the result does not depend on the platform).
    /// Returns DER <c>SEQUENCE { r, s }</c>, the form PIV cards return.
    /// </summary>
    public static byte[] EcdsaSignHash(PivPrivateKey key, ReadOnlySpan<byte> hash)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (!key.Algorithm.IsEcc())
        {
            throw new PivInvalidInputException($"slot key is {key.Algorithm.DisplayName()}, not EC");
        }

        if (hash.IsEmpty)
        {
            throw new PivInvalidInputException("ECDSA input is empty");
        }

        using var ecdsa = key.CreateECDsa();
        var truncated = hash.Length > key.Algorithm.KeyLength() ? hash[..key.Algorithm.KeyLength()] : hash;
        return ecdsa.SignHash(truncated, DSASignatureFormat.Rfc3279DerSequence);
    }

    /// <summary>
    /// ECDH with a peer point <c>04‖X‖Y</c> on the key's curve; returns the shared secret (the X coordinate, field length).
    /// A point of the wrong length or form, or one not on the curve, raises <see cref="PivInvalidInputException"/>.
    /// </summary>
    public static byte[] EcdhSharedSecret(PivPrivateKey key, ReadOnlySpan<byte> peerPoint)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (!key.Algorithm.IsEcc())
        {
            throw new PivInvalidInputException($"slot key is {key.Algorithm.DisplayName()}, not EC");
        }

        var peer = ValidatePoint(key.Algorithm, peerPoint);
        using var ecdh = key.CreateECDiffieHellman();
        using var other = ECDiffieHellman.Create(peer);
        return ecdh.DeriveRawSecretAgreement(other.PublicKey);
    }

    /// <summary>
    /// What GENERAL AUTHENTICATE with a <c>81</c> element does for the slot's key: raw RSA for RSA keys, ECDSA for EC keys.
    /// </summary>
    public static byte[] Authenticate(PivPrivateKey key, ReadOnlySpan<byte> data)
    {
        ArgumentNullException.ThrowIfNull(key);
        return key.Algorithm.IsRsa() ? RsaPrivateOperation(key, data) : EcdsaSignHash(key, data);
    }

    /// <summary>Checks a peer point <c>04‖X‖Y</c>: length, form, coordinates below p and y² = x³ + ax + b. Returns it as .NET parameters.</summary>
    public static ECParameters ValidatePoint(PivAlgorithm algorithm, ReadOnlySpan<byte> point)
    {
        if (!algorithm.IsEcc())
        {
            throw new PivInvalidInputException($"{algorithm.DisplayName()} has no EC points");
        }

        int size = algorithm.KeyLength();
        if (point.Length != 1 + (2 * size) || point[0] != 0x04)
        {
            throw new PivInvalidInputException(string.Create(CultureInfo.InvariantCulture,
                $"peer point must be 04‖X‖Y of {1 + (2 * size)} bytes, got {point.Length} bytes"));
        }

        var x = point.Slice(1, size);
        var y = point.Slice(1 + size, size);
        if (!PivCurves.For(algorithm).IsOnCurve(PivBigInteger.FromBigEndian(x), PivBigInteger.FromBigEndian(y)))
        {
            throw new PivInvalidInputException("peer point is not on the curve");
        }

        return new ECParameters { Curve = algorithm.ToCurve(), Q = new ECPoint { X = x.ToArray(), Y = y.ToArray() } };
    }

    /// <summary>True for the algorithms <see cref="GenerateKeyPair"/> supports: RSA-1024/2048/3072/4096, P-256, P-384.</summary>
    public static bool CanGenerate(PivAlgorithm algorithm) => algorithm.IsRsa() || algorithm.IsEcc();

    /// <summary>
    /// Generates a key pair as GENERATE ASYMMETRIC KEY PAIR does. The result owns the private key and zeroes it on Dispose;
    /// <see cref="PivPrivateKey.ExportPkcs8"/> and <see cref="PivPublicKey.ToSubjectPublicKeyInfo"/> give PKCS#8 and SPKI.
    /// </summary>
    public static PivPrivateKey GenerateKeyPair(PivAlgorithm algorithm)
    {
        if (algorithm.IsRsa())
        {
            using var rsa = RSA.Create(algorithm.KeySizeBits());
            return PivPrivateKey.FromKey(rsa);
        }

        if (algorithm.IsEcc())
        {
            using var ecdsa = ECDsa.Create(algorithm.ToCurve());
            return PivPrivateKey.FromKey(ecdsa);
        }

        throw new PivInvalidInputException($"cannot generate {algorithm.DisplayName()} keys", StatusWord.FunctionNotSupported);
    }
}
