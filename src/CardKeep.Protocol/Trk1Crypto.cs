using System.Security.Cryptography;
using System.Text;

namespace CardKeep.Protocol;

/// <summary>
/// The primitives of TRK1 (spec §2): HKDF-SHA256 with the <c>Label</c> construction, HMAC-SHA256, AES-256-GCM with a
/// 16-byte tag, P-256 ECDH with 65-byte uncompressed points, and ephemeral keys drawn from injected randomness.
/// </summary>
public static class Trk1Crypto
{
    /// <summary>HMAC and hash length.</summary>
    public const int HashLength = 32;

    /// <summary>AES-GCM nonce length.</summary>
    public const int NonceLength = 12;

    private static readonly byte[] _labelPrefix = "TRK1 "u8.ToArray();

    // Order n of the P-256 group: an ephemeral private scalar must lie in [1, n-1].
    private static readonly byte[] _p256Order = Convert.FromHexString("FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551");

    /// <summary><c>Label(K, lbl, ctx, L) = HKDF-Expand(SHA256, K, L, "TRK1 " ‖ lbl ‖ 0x00 ‖ ctx)</c>.</summary>
    public static byte[] Label(ReadOnlySpan<byte> key, string label, ReadOnlySpan<byte> context, int length)
    {
        ArgumentNullException.ThrowIfNull(label);
        var lbl = Encoding.ASCII.GetBytes(label);
        var info = new byte[_labelPrefix.Length + lbl.Length + 1 + context.Length];
        _labelPrefix.CopyTo(info, 0);
        lbl.CopyTo(info, _labelPrefix.Length);
        context.CopyTo(info.AsSpan(_labelPrefix.Length + lbl.Length + 1));
        var output = new byte[length];
        HKDF.Expand(HashAlgorithmName.SHA256, key, output, info);
        return output;
    }

    /// <summary><c>HKDF-Extract(SHA256, ikm, salt)</c>.</summary>
    public static byte[] Extract(ReadOnlySpan<byte> ikm, ReadOnlySpan<byte> salt)
    {
        var prk = new byte[HashLength];
        HKDF.Extract(HashAlgorithmName.SHA256, ikm, salt, prk);
        return prk;
    }

    /// <summary>HMAC-SHA256.</summary>
    public static byte[] Hmac(ReadOnlySpan<byte> key, ReadOnlySpan<byte> data) => HMACSHA256.HashData(key, data);

    /// <summary>Constant-time equality.</summary>
    public static bool FixedTimeEquals(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b) => CryptographicOperations.FixedTimeEquals(a, b);

    /// <summary>AES-256-GCM: ciphertext ‖ 16-byte tag.</summary>
    public static byte[] Seal(ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> associatedData)
    {
        var output = new byte[plaintext.Length + Trk1Limits.TagLength];
        using var aes = new AesGcm(key, Trk1Limits.TagLength);
        aes.Encrypt(nonce, plaintext, output.AsSpan(0, plaintext.Length), output.AsSpan(plaintext.Length), associatedData);
        return output;
    }

    /// <summary>Opens ciphertext ‖ tag; a bad tag is <see cref="Trk1Failure.Authentication"/>. The caller zeroes the result.</summary>
    public static byte[] Open(ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> sealedData, ReadOnlySpan<byte> associatedData)
    {
        if (sealedData.Length < Trk1Limits.TagLength)
        {
            throw new Trk1Exception(Trk1Failure.Malformed, "sealed field shorter than its tag");
        }

        int length = sealedData.Length - Trk1Limits.TagLength;
        var plaintext = new byte[length];
        try
        {
            using var aes = new AesGcm(key, Trk1Limits.TagLength);
            aes.Decrypt(nonce, sealedData[..length], sealedData[length..], plaintext, associatedData);
            return plaintext;
        }
        catch (CryptographicException)
        {
            CryptographicOperations.ZeroMemory(plaintext);
            throw new Trk1Exception(Trk1Failure.Authentication, "AEAD tag does not verify");
        }
    }

    /// <summary>An ephemeral P-256 key whose private scalar comes from <paramref name="random"/> (so known-answer tests can fix it).</summary>
    public static ECDiffieHellman CreateEphemeral(ITrk1Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        var d = new byte[32];
        try
        {
            while (true)
            {
                random.Fill(d);
                if (d.AsSpan().IndexOfAnyExcept((byte)0) >= 0 && d.AsSpan().SequenceCompareTo(_p256Order) < 0)
                {
                    break;
                }
            }

            var key = ECDiffieHellman.Create();
            key.ImportParameters(new ECParameters { Curve = ECCurve.NamedCurves.nistP256, D = d });
            return key;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(d);
        }
    }

    /// <summary>The 65-byte uncompressed encoding 04 ‖ X ‖ Y of a P-256 public key.</summary>
    public static byte[] EncodePoint(ECDiffieHellman key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var q = key.ExportParameters(false).Q;
        var point = new byte[Trk1Limits.PointLength];
        point[0] = 0x04;
        q.X!.CopyTo(point, 1);
        q.Y!.CopyTo(point, 33);
        return point;
    }

    /// <summary>Imports a peer's 65-byte point; a point not on P-256 (or not uncompressed) is <see cref="Trk1Failure.KeyTransport"/>.</summary>
    public static ECDiffieHellmanPublicKey ImportPoint(ReadOnlySpan<byte> point)
    {
        if (point.Length != Trk1Limits.PointLength || point[0] != 0x04)
        {
            throw new Trk1Exception(Trk1Failure.KeyTransport, "not an uncompressed P-256 point");
        }

        try
        {
            using var key = ECDiffieHellman.Create();
            key.ImportParameters(new ECParameters
            {
                Curve = ECCurve.NamedCurves.nistP256,
                Q = new ECPoint { X = point[1..33].ToArray(), Y = point[33..65].ToArray() },
            });
            return key.PublicKey;
        }
        catch (CryptographicException)
        {
            throw new Trk1Exception(Trk1Failure.KeyTransport, "point is not on the curve");
        }
    }

    /// <summary>Raw ECDH shared secret (32 bytes, the x coordinate). Always fed into HKDF.</summary>
    public static byte[] Agree(ECDiffieHellman own, ECDiffieHellmanPublicKey peer)
    {
        ArgumentNullException.ThrowIfNull(own);
        ArgumentNullException.ThrowIfNull(peer);
        try
        {
            return own.DeriveRawSecretAgreement(peer);
        }
        catch (CryptographicException)
        {
            throw new Trk1Exception(Trk1Failure.KeyTransport, "key agreement failed");
        }
    }

    /// <summary>Concatenates byte spans.</summary>
    public static byte[] Concat(params ReadOnlySpan<byte[]> parts)
    {
        int length = 0;
        foreach (var p in parts)
        {
            length += p.Length;
        }

        var result = new byte[length];
        int offset = 0;
        foreach (var p in parts)
        {
            p.CopyTo(result, offset);
            offset += p.Length;
        }

        return result;
    }

    /// <summary>Zeroes every array given (null ones skipped).</summary>
    public static void Zero(params ReadOnlySpan<byte[]?> arrays)
    {
        foreach (var a in arrays)
        {
            if (a is not null)
            {
                CryptographicOperations.ZeroMemory(a);
            }
        }
    }
}

/// <summary>
/// TH_n: a running SHA-256 over a protocol label ("TRK1-REG" or "TRK1-SES") and every message's bytes so far
/// (IncrementalHash + GetCurrentHash, spec §2).
/// </summary>
public sealed class Transcript : IDisposable
{
    private readonly IncrementalHash _hash;

    private Transcript(IncrementalHash hash)
    {
        _hash = hash;
    }

    /// <summary>A registration transcript: starts with "TRK1-REG".</summary>
    public static Transcript ForRegistration() => Start("TRK1-REG"u8);

    /// <summary>A session transcript: starts with "TRK1-SES".</summary>
    public static Transcript ForSession() => Start("TRK1-SES"u8);

    private static Transcript Start(ReadOnlySpan<byte> label)
    {
        var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(label);
        return new Transcript(hash);
    }

    /// <summary>Appends message bytes.</summary>
    public Transcript Append(ReadOnlySpan<byte> bytes)
    {
        _hash.AppendData(bytes);
        return this;
    }

    /// <summary>The hash of everything appended so far (the transcript goes on).</summary>
    public byte[] Current() => _hash.GetCurrentHash();

    /// <inheritdoc/>
    public void Dispose() => _hash.Dispose();
}
