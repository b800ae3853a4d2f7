using System.Globalization;
using System.Security.Cryptography;
using CardKeep.Agent.Keys;
using CardKeep.Cards.Piv;

namespace CardKeep.Agent.SshAgent;

/// <summary>The key types the agent handles, with their SSH names.</summary>
public enum SshKeyType
{
    Rsa,
    EcdsaP256,
    EcdsaP384,
    EcdsaP521,
    Ed25519,
}

/// <summary>SSH names and hash choices for each <see cref="SshKeyType"/>.</summary>
public static class SshKeyTypes
{
    public const string RsaName = "ssh-rsa";
    public const string Ed25519Name = "ssh-ed25519";
    public const string RsaSha256 = "rsa-sha2-256";
    public const string RsaSha512 = "rsa-sha2-512";

    public static string Name(this SshKeyType type) => type switch
    {
        SshKeyType.Rsa => RsaName,
        SshKeyType.EcdsaP256 => "ecdsa-sha2-nistp256",
        SshKeyType.EcdsaP384 => "ecdsa-sha2-nistp384",
        SshKeyType.EcdsaP521 => "ecdsa-sha2-nistp521",
        SshKeyType.Ed25519 => Ed25519Name,
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    public static SshKeyType? FromName(string name) => name switch
    {
        RsaName => SshKeyType.Rsa,
        "ecdsa-sha2-nistp256" => SshKeyType.EcdsaP256,
        "ecdsa-sha2-nistp384" => SshKeyType.EcdsaP384,
        "ecdsa-sha2-nistp521" => SshKeyType.EcdsaP521,
        Ed25519Name => SshKeyType.Ed25519,
        _ => null,
    };

    public static bool IsEcdsa(this SshKeyType type) => type is SshKeyType.EcdsaP256 or SshKeyType.EcdsaP384 or SshKeyType.EcdsaP521;

    /// <summary>The curve identifier inside an ECDSA blob (RFC 5656 §6.1).</summary>
    public static string CurveName(this SshKeyType type) => type switch
    {
        SshKeyType.EcdsaP256 => "nistp256",
        SshKeyType.EcdsaP384 => "nistp384",
        SshKeyType.EcdsaP521 => "nistp521",
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "not an ECDSA key type"),
    };

    public static ECCurve Curve(this SshKeyType type) => type switch
    {
        SshKeyType.EcdsaP256 => ECCurve.NamedCurves.nistP256,
        SshKeyType.EcdsaP384 => ECCurve.NamedCurves.nistP384,
        SshKeyType.EcdsaP521 => ECCurve.NamedCurves.nistP521,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "not an ECDSA key type"),
    };

    /// <summary>Coordinate length in bytes of an ECDSA curve.</summary>
    public static int FieldLength(this SshKeyType type) => type switch
    {
        SshKeyType.EcdsaP256 => 32,
        SshKeyType.EcdsaP384 => 48,
        SshKeyType.EcdsaP521 => 66,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "not an ECDSA key type"),
    };

    /// <summary>The hash RFC 5656 §6.2.1 pairs with the curve.</summary>
    public static HashAlgorithmName EcdsaHash(this SshKeyType type) => type switch
    {
        SshKeyType.EcdsaP256 => HashAlgorithmName.SHA256,
        SshKeyType.EcdsaP384 => HashAlgorithmName.SHA384,
        SshKeyType.EcdsaP521 => HashAlgorithmName.SHA512,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "not an ECDSA key type"),
    };

    /// <summary>The signature algorithm an RSA key answers with for the sign flags: 256 wins over 512, none means SHA-1.</summary>
    public static string RsaAlgorithmForFlags(uint flags) =>
        (flags & AgentProtocol.FlagRsaSha256) != 0 ? RsaSha256 : (flags & AgentProtocol.FlagRsaSha512) != 0 ? RsaSha512 : RsaName;

    public static HashAlgorithmName RsaHash(string algorithm) => algorithm switch
    {
        RsaName => HashAlgorithmName.SHA1,
        RsaSha256 => HashAlgorithmName.SHA256,
        RsaSha512 => HashAlgorithmName.SHA512,
        _ => throw new SshFormatException($"'{algorithm}' is not an RSA signature algorithm"),
    };
}

/// <summary>
/// A public key in SSH wire form (RFC 4253 §6.6, RFC 5656 §3.1, RFC 8709 §4): parsed from and kept as its blob, which is
/// also its identity in the agent protocol. Verifies SSH signatures (used for session-bind and the local API).
/// </summary>
public sealed class SshPublicKey : IEquatable<SshPublicKey>
{
    /// <summary>RSA keys below this size are refused, as OpenSSH 9.2 does; keys the agent holds must have 2048 bits (<see cref="Keys.SoftwareKey"/>).</summary>
    public const int MinRsaBits = 1024;

    private readonly byte[] _blob;

    private SshPublicKey(SshKeyType type, byte[] blob, byte[] modulus, byte[] exponent, byte[] point)
    {
        Type = type;
        _blob = blob;
        Modulus = modulus;
        Exponent = exponent;
        Point = point;
    }

    public SshKeyType Type { get; }

    public ReadOnlyMemory<byte> Blob => _blob;

    /// <summary>RSA modulus without leading zeros (empty otherwise).</summary>
    public ReadOnlyMemory<byte> Modulus { get; }

    /// <summary>RSA public exponent without leading zeros (empty otherwise).</summary>
    public ReadOnlyMemory<byte> Exponent { get; }

    /// <summary>ECDSA point 04‖X‖Y, or the 32-byte Ed25519 key (empty for RSA).</summary>
    public ReadOnlyMemory<byte> Point { get; }

    /// <summary>Size in bits: the modulus for RSA, the curve for ECDSA, 256 for Ed25519.</summary>
    public int Bits => Type switch
    {
        SshKeyType.Rsa => RsaBits(Modulus.Span),
        SshKeyType.EcdsaP256 => 256,
        SshKeyType.EcdsaP384 => 384,
        SshKeyType.EcdsaP521 => 521,
        _ => 256,
    };

    /// <summary><c>SHA256:</c> and the unpadded base64 of the blob's SHA-256, as <c>ssh-keygen -l</c> prints it.</summary>
    public string Fingerprint => "SHA256:" + Convert.ToBase64String(SHA256.HashData(_blob)).TrimEnd('=');

    public static SshPublicKey Parse(ReadOnlySpan<byte> blob)
    {
        var reader = new SshReader(blob);
        var key = Read(ref reader);
        reader.ThrowIfNotEmpty("public key blob");
        return key;
    }

    /// <summary>Reads the public part of a key whose type name was already read (the layout ADD_IDENTITY also starts with).</summary>
    internal static SshPublicKey ReadBody(SshKeyType type, ref SshReader reader)
    {
        switch (type)
        {
            case SshKeyType.Rsa:
                {
                    var e = reader.ReadMpintMagnitude();
                    var n = reader.ReadMpintMagnitude();
                    return FromRsa(n, e);
                }

            case SshKeyType.Ed25519:
                return FromEd25519(reader.ReadString());
            default:
                {
                    string curve = reader.ReadAscii();
                    if (curve != type.CurveName())
                    {
                        throw new SshFormatException($"an {type.Name()} key names curve '{curve}'");
                    }

                    return FromEcPoint(type, reader.ReadString());
                }
        }
    }

    private static SshPublicKey Read(ref SshReader reader)
    {
        string name = reader.ReadAscii();
        var type = SshKeyTypes.FromName(name) ?? throw new SshFormatException($"key type '{name}' is not supported");
        return ReadBody(type, ref reader);
    }

    public static SshPublicKey FromRsa(ReadOnlySpan<byte> modulus, ReadOnlySpan<byte> exponent)
    {
        var n = TrimZeros(modulus);
        var e = TrimZeros(exponent);
        if (e.IsEmpty || n.IsEmpty || (e[^1] & 1) == 0 || (n[^1] & 1) == 0)
        {
            throw new SshFormatException("an RSA key needs an odd modulus and an odd exponent");
        }

        int bits = RsaBits(n);
        if (bits < MinRsaBits || bits > 16384)
        {
            throw new SshFormatException(string.Create(CultureInfo.InvariantCulture, $"RSA-{bits} is outside the accepted sizes ({MinRsaBits} to 16384 bits)"));
        }

        if (e.Length > 8)
        {
            throw new SshFormatException("the RSA public exponent is too large");
        }

        using var writer = new SshWriter(n.Length + e.Length + 32);
        writer.WriteString(SshKeyTypes.RsaName).WriteMpint(e).WriteMpint(n);
        return new SshPublicKey(SshKeyType.Rsa, writer.ToArray(), n.ToArray(), e.ToArray(), []);
    }

    public static SshPublicKey FromEcPoint(SshKeyType type, ReadOnlySpan<byte> point)
    {
        int field = type.FieldLength();
        if (point.Length != 1 + (2 * field) || point[0] != 0x04)
        {
            throw new SshFormatException($"an {type.Name()} point must be uncompressed 04‖X‖Y");
        }

        // Refuse points that are not on the curve (ImportParameters validates them).
        try
        {
            using var ecdsa = ECDsa.Create(new ECParameters
            {
                Curve = type.Curve(),
                Q = new ECPoint { X = point.Slice(1, field).ToArray(), Y = point.Slice(1 + field, field).ToArray() },
            });
        }
        catch (CryptographicException e)
        {
            throw new SshFormatException($"the {type.Name()} point is not on the curve", e);
        }

        using var writer = new SshWriter(point.Length + 64);
        writer.WriteString(type.Name()).WriteString(type.CurveName()).WriteString(point);
        return new SshPublicKey(type, writer.ToArray(), [], [], point.ToArray());
    }

    public static SshPublicKey FromEd25519(ReadOnlySpan<byte> publicKey)
    {
        if (publicKey.Length != Ed25519.PublicKeyLength)
        {
            throw new SshFormatException("an Ed25519 public key has 32 bytes");
        }

        using var writer = new SshWriter(64);
        writer.WriteString(SshKeyTypes.Ed25519Name).WriteString(publicKey);
        return new SshPublicKey(SshKeyType.Ed25519, writer.ToArray(), [], [], publicKey.ToArray());
    }

    /// <summary>The SSH form of a PIV public key (RSA, P-256, P-384).</summary>
    public static SshPublicKey FromPiv(PivPublicKey key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (key.Algorithm.IsRsa())
        {
            return FromRsa(key.Modulus.Span, key.Exponent.Span);
        }

        return key.Algorithm switch
        {
            PivAlgorithm.EccP256 => FromEcPoint(SshKeyType.EcdsaP256, key.Point.Span),
            PivAlgorithm.EccP384 => FromEcPoint(SshKeyType.EcdsaP384, key.Point.Span),
            _ => throw new SshFormatException($"PIV {key.Algorithm.DisplayName()} keys have no SSH form here"),
        };
    }

    /// <summary>The SSH form of a DER SubjectPublicKeyInfo (RSA, EC P-256/384/521, Ed25519).</summary>
    public static SshPublicKey FromSubjectPublicKeyInfo(ReadOnlySpan<byte> spki)
    {
        try
        {
            var key = PivPublicKey.FromSubjectPublicKeyInfo(spki);
            return key.Algorithm == PivAlgorithm.Ed25519 ? FromEd25519(key.Point.Span) : FromPiv(key);
        }
        catch (CryptographicException)
        {
            // P-521 is not a PIV curve; .NET reads it.
            using var ecdsa = ECDsa.Create();
            ecdsa.ImportSubjectPublicKeyInfo(spki, out _);
            var p = ecdsa.ExportParameters(false);
            return FromEcPoint(SshKeyType.EcdsaP521, [0x04, .. p.Q.X!, .. p.Q.Y!]);
        }
    }

    /// <summary>Parses an <c>authorized_keys</c>-style line: <c>type base64 [comment]</c>.</summary>
    public static SshPublicKey ParseAuthorizedKey(string line, out string comment)
    {
        ArgumentNullException.ThrowIfNull(line);
        var parts = line.Trim().Split(' ', 3, StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length < 2)
        {
            throw new SshFormatException("an OpenSSH public key line is 'type base64 [comment]'");
        }

        byte[] blob;
        try
        {
            blob = Convert.FromBase64String(parts[1]);
        }
        catch (FormatException e)
        {
            throw new SshFormatException("the key in the public key line is not base64", e);
        }

        var key = Parse(blob);
        if (key.Type.Name() != parts[0])
        {
            throw new SshFormatException($"the line says '{parts[0]}' but holds an {key.Type.Name()} key");
        }

        comment = parts.Length > 2 ? parts[2] : string.Empty;
        return key;
    }

    /// <summary>The key as an <c>authorized_keys</c> / <c>.pub</c> line.</summary>
    public string ToAuthorizedKey(string? comment = null) =>
        $"{Type.Name()} {Convert.ToBase64String(_blob)}{(string.IsNullOrEmpty(comment) ? string.Empty : " " + comment)}";

    /// <summary>The key as DER SubjectPublicKeyInfo.</summary>
    public byte[] ToSubjectPublicKeyInfo()
    {
        switch (Type)
        {
            case SshKeyType.Rsa:
                using (var rsa = RSA.Create(new RSAParameters { Modulus = Modulus.ToArray(), Exponent = Exponent.ToArray() }))
                {
                    return rsa.ExportSubjectPublicKeyInfo();
                }

            case SshKeyType.Ed25519:
                return PivPublicKey.FromPoint(PivAlgorithm.Ed25519, Point.Span).ToSubjectPublicKeyInfo();
            default:
                using (var ecdsa = CreateEcdsa())
                {
                    return ecdsa.ExportSubjectPublicKeyInfo();
                }
        }
    }

    /// <summary>Checks an SSH signature blob (<c>string alg; string sig</c>) over <paramref name="data"/>.</summary>
    public bool Verify(ReadOnlySpan<byte> data, ReadOnlySpan<byte> signatureBlob)
    {
        try
        {
            var reader = new SshReader(signatureBlob);
            string algorithm = reader.ReadAscii();
            var signature = reader.ReadString();
            reader.ThrowIfNotEmpty("signature");
            return VerifyRaw(algorithm, data, signature);
        }
        catch (SshFormatException)
        {
            return false;
        }
        catch (CryptographicException)
        {
            return false;
        }
    }

    private bool VerifyRaw(string algorithm, ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature)
    {
        switch (Type)
        {
            case SshKeyType.Rsa:
                {
                    var hash = SshKeyTypes.RsaHash(algorithm);
                    int length = Modulus.Length;
                    if (signature.Length > length)
                    {
                        return false;
                    }

                    // RFC 8332 §3: a verifier accepts a signature shorter than the modulus; pad it.
                    var padded = new byte[length];
                    signature.CopyTo(padded.AsSpan(length - signature.Length));
                    using var rsa = RSA.Create(new RSAParameters { Modulus = Modulus.ToArray(), Exponent = Exponent.ToArray() });
                    return rsa.VerifyData(data, padded, hash, RSASignaturePadding.Pkcs1);
                }

            case SshKeyType.Ed25519:
                return algorithm == SshKeyTypes.Ed25519Name && Ed25519.Verify(Point.Span, data, signature);
            default:
                {
                    if (algorithm != Type.Name())
                    {
                        return false;
                    }

                    var p1363 = SshSignature.EcdsaSshToP1363(signature, Type.FieldLength());
                    using var ecdsa = CreateEcdsa();
                    return ecdsa.VerifyData(data, p1363, Type.EcdsaHash());
                }
        }
    }

    internal ECDsa CreateEcdsa()
    {
        int field = Type.FieldLength();
        var point = Point.Span;
        return ECDsa.Create(new ECParameters
        {
            Curve = Type.Curve(),
            Q = new ECPoint { X = point.Slice(1, field).ToArray(), Y = point.Slice(1 + field, field).ToArray() },
        });
    }

    public bool Equals(SshPublicKey? other) => other is not null && _blob.AsSpan().SequenceEqual(other._blob);

    public override bool Equals(object? obj) => obj is SshPublicKey other && Equals(other);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.AddBytes(_blob);
        return hash.ToHashCode();
    }

    public override string ToString() => $"{Type.Name()} {Fingerprint}";

    private static int RsaBits(ReadOnlySpan<byte> n) => n.IsEmpty ? 0 : ((n.Length - 1) * 8) + (32 - System.Numerics.BitOperations.LeadingZeroCount((uint)n[0]));

    private static ReadOnlySpan<byte> TrimZeros(ReadOnlySpan<byte> value)
    {
        int i = 0;
        while (i < value.Length && value[i] == 0)
        {
            i++;
        }

        return value[i..];
    }
}
