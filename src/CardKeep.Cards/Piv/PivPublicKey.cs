using System.Formats.Asn1;
using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CardKeep.Cards.Iso7816;

namespace CardKeep.Cards.Piv;

/// <summary>
/// A public key in the PIV form (SP 800-73-4 Part 2 Table 11): template <c>7F49</c> holding <c>81 modulus 82 exponent</c>
/// for RSA or <c>86 point</c> for EC (uncompressed <c>04‖X‖Y</c>) and Curve25519 (32 raw bytes).
/// <see cref="Encode"/> produces exactly the layout libykpiv parses at fixed offsets:
/// P-256 <c>7F 49 43 86 41 04…</c>, P-384 <c>7F 49 63 86 61 04…</c>,
/// RSA-2048 <c>7F 49 82 01 09 81 82 01 00 &lt;n&gt; 82 03 01 00 01</c> (modulus at full length, exponent minimal).
/// Converts to and from .NET keys and DER SubjectPublicKeyInfo.
/// </summary>
public sealed class PivPublicKey
{
    /// <summary>Tag of the public key template.</summary>
    public const uint TemplateTag = 0x7F49;

    private const byte TagModulus = 0x81;
    private const byte TagExponent = 0x82;
    private const byte TagPoint = 0x86;
    private const string OidRsa = "1.2.840.113549.1.1.1";
    private const string OidEcPublicKey = "1.2.840.10045.2.1";
    private const string OidEd25519 = "1.3.101.112";
    private const string OidX25519 = "1.3.101.110";

    private readonly byte[] _modulus;
    private readonly byte[] _exponent;
    private readonly byte[] _point;

    private PivPublicKey(PivAlgorithm algorithm, byte[] modulus, byte[] exponent, byte[] point)
    {
        Algorithm = algorithm;
        _modulus = modulus;
        _exponent = exponent;
        _point = point;
    }

    /// <summary>The key's algorithm.</summary>
    public PivAlgorithm Algorithm { get; }

    /// <summary>RSA modulus, big-endian, exactly the key length (no leading zero); empty for EC.</summary>
    public ReadOnlyMemory<byte> Modulus => _modulus;

    /// <summary>RSA public exponent, big-endian, minimal; empty for EC.</summary>
    public ReadOnlyMemory<byte> Exponent => _exponent;

    /// <summary>EC point <c>04‖X‖Y</c>, or the 32-byte Curve25519 key; empty for RSA.</summary>
    public ReadOnlyMemory<byte> Point => _point;

    /// <summary>An RSA key from modulus and exponent (leading zero bytes are dropped).</summary>
    public static PivPublicKey FromRsa(ReadOnlySpan<byte> modulus, ReadOnlySpan<byte> exponent)
    {
        var n = TrimLeadingZeros(modulus);
        var e = TrimLeadingZeros(exponent);
        if (e.IsEmpty)
        {
            throw new CryptographicException("the RSA public exponent is zero or missing");
        }

        var algorithm = PivAlgorithmExtensions.RsaForKeySize(n.Length * 8);
        if ((n[0] & 0x80) == 0)
        {
            throw new CryptographicException(string.Create(CultureInfo.InvariantCulture, $"the RSA modulus has fewer than {n.Length * 8} bits"));
        }

        return new PivPublicKey(algorithm, n.ToArray(), e.ToArray(), []);
    }

    /// <summary>An EC (04‖X‖Y) or Curve25519 (32 bytes) key for <paramref name="algorithm"/>.</summary>
    public static PivPublicKey FromPoint(PivAlgorithm algorithm, ReadOnlySpan<byte> point)
    {
        if (algorithm.IsEcc())
        {
            int expected = 1 + (2 * algorithm.KeyLength());
            if (point.Length != expected || point[0] != 0x04)
            {
                throw new CryptographicException(string.Create(CultureInfo.InvariantCulture,
                    $"a {algorithm.DisplayName()} point is 04‖X‖Y of {expected} bytes, got {point.Length} bytes"));
            }
        }
        else if (algorithm.IsCurve25519())
        {
            if (point.Length != 32)
            {
                throw new CryptographicException(string.Create(CultureInfo.InvariantCulture, $"a {algorithm.DisplayName()} key has 32 bytes, got {point.Length}"));
            }
        }
        else
        {
            throw new ArgumentOutOfRangeException(nameof(algorithm), algorithm, "not an EC algorithm");
        }

        return new PivPublicKey(algorithm, [], [], point.ToArray());
    }

    /// <summary>The public part of .NET RSA parameters.</summary>
    public static PivPublicKey FromRsaParameters(in RSAParameters parameters)
    {
        if (parameters.Modulus is null || parameters.Exponent is null)
        {
            throw new CryptographicException("the RSA parameters lack modulus or exponent");
        }

        return FromRsa(parameters.Modulus, parameters.Exponent);
    }

    /// <summary>The public point of .NET EC parameters on P-256 or P-384.</summary>
    public static PivPublicKey FromECParameters(in ECParameters parameters)
    {
        var algorithm = PivAlgorithmExtensions.EccForCurve(parameters.Curve);
        if (parameters.Q.X is null || parameters.Q.Y is null)
        {
            throw new CryptographicException("the EC parameters lack the public point");
        }

        return FromPoint(algorithm, [0x04, .. parameters.Q.X, .. parameters.Q.Y]);
    }

    /// <summary>The public key of a .NET RSA, ECDsa or ECDiffieHellman object.</summary>
    public static PivPublicKey FromKey(AsymmetricAlgorithm key) => key switch
    {
        RSA rsa => FromRsaParameters(rsa.ExportParameters(false)),
        ECDsa ecdsa => FromECParameters(ecdsa.ExportParameters(false)),
        ECDiffieHellman ecdh => FromECParameters(ecdh.ExportParameters(false)),
        null => throw new ArgumentNullException(nameof(key)),
        _ => throw new ArgumentException($"{key.GetType().Name} is not an RSA or EC key", nameof(key)),
    };

    /// <summary>Reads a DER SubjectPublicKeyInfo: RSA, EC on P-256/P-384, Ed25519 or X25519.</summary>
    public static PivPublicKey FromSubjectPublicKeyInfo(ReadOnlySpan<byte> subjectPublicKeyInfo)
    {
        string oid;
        byte[] bits;
        try
        {
            var reader = new AsnReader(subjectPublicKeyInfo.ToArray(), AsnEncodingRules.DER);
            var spki = reader.ReadSequence();
            reader.ThrowIfNotEmpty();
            var algorithm = spki.ReadSequence();
            oid = algorithm.ReadObjectIdentifier();
            bits = spki.ReadBitString(out int unused);
            spki.ThrowIfNotEmpty();
            if (unused != 0)
            {
                throw new CryptographicException("the public key BIT STRING has unused bits");
            }
        }
        catch (AsnContentException e)
        {
            throw new CryptographicException("not a DER SubjectPublicKeyInfo", e);
        }

        switch (oid)
        {
            case OidRsa:
                using (var rsa = RSA.Create())
                {
                    rsa.ImportSubjectPublicKeyInfo(subjectPublicKeyInfo, out _);
                    return FromKey(rsa);
                }

            case OidEcPublicKey:
                using (var ecdsa = ECDsa.Create())
                {
                    ecdsa.ImportSubjectPublicKeyInfo(subjectPublicKeyInfo, out _);
                    return FromKey(ecdsa);
                }

            case OidEd25519:
                return FromPoint(PivAlgorithm.Ed25519, bits);
            case OidX25519:
                return FromPoint(PivAlgorithm.X25519, bits);
            default:
                throw new CryptographicException($"public key algorithm {oid} is not supported by PIV");
        }
    }

    /// <summary>The full template <c>7F49 L {…}</c>.</summary>
    public byte[] Encode() => BerTlv.Encode(TemplateTag, EncodeContent());

    /// <summary>The template's content without 7F49 (<c>81 n 82 e</c> or <c>86 point</c>), as in metadata tag 04.</summary>
    public byte[] EncodeContent() => Algorithm.IsRsa()
        ? [.. BerTlv.Encode(TagModulus, _modulus), .. BerTlv.Encode(TagExponent, _exponent)]
        : BerTlv.Encode(TagPoint, _point);

    /// <summary>
    /// Parses a <c>7F49</c> template. <paramref name="algorithm"/> checks the key against an expected algorithm; without it,
    /// the algorithm is inferred from the modulus or point length (a 32-byte Curve25519 key needs it).
    /// </summary>
    public static PivPublicKey Parse(ReadOnlyMemory<byte> template, PivAlgorithm? algorithm = null)
    {
        var node = BerTlv.ParseSingle(template);
        if (node.Tag != TemplateTag)
        {
            throw new CardFormatException("PIV public key", 0, string.Create(CultureInfo.InvariantCulture, $"expected template 7F49, found {node.Tag:X}"));
        }

        return ParseContent(node.Value, algorithm);
    }

    /// <summary>Parses the content of a 7F49 template (or of metadata tag 04). See <see cref="Parse"/>.</summary>
    public static PivPublicKey ParseContent(ReadOnlyMemory<byte> content, PivAlgorithm? algorithm = null)
    {
        var nodes = BerTlv.Parse(content);
        var modulus = nodes.FirstOrDefault(n => n.Tag == TagModulus);
        var point = nodes.FirstOrDefault(n => n.Tag == TagPoint);
        PivPublicKey key;
        try
        {
            if (modulus is not null)
            {
                var exponent = nodes.FirstOrDefault(n => n.Tag == TagExponent)
                    ?? throw new CardFormatException("PIV public key: RSA exponent (82) missing");
                key = FromRsa(modulus.Value.Span, exponent.Value.Span);
            }
            else if (point is not null)
            {
                var inferred = algorithm ?? (point.Value.Length switch
                {
                    65 => PivAlgorithm.EccP256,
                    97 => PivAlgorithm.EccP384,
                    _ => throw new CardFormatException(string.Create(CultureInfo.InvariantCulture,
                        $"PIV public key: cannot tell the algorithm of a {point.Value.Length}-byte point")),
                });
                key = FromPoint(inferred, point.Value.Span);
            }
            else
            {
                throw new CardFormatException("PIV public key: neither modulus (81) nor point (86) present");
            }
        }
        catch (CryptographicException e)
        {
            throw new CardFormatException($"PIV public key: {e.Message}", e);
        }

        if (algorithm is { } expected && key.Algorithm != expected)
        {
            throw new CardFormatException($"PIV public key: expected {expected.DisplayName()}, the card returned {key.Algorithm.DisplayName()}");
        }

        return key;
    }

    /// <summary>The key as .NET RSA parameters (public part only).</summary>
    public RSAParameters ToRsaParameters() => Algorithm.IsRsa()
        ? new RSAParameters { Modulus = (byte[])_modulus.Clone(), Exponent = (byte[])_exponent.Clone() }
        : throw new InvalidOperationException($"{Algorithm.DisplayName()} is not an RSA key");

    /// <summary>The key as .NET EC parameters (public point only).</summary>
    public ECParameters ToECParameters()
    {
        if (!Algorithm.IsEcc())
        {
            throw new InvalidOperationException($"{Algorithm.DisplayName()} is not a NIST EC key");
        }

        int size = Algorithm.KeyLength();
        return new ECParameters
        {
            Curve = Algorithm.ToCurve(),
            Q = new ECPoint { X = _point[1..(1 + size)], Y = _point[(1 + size)..] },
        };
    }

    /// <summary>A new .NET RSA object holding this key.</summary>
    public RSA ToRsa() => RSA.Create(ToRsaParameters());

    /// <summary>A new .NET ECDsa object holding this key.</summary>
    public ECDsa ToECDsa() => ECDsa.Create(ToECParameters());

    /// <summary>A new .NET ECDiffieHellman object holding this key.</summary>
    public ECDiffieHellman ToECDiffieHellman() => ECDiffieHellman.Create(ToECParameters());

    /// <summary>The key as DER SubjectPublicKeyInfo.</summary>
    public byte[] ToSubjectPublicKeyInfo()
    {
        if (Algorithm.IsRsa())
        {
            using var rsa = ToRsa();
            return rsa.ExportSubjectPublicKeyInfo();
        }

        if (Algorithm.IsEcc())
        {
            using var ecdsa = ToECDsa();
            return ecdsa.ExportSubjectPublicKeyInfo();
        }

        var writer = new AsnWriter(AsnEncodingRules.DER);
        using (writer.PushSequence())
        {
            using (writer.PushSequence())
            {
                writer.WriteObjectIdentifier(Algorithm == PivAlgorithm.Ed25519 ? OidEd25519 : OidX25519);
            }

            writer.WriteBitString(_point);
        }

        return writer.Encode();
    }

    /// <summary>The key as an X.509 <see cref="PublicKey"/>, e.g. for <see cref="CertificateRequest"/>.</summary>
    public PublicKey ToX509PublicKey() => PublicKey.CreateFromSubjectPublicKeyInfo(ToSubjectPublicKeyInfo(), out _);

    /// <summary>True when both describe the same key.</summary>
    public bool KeyEquals(PivPublicKey? other) =>
        other is not null && other.Algorithm == Algorithm && other._modulus.AsSpan().SequenceEqual(_modulus)
        && other._exponent.AsSpan().SequenceEqual(_exponent) && other._point.AsSpan().SequenceEqual(_point);

    /// <inheritdoc/>
    public override string ToString() => $"{Algorithm.DisplayName()} public key";

    private static ReadOnlySpan<byte> TrimLeadingZeros(ReadOnlySpan<byte> value)
    {
        int i = 0;
        while (i < value.Length && value[i] == 0)
        {
            i++;
        }

        return value[i..];
    }
}
