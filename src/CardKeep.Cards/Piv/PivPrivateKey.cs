using System.Formats.Asn1;
using System.Globalization;
using System.Numerics;
using System.Security.Cryptography;
using CardKeep.Cards.Iso7816;

namespace CardKeep.Cards.Piv;

/// <summary>
/// A private key as PIV handles it (RSA with CRT components, or EC on P-256/P-384), with the YubiKey IMPORT KEY
/// (INS FE) data field: RSA <c>01 p 02 q 03 dP 04 dQ 05 qInv</c>, each left-padded with zeros to half the modulus
/// length; EC <c>06 d</c> padded to the field length; then the optional <c>AA 01 pin</c> and <c>AB 01 touch</c>.
/// Owns copies of the key material and zeroes them on <see cref="Dispose"/>.
/// </summary>
public sealed class PivPrivateKey : IDisposable
{
    private const byte TagP = 0x01;
    private const byte TagQ = 0x02;
    private const byte TagDp = 0x03;
    private const byte TagDq = 0x04;
    private const byte TagQInv = 0x05;
    private const byte TagEcPrivate = 0x06;
    private const string OidRsa = "1.2.840.113549.1.1.1";
    private const string OidEcPublicKey = "1.2.840.10045.2.1";

    private static readonly BigInteger _f4 = 65537;

    private RSAParameters _rsa;
    private ECParameters _ec;
    private bool _disposed;

    private PivPrivateKey(PivAlgorithm algorithm, RSAParameters rsa, ECParameters ec)
    {
        Algorithm = algorithm;
        _rsa = rsa;
        _ec = ec;
        PublicKey = algorithm.IsRsa() ? PivPublicKey.FromRsaParameters(rsa) : PivPublicKey.FromECParameters(ec);
    }

    /// <summary>The key's algorithm.</summary>
    public PivAlgorithm Algorithm { get; }

    /// <summary>The matching public key.</summary>
    public PivPublicKey PublicKey { get; }

    /// <summary>The RSA parameters, borrowed (no copy) for the card-side crypto. Valid until Dispose.</summary>
    internal ref readonly RSAParameters Rsa
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return ref _rsa;
        }
    }

    /// <summary>The EC parameters, borrowed (no copy) for the card-side crypto. Valid until Dispose.</summary>
    internal ref readonly ECParameters Ec
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return ref _ec;
        }
    }

    /// <summary>Copies full .NET RSA parameters (CRT components required) into a PIV key; the caller keeps and clears its own copy.</summary>
    public static PivPrivateKey FromRsaParameters(in RSAParameters parameters)
    {
        if (parameters.Modulus is null || parameters.Exponent is null || parameters.D is null || parameters.P is null
            || parameters.Q is null || parameters.DP is null || parameters.DQ is null || parameters.InverseQ is null)
        {
            throw new CryptographicException("the RSA parameters lack private or CRT components");
        }

        var publicKey = PivPublicKey.FromRsaParameters(parameters);
        var algorithm = publicKey.Algorithm;
        int k = algorithm.KeyLength(), half = k / 2;
        var copy = new RSAParameters
        {
            Modulus = publicKey.Modulus.ToArray(),
            Exponent = publicKey.Exponent.ToArray(),
            D = Fit(parameters.D, k),
            P = Fit(parameters.P, half),
            Q = Fit(parameters.Q, half),
            DP = Fit(parameters.DP, half),
            DQ = Fit(parameters.DQ, half),
            InverseQ = Fit(parameters.InverseQ, half),
        };
        return new PivPrivateKey(algorithm, copy, default);
    }

    /// <summary>Copies .NET EC parameters (D required; Q is derived when missing) on P-256 or P-384.</summary>
    public static PivPrivateKey FromECParameters(in ECParameters parameters)
    {
        var algorithm = PivAlgorithmExtensions.EccForCurve(parameters.Curve);
        if (parameters.D is null)
        {
            throw new CryptographicException("the EC parameters lack the private scalar D");
        }

        var d = Fit(parameters.D, algorithm.KeyLength());
        try
        {
            return FromScalar(algorithm, d);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(d);
        }
    }

    /// <summary>Copies the private key of a .NET RSA, ECDsa or ECDiffieHellman object.</summary>
    public static PivPrivateKey FromKey(AsymmetricAlgorithm key)
    {
        switch (key)
        {
            case RSA rsa:
                {
                    var parameters = rsa.ExportParameters(true);
                    try
                    {
                        return FromRsaParameters(parameters);
                    }
                    finally
                    {
                        Clear(ref parameters);
                    }
                }

            case ECAlgorithm ec:
                {
                    var parameters = ec.ExportParameters(true);
                    try
                    {
                        return FromECParameters(parameters);
                    }
                    finally
                    {
                        Clear(ref parameters);
                    }
                }

            case null:
                throw new ArgumentNullException(nameof(key));
            default:
                throw new ArgumentException($"{key.GetType().Name} is not an RSA or EC key", nameof(key));
        }
    }

    /// <summary>Reads an unencrypted PKCS#8 PrivateKeyInfo holding an RSA or P-256/P-384 EC key.</summary>
    public static PivPrivateKey FromPkcs8(ReadOnlySpan<byte> pkcs8)
    {
        string oid;
        var copy = pkcs8.ToArray();
        try
        {
            var reader = new AsnReader(copy, AsnEncodingRules.BER);
            var info = reader.ReadSequence();
            info.ReadInteger();
            oid = info.ReadSequence().ReadObjectIdentifier();
        }
        catch (AsnContentException e)
        {
            throw new CryptographicException("not a PKCS#8 PrivateKeyInfo", e);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(copy);
        }

        AsymmetricAlgorithm key = oid switch
        {
            OidRsa => RSA.Create(),
            OidEcPublicKey => ECDsa.Create(),
            _ => throw new CryptographicException($"private key algorithm {oid} is not supported (RSA, EC P-256/P-384)"),
        };
        using (key)
        {
            key.ImportPkcs8PrivateKey(pkcs8, out _);
            return FromKey(key);
        }
    }

    /// <summary>
    /// Rebuilds a full RSA key from its CRT components, as a card must after IMPORT KEY (which carries neither n, e nor d):
    /// n = p·q; e = 65537 when it fits both dP and dQ, otherwise e is solved from e ≡ dP⁻¹ (mod p−1) and
    /// e ≡ dQ⁻¹ (mod q−1) by the generalised Chinese remainder theorem; d = e⁻¹ mod lcm(p−1, q−1).
    /// Raises <see cref="CryptographicException"/> when the components are inconsistent.
    /// </summary>
    public static PivPrivateKey FromRsaCrt(ReadOnlySpan<byte> p, ReadOnlySpan<byte> q, ReadOnlySpan<byte> dP, ReadOnlySpan<byte> dQ,
        ReadOnlySpan<byte> qInv)
    {
        var bp = PivBigInteger.FromBigEndian(p);
        var bq = PivBigInteger.FromBigEndian(q);
        var bdp = PivBigInteger.FromBigEndian(dP);
        var bdq = PivBigInteger.FromBigEndian(dQ);
        var bqi = PivBigInteger.FromBigEndian(qInv);
        if (bp <= 2 || bq <= 2 || bdp.IsZero || bdq.IsZero || bp == bq)
        {
            throw new CryptographicException("RSA CRT components are degenerate");
        }

        var n = bp * bq;
        var algorithm = PivAlgorithmExtensions.RsaForKeySize((int)n.GetBitLength());
        if (PivBigInteger.Mod(bqi * bq, bp) != BigInteger.One)
        {
            throw new CryptographicException("RSA CRT components are inconsistent: qInv·q ≢ 1 (mod p)");
        }

        var p1 = bp - 1;
        var q1 = bq - 1;
        var e = SolveExponent(bdp, bdq, p1, q1);
        var lambda = p1 / BigInteger.GreatestCommonDivisor(p1, q1) * q1;
        var d = PivBigInteger.ModInverse(e, lambda) ?? throw new CryptographicException("RSA exponent is not invertible modulo λ(n)");
        int k = algorithm.KeyLength(), half = k / 2;
        var parameters = new RSAParameters
        {
            Modulus = PivBigInteger.ToBigEndian(n, k),
            Exponent = e.ToByteArray(isUnsigned: true, isBigEndian: true),
            D = PivBigInteger.ToBigEndian(d, k),
            P = PivBigInteger.ToBigEndian(bp, half),
            Q = PivBigInteger.ToBigEndian(bq, half),
            DP = PivBigInteger.ToBigEndian(bdp, half),
            DQ = PivBigInteger.ToBigEndian(bdq, half),
            InverseQ = PivBigInteger.ToBigEndian(bqi, half),
        };
        return new PivPrivateKey(algorithm, parameters, default);
    }

    /// <summary>The IMPORT KEY data field for this key with <paramref name="policy"/>. The caller zeroes the result.</summary>
    public byte[] EncodeImportData(PivKeyPolicy policy = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var writer = new TlvWriter();
        if (Algorithm.IsRsa())
        {
            writer.Write(TagP, _rsa.P).Write(TagQ, _rsa.Q).Write(TagDp, _rsa.DP).Write(TagDq, _rsa.DQ).Write(TagQInv, _rsa.InverseQ);
        }
        else
        {
            writer.Write(TagEcPrivate, _ec.D);
        }

        PivKeyGenerationTemplate.WritePolicy(writer, policy);
        return writer.ToArray();
    }

    /// <summary>
    /// Parses an IMPORT KEY data field for <paramref name="algorithm"/> (P1 of the command) and rebuilds the full key.
    /// Components may be shorter than their padded length. Raises <see cref="CardFormatException"/> for malformed or
    /// inconsistent data (a card answers 6A80).
    /// </summary>
    public static PivPrivateKey ParseImportData(PivAlgorithm algorithm, ReadOnlyMemory<byte> data, out PivKeyPolicy policy)
    {
        var nodes = BerTlv.Parse(data);
        policy = PivKeyGenerationTemplate.ReadPolicy(nodes);
        try
        {
            if (algorithm.IsRsa())
            {
                int half = algorithm.KeyLength() / 2;
                var key = FromRsaCrt(Component(nodes, TagP, half), Component(nodes, TagQ, half), Component(nodes, TagDp, half),
                    Component(nodes, TagDq, half), Component(nodes, TagQInv, half));
                if (key.Algorithm != algorithm)
                {
                    key.Dispose();
                    throw new CryptographicException($"the components form a {key.Algorithm.DisplayName()} key, not {algorithm.DisplayName()}");
                }

                return key;
            }

            if (algorithm.IsEcc())
            {
                var scalar = Component(nodes, TagEcPrivate, algorithm.KeyLength());
                var d = Fit(scalar, algorithm.KeyLength());
                try
                {
                    return FromScalar(algorithm, d);
                }
                finally
                {
                    CryptographicOperations.ZeroMemory(d);
                }
            }
        }
        catch (CryptographicException e)
        {
            throw new CardFormatException($"IMPORT KEY: {e.Message}", e);
        }

        throw new CardFormatException($"IMPORT KEY: {algorithm.DisplayName()} keys cannot be imported here");
    }

    /// <summary>A copy of the RSA parameters (private included). The caller clears them.</summary>
    public RSAParameters ExportRsaParameters()
    {
        var rsa = Rsa;
        if (!Algorithm.IsRsa())
        {
            throw new InvalidOperationException($"{Algorithm.DisplayName()} is not an RSA key");
        }

        return new RSAParameters
        {
            Modulus = (byte[])rsa.Modulus!.Clone(),
            Exponent = (byte[])rsa.Exponent!.Clone(),
            D = (byte[])rsa.D!.Clone(),
            P = (byte[])rsa.P!.Clone(),
            Q = (byte[])rsa.Q!.Clone(),
            DP = (byte[])rsa.DP!.Clone(),
            DQ = (byte[])rsa.DQ!.Clone(),
            InverseQ = (byte[])rsa.InverseQ!.Clone(),
        };
    }

    /// <summary>A copy of the EC parameters (private included). The caller clears D.</summary>
    public ECParameters ExportECParameters()
    {
        var ec = Ec;
        if (!Algorithm.IsEcc())
        {
            throw new InvalidOperationException($"{Algorithm.DisplayName()} is not an EC key");
        }

        return new ECParameters
        {
            Curve = ec.Curve,
            D = (byte[])ec.D!.Clone(),
            Q = new ECPoint { X = (byte[])ec.Q.X!.Clone(), Y = (byte[])ec.Q.Y!.Clone() },
        };
    }

    /// <summary>A new .NET RSA object with this key.</summary>
    public RSA CreateRsa() => RSA.Create(Rsa);

    /// <summary>A new .NET ECDsa object with this key.</summary>
    public ECDsa CreateECDsa() => ECDsa.Create(Ec);

    /// <summary>A new .NET ECDiffieHellman object with this key.</summary>
    public ECDiffieHellman CreateECDiffieHellman() => ECDiffieHellman.Create(Ec);

    /// <summary>The key as unencrypted PKCS#8 PrivateKeyInfo. The caller zeroes the result.</summary>
    public byte[] ExportPkcs8()
    {
        using AsymmetricAlgorithm key = Algorithm.IsRsa() ? CreateRsa() : CreateECDsa();
        return key.ExportPkcs8PrivateKey();
    }

    /// <summary>Zeroes the key material.</summary>
    public void Dispose()
    {
        if (!_disposed)
        {
            _disposed = true;
            Clear(ref _rsa);
            Clear(ref _ec);
        }
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Algorithm.DisplayName()} private key";

    internal static void Clear(ref RSAParameters parameters)
    {
        CryptographicOperations.ZeroMemory(parameters.D);
        CryptographicOperations.ZeroMemory(parameters.P);
        CryptographicOperations.ZeroMemory(parameters.Q);
        CryptographicOperations.ZeroMemory(parameters.DP);
        CryptographicOperations.ZeroMemory(parameters.DQ);
        CryptographicOperations.ZeroMemory(parameters.InverseQ);
    }

    internal static void Clear(ref ECParameters parameters) => CryptographicOperations.ZeroMemory(parameters.D);

    private static PivPrivateKey FromScalar(PivAlgorithm algorithm, byte[] d)
    {
        var scalar = PivBigInteger.FromBigEndian(d);
        if (scalar.IsZero || scalar >= PivCurves.For(algorithm).Order)
        {
            throw new CryptographicException("the EC private scalar is outside [1, n−1]");
        }

        using var key = ECDsa.Create();
        key.ImportParameters(new ECParameters { Curve = algorithm.ToCurve(), D = d });
        var q = key.ExportParameters(false).Q;
        var parameters = new ECParameters { Curve = algorithm.ToCurve(), D = (byte[])d.Clone(), Q = q };
        return new PivPrivateKey(algorithm, default, parameters);
    }

    private static BigInteger SolveExponent(BigInteger dP, BigInteger dQ, BigInteger p1, BigInteger q1)
    {
        if (PivBigInteger.Mod(_f4 * dP, p1).IsOne && PivBigInteger.Mod(_f4 * dQ, q1).IsOne)
        {
            return _f4;
        }

        var ep = PivBigInteger.ModInverse(dP, p1);
        var eq = PivBigInteger.ModInverse(dQ, q1);
        if (ep is null || eq is null)
        {
            throw new CryptographicException("RSA CRT exponents are not invertible modulo p−1 and q−1");
        }

        // e ≡ ep (mod p−1), e ≡ eq (mod q−1); the moduli share g = gcd(p−1, q−1) (at least 2).
        var g = BigInteger.GreatestCommonDivisor(p1, q1);
        var diff = eq.Value - ep.Value;
        if (!PivBigInteger.Mod(diff, g).IsZero)
        {
            throw new CryptographicException("RSA CRT exponents are inconsistent: dP and dQ imply different public exponents");
        }

        var m = q1 / g;
        var inverse = PivBigInteger.ModInverse(p1 / g, m) ?? BigInteger.Zero;
        var t = PivBigInteger.Mod(diff / g * inverse, m);
        return ep.Value + (p1 * t);
    }

    private static ReadOnlySpan<byte> Component(IReadOnlyList<TlvNode> nodes, byte tag, int maxLength)
    {
        var node = nodes.FirstOrDefault(n => n.Tag == tag)
            ?? throw new CardFormatException(string.Create(CultureInfo.InvariantCulture, $"IMPORT KEY: component {tag:X2} missing"));
        if (node.Value.Length > maxLength || node.Value.IsEmpty)
        {
            throw new CardFormatException("IMPORT KEY", node.Offset, string.Create(CultureInfo.InvariantCulture,
                $"component {tag:X2} has {node.Value.Length} bytes, expected 1 to {maxLength}"));
        }

        return node.Value.Span;
    }

    /// <summary>A copy of <paramref name="value"/> left-padded (or stripped of leading zeros) to exactly <paramref name="length"/> bytes.</summary>
    private static byte[] Fit(ReadOnlySpan<byte> value, int length)
    {
        int start = 0;
        while (value.Length - start > length && value[start] == 0)
        {
            start++;
        }

        if (value.Length - start > length)
        {
            throw new CryptographicException(string.Create(CultureInfo.InvariantCulture, $"key component of {value.Length} bytes does not fit {length} bytes"));
        }

        var result = new byte[length];
        value[start..].CopyTo(result.AsSpan(length - (value.Length - start)));
        return result;
    }
}
