using System.Numerics;
using System.Security.Cryptography;
using CardKeep.Agent.SshAgent;

namespace CardKeep.Agent.Keys;

/// <summary>
/// A private key held by the agent process: RSA and ECDSA in .NET objects, Ed25519 as its 32-byte seed (zeroed on
/// <see cref="Dispose(bool)"/>). Reads and writes the private-key layout of the agent protocol's ADD_IDENTITY, which is
/// also the body of an <c>openssh-key-v1</c> file and what the host key store encrypts.
/// </summary>
public sealed class SoftwareKey : AgentKey
{
    /// <summary>The smallest RSA key the agent accepts from ssh-add or stores.</summary>
    public const int MinRsaBits = 2048;

    private readonly RSA? _rsa;
    private readonly ECDsa? _ecdsa;
    private readonly byte[]? _seed;

    private SoftwareKey(SshPublicKey publicKey, string comment, KeySource source, RSA? rsa, ECDsa? ecdsa, byte[]? seed)
        : base(publicKey, comment)
    {
        Source = source;
        _rsa = rsa;
        _ecdsa = ecdsa;
        _seed = seed;
    }

    public override KeySource Source { get; }

    /// <summary>A new key: RSA (2048, 3072, 4096), ECDSA (256, 384, 521) or Ed25519.</summary>
    public static SoftwareKey Generate(SshKeyType type, int rsaBits, string comment, KeySource source)
    {
        switch (type)
        {
            case SshKeyType.Rsa:
                if (rsaBits is not (2048 or 3072 or 4096))
                {
                    throw new CryptographicException("RSA host keys are 2048, 3072 or 4096 bits");
                }

                var rsa = RSA.Create(rsaBits);
                return FromRsa(rsa, comment, source);
            case SshKeyType.Ed25519:
                var seed = RandomNumberGenerator.GetBytes(Ed25519.SeedLength);
                return new SoftwareKey(SshPublicKey.FromEd25519(Ed25519.PublicKeyFromSeed(seed)), comment, source, null, null, seed);
            default:
                var ecdsa = ECDsa.Create(type.Curve());
                return FromEcdsa(type, ecdsa, comment, source);
        }
    }

    /// <summary>Wraps a .NET RSA key (the key object is owned by the result).</summary>
    public static SoftwareKey FromRsa(RSA rsa, string comment, KeySource source)
    {
        ArgumentNullException.ThrowIfNull(rsa);
        var p = rsa.ExportParameters(false);
        return new SoftwareKey(SshPublicKey.FromRsa(p.Modulus, p.Exponent), comment, source, rsa, null, null);
    }

    /// <summary>Wraps a .NET ECDsa key (the key object is owned by the result).</summary>
    public static SoftwareKey FromEcdsa(SshKeyType type, ECDsa ecdsa, string comment, KeySource source)
    {
        ArgumentNullException.ThrowIfNull(ecdsa);
        var p = ecdsa.ExportParameters(false);
        return new SoftwareKey(SshPublicKey.FromEcPoint(type, [0x04, .. p.Q.X!, .. p.Q.Y!]), comment, source, null, ecdsa, null);
    }

    /// <summary>
    /// Reads <c>string keytype; private fields</c> (draft-miller-ssh-agent §3.2.3-3.2.5; no comment). Inconsistent keys
    /// (n ≠ p·q, a point off the curve, a seed that does not give the stated public key) are refused.
    /// </summary>
    public static SoftwareKey ReadPrivate(ref SshReader reader, string comment, KeySource source)
    {
        string name = reader.ReadAscii();
        var type = SshKeyTypes.FromName(name) ?? throw new SshFormatException($"key type '{name}' is not supported");
        switch (type)
        {
            case SshKeyType.Rsa:
                return ReadRsa(ref reader, comment, source);
            case SshKeyType.Ed25519:
                {
                    var publicKey = reader.ReadString();
                    var secret = reader.ReadString();
                    if (publicKey.Length != Ed25519.PublicKeyLength || secret.Length != 64 || !secret[32..].SequenceEqual(publicKey))
                    {
                        throw new SshFormatException("an Ed25519 private key is A(32) and seed‖A(64)");
                    }

                    var seed = secret[..32].ToArray();
                    var derived = Ed25519.PublicKeyFromSeed(seed);
                    if (!CryptographicOperations.FixedTimeEquals(derived, publicKey))
                    {
                        CryptographicOperations.ZeroMemory(seed);
                        throw new SshFormatException("the Ed25519 seed does not belong to the public key");
                    }

                    return new SoftwareKey(SshPublicKey.FromEd25519(publicKey), comment, source, null, null, seed);
                }

            default:
                {
                    string curve = reader.ReadAscii();
                    if (curve != type.CurveName())
                    {
                        throw new SshFormatException($"an {type.Name()} key names curve '{curve}'");
                    }

                    var point = reader.ReadString();
                    var d = reader.ReadMpintMagnitude();
                    var publicKey = SshPublicKey.FromEcPoint(type, point);
                    int field = type.FieldLength();
                    if (d.IsEmpty || d.Length > field)
                    {
                        throw new SshFormatException("the ECDSA private scalar has the wrong size");
                    }

                    var scalar = new byte[field];
                    d.CopyTo(scalar.AsSpan(field - d.Length));
                    try
                    {
                        var parameters = new ECParameters
                        {
                            Curve = type.Curve(),
                            D = scalar,
                            Q = new ECPoint { X = point.Slice(1, field).ToArray(), Y = point.Slice(1 + field, field).ToArray() },
                        };
                        var ecdsa = ECDsa.Create(parameters);
                        return new SoftwareKey(publicKey, comment, source, null, ecdsa, null);
                    }
                    catch (CryptographicException e)
                    {
                        throw new SshFormatException("the ECDSA private key does not match its public point", e);
                    }
                    finally
                    {
                        CryptographicOperations.ZeroMemory(scalar);
                    }
                }
        }
    }

    private static SoftwareKey ReadRsa(ref SshReader reader, string comment, KeySource source)
    {
        var n = reader.ReadMpintMagnitude();
        var e = reader.ReadMpintMagnitude();
        var d = reader.ReadMpintMagnitude();
        var iqmp = reader.ReadMpintMagnitude();
        var p = reader.ReadMpintMagnitude();
        var q = reader.ReadMpintMagnitude();
        var publicKey = SshPublicKey.FromRsa(n, e);
        if (publicKey.Bits < MinRsaBits)
        {
            throw new SshFormatException($"RSA keys held by the agent need at least {MinRsaBits} bits");
        }

        int half = (n.Length + 1) / 2;
        if (p.Length > half || q.Length > half || d.Length > n.Length || iqmp.Length > half || p.IsEmpty || q.IsEmpty || d.IsEmpty)
        {
            throw new SshFormatException("the RSA private fields do not fit the modulus");
        }

        var bn = new BigInteger(n, isUnsigned: true, isBigEndian: true);
        var be = new BigInteger(e, isUnsigned: true, isBigEndian: true);
        var bd = new BigInteger(d, isUnsigned: true, isBigEndian: true);
        var bp = new BigInteger(p, isUnsigned: true, isBigEndian: true);
        var bq = new BigInteger(q, isUnsigned: true, isBigEndian: true);
        var biqmp = new BigInteger(iqmp, isUnsigned: true, isBigEndian: true);
        if (bp * bq != bn || bp <= 1 || bq <= 1 || (biqmp * bq % bp) != 1
            || (bd * be % (bp - 1)) != 1 || (bd * be % (bq - 1)) != 1)
        {
            throw new SshFormatException("the RSA private key is inconsistent (n, e, d, p, q, iqmp)");
        }

        var parameters = new RSAParameters
        {
            Modulus = publicKey.Modulus.ToArray(),
            Exponent = publicKey.Exponent.ToArray(),
            D = Fixed(bd, n.Length),
            P = Fixed(bp, half),
            Q = Fixed(bq, half),
            DP = Fixed(bd % (bp - 1), half),
            DQ = Fixed(bd % (bq - 1), half),
            InverseQ = Fixed(biqmp, half),
        };
        try
        {
            return new SoftwareKey(publicKey, comment, source, RSA.Create(parameters), null, null);
        }
        catch (CryptographicException ex)
        {
            throw new SshFormatException("the RSA private key was refused by the crypto library", ex);
        }
        finally
        {
            Wipe(parameters);
        }
    }

    /// <summary>Writes <c>string keytype; private fields</c>, the inverse of <see cref="ReadPrivate"/>. Dispose the writer to zero it.</summary>
    public void WritePrivate(SshWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        var type = PublicKey.Type;
        writer.WriteString(type.Name());
        if (_rsa is not null)
        {
            var p = _rsa.ExportParameters(true);
            try
            {
                writer.WriteMpint(p.Modulus).WriteMpint(p.Exponent).WriteMpint(p.D).WriteMpint(p.InverseQ).WriteMpint(p.P).WriteMpint(p.Q);
            }
            finally
            {
                Wipe(p);
            }
        }
        else if (_ecdsa is not null)
        {
            var p = _ecdsa.ExportParameters(true);
            try
            {
                writer.WriteString(type.CurveName()).WriteString(PublicKey.Point.Span).WriteMpint(p.D);
            }
            finally
            {
                CryptographicOperations.ZeroMemory(p.D);
            }
        }
        else
        {
            var secret = new byte[64];
            _seed!.CopyTo(secret, 0);
            PublicKey.Point.Span.CopyTo(secret.AsSpan(32));
            writer.WriteString(PublicKey.Point.Span).WriteString(secret);
            CryptographicOperations.ZeroMemory(secret);
        }
    }

    /// <summary>The same key with another comment and source (for persisting an added key); shares nothing mutable.</summary>
    public SoftwareKey Copy(string comment, KeySource source)
    {
        using var writer = new SshWriter(1024);
        WritePrivate(writer);
        var reader = new SshReader(writer.AsSpan());
        return ReadPrivate(ref reader, comment, source);
    }

    public override byte[] SignData(ReadOnlySpan<byte> data, HashAlgorithmName hash)
    {
        if (_rsa is not null)
        {
            return _rsa.SignData(data, hash, RSASignaturePadding.Pkcs1);
        }

        if (_ecdsa is not null)
        {
            return _ecdsa.SignData(data, hash, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        }

        return Ed25519.Sign(_seed, data);
    }

    public override byte[] Decrypt(ReadOnlySpan<byte> ciphertext, RSAEncryptionPadding padding) =>
        _rsa?.Decrypt(ciphertext.ToArray(), padding) ?? throw Unsupported("decryption needs an RSA key");

    public override byte[] KeyAgreement(ReadOnlySpan<byte> peerPoint)
    {
        if (_ecdsa is null)
        {
            throw Unsupported("key agreement needs an ECDSA (NIST curve) key");
        }

        var type = PublicKey.Type;
        var peer = SshPublicKey.FromEcPoint(type, peerPoint);
        var mine = _ecdsa.ExportParameters(true);
        try
        {
            using var ecdh = ECDiffieHellman.Create(mine);
            using var other = ECDiffieHellman.Create(new ECParameters
            {
                Curve = type.Curve(),
                Q = new ECPoint { X = peer.Point.Span.Slice(1, type.FieldLength()).ToArray(), Y = peer.Point.Span[(1 + type.FieldLength())..].ToArray() },
            });
            return ecdh.DeriveRawSecretAgreement(other.PublicKey);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(mine.D);
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _rsa?.Dispose();
            _ecdsa?.Dispose();
            CryptographicOperations.ZeroMemory(_seed);
        }

        base.Dispose(disposing);
    }

    private static byte[] Fixed(BigInteger value, int length)
    {
        var bytes = value.ToByteArray(isUnsigned: true, isBigEndian: true);
        if (bytes.Length == length)
        {
            return bytes;
        }

        if (bytes.Length > length)
        {
            throw new SshFormatException("an RSA private field is longer than its slot");
        }

        var padded = new byte[length];
        bytes.CopyTo(padded, length - bytes.Length);
        CryptographicOperations.ZeroMemory(bytes);
        return padded;
    }

    private static void Wipe(RSAParameters p)
    {
        foreach (var part in new[] { p.D, p.P, p.Q, p.DP, p.DQ, p.InverseQ })
        {
            CryptographicOperations.ZeroMemory(part);
        }
    }
}
