using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Security.Cryptography;

namespace CardKeep.Cards.Piv;

/// <summary>
/// PIV cryptographic algorithm identifiers (NIST SP 800-78-4 Table 6-2, plus the YubiKey 5.7 additions E0/E1).
/// The value is the byte sent as P1 of GENERAL AUTHENTICATE, IMPORT KEY and SET MANAGEMENT KEY, and inside tag 80
/// of the GENERATE template.
/// </summary>
[SuppressMessage("Design", "CA1028:Enum Storage should be Int32", Justification = "The value is one byte on the wire.")]
public enum PivAlgorithm : byte
{
    /// <summary>Three-key Triple-DES-ECB management key (24 bytes, 8-byte blocks).</summary>
    TripleDes = 0x03,

    /// <summary>RSA with a 3072-bit modulus (YubiKey 5.7).</summary>
    Rsa3072 = 0x05,

    /// <summary>RSA with a 1024-bit modulus.</summary>
    Rsa1024 = 0x06,

    /// <summary>RSA with a 2048-bit modulus.</summary>
    Rsa2048 = 0x07,

    /// <summary>AES-128-ECB management key (16 bytes, 16-byte blocks).</summary>
    Aes128 = 0x08,

    /// <summary>AES-192-ECB management key (24 bytes, 16-byte blocks).</summary>
    Aes192 = 0x0A,

    /// <summary>AES-256-ECB management key (32 bytes, 16-byte blocks).</summary>
    Aes256 = 0x0C,

    /// <summary>ECDSA / ECDH on NIST P-256.</summary>
    EccP256 = 0x11,

    /// <summary>ECDSA / ECDH on NIST P-384.</summary>
    EccP384 = 0x14,

    /// <summary>RSA with a 4096-bit modulus (YubiKey 5.7).</summary>
    Rsa4096 = 0x16,

    /// <summary>Ed25519 signatures (YubiKey 5.7; no .NET implementation, encodings only).</summary>
    Ed25519 = 0xE0,

    /// <summary>X25519 key agreement (YubiKey 5.7; no .NET implementation, encodings only).</summary>
    X25519 = 0xE1,
}

/// <summary>Facts about each <see cref="PivAlgorithm"/>.</summary>
public static class PivAlgorithmExtensions
{
    /// <summary>True for a defined <see cref="PivAlgorithm"/> value.</summary>
    public static bool IsDefined(this PivAlgorithm algorithm) => Enum.IsDefined(algorithm);

    /// <summary>True for the RSA key algorithms (1024, 2048, 3072, 4096).</summary>
    public static bool IsRsa(this PivAlgorithm algorithm) =>
        algorithm is PivAlgorithm.Rsa1024 or PivAlgorithm.Rsa2048 or PivAlgorithm.Rsa3072 or PivAlgorithm.Rsa4096;

    /// <summary>True for the NIST curves P-256 and P-384 (ECDSA and ECDH). Ed25519/X25519 are not included.</summary>
    public static bool IsEcc(this PivAlgorithm algorithm) => algorithm is PivAlgorithm.EccP256 or PivAlgorithm.EccP384;

    /// <summary>True for Ed25519 and X25519.</summary>
    public static bool IsCurve25519(this PivAlgorithm algorithm) => algorithm is PivAlgorithm.Ed25519 or PivAlgorithm.X25519;

    /// <summary>True for an asymmetric key algorithm (RSA, NIST EC, Curve25519).</summary>
    public static bool IsAsymmetric(this PivAlgorithm algorithm) => algorithm.IsRsa() || algorithm.IsEcc() || algorithm.IsCurve25519();

    /// <summary>True for the symmetric management-key algorithms (3DES, AES-128/192/256).</summary>
    public static bool IsManagementKey(this PivAlgorithm algorithm) =>
        algorithm is PivAlgorithm.TripleDes or PivAlgorithm.Aes128 or PivAlgorithm.Aes192 or PivAlgorithm.Aes256;

    /// <summary>
    /// Key size in bits: the RSA modulus, the EC field, 255 rounded up to 256 for Curve25519, and the full key
    /// length for management keys (192 for 3DES).
    /// </summary>
    public static int KeySizeBits(this PivAlgorithm algorithm) => algorithm switch
    {
        PivAlgorithm.TripleDes => 192,
        PivAlgorithm.Aes128 => 128,
        PivAlgorithm.Aes192 => 192,
        PivAlgorithm.Aes256 => 256,
        PivAlgorithm.Rsa1024 => 1024,
        PivAlgorithm.Rsa2048 => 2048,
        PivAlgorithm.Rsa3072 => 3072,
        PivAlgorithm.Rsa4096 => 4096,
        PivAlgorithm.EccP256 => 256,
        PivAlgorithm.EccP384 => 384,
        PivAlgorithm.Ed25519 => 256,
        PivAlgorithm.X25519 => 256,
        _ => throw Undefined(algorithm),
    };

    /// <summary>
    /// Key length in bytes: the management key length, the RSA modulus length, or the EC field (coordinate) length.
    /// </summary>
    public static int KeyLength(this PivAlgorithm algorithm) => algorithm.KeySizeBits() / 8;

    /// <summary>Cipher block size in bytes of a management-key algorithm: 8 for 3DES, 16 for AES.</summary>
    public static int BlockSize(this PivAlgorithm algorithm) => algorithm switch
    {
        PivAlgorithm.TripleDes => 8,
        PivAlgorithm.Aes128 or PivAlgorithm.Aes192 or PivAlgorithm.Aes256 => 16,
        _ => throw new ArgumentOutOfRangeException(nameof(algorithm), algorithm, "not a management-key algorithm"),
    };

    /// <summary>The .NET curve of a NIST EC algorithm.</summary>
    public static ECCurve ToCurve(this PivAlgorithm algorithm) => algorithm switch
    {
        PivAlgorithm.EccP256 => ECCurve.NamedCurves.nistP256,
        PivAlgorithm.EccP384 => ECCurve.NamedCurves.nistP384,
        _ => throw new ArgumentOutOfRangeException(nameof(algorithm), algorithm, "not a NIST EC algorithm"),
    };

    /// <summary>The RSA algorithm for a modulus of <paramref name="bits"/> bits.</summary>
    public static PivAlgorithm RsaForKeySize(int bits) => bits switch
    {
        1024 => PivAlgorithm.Rsa1024,
        2048 => PivAlgorithm.Rsa2048,
        3072 => PivAlgorithm.Rsa3072,
        4096 => PivAlgorithm.Rsa4096,
        _ => throw new CryptographicException(string.Create(CultureInfo.InvariantCulture, $"RSA-{bits} is not a PIV key size (1024, 2048, 3072, 4096)")),
    };

    /// <summary>The EC algorithm for a field of <paramref name="bits"/> bits (256 or 384).</summary>
    public static PivAlgorithm EccForKeySize(int bits) => bits switch
    {
        256 => PivAlgorithm.EccP256,
        384 => PivAlgorithm.EccP384,
        _ => throw new CryptographicException(string.Create(CultureInfo.InvariantCulture, $"a {bits}-bit curve is not a PIV curve (P-256, P-384)")),
    };

    /// <summary>The EC algorithm for a .NET curve: P-256 or P-384 by OID or friendly name.</summary>
    public static PivAlgorithm EccForCurve(ECCurve curve)
    {
        string? oid = curve.Oid?.Value;
        string? name = curve.Oid?.FriendlyName;
        if (oid == "1.2.840.10045.3.1.7" || name is "nistP256" or "ECDSA_P256" or "ECDH_P256" or "secp256r1" or "prime256v1")
        {
            return PivAlgorithm.EccP256;
        }

        if (oid == "1.3.132.0.34" || name is "nistP384" or "ECDSA_P384" or "ECDH_P384" or "secp384r1")
        {
            return PivAlgorithm.EccP384;
        }

        throw new CryptographicException($"curve {oid ?? name ?? "(unnamed)"} is not a PIV curve (P-256, P-384)");
    }

    /// <summary>The name yubico-piv-tool uses: 3DES, AES128, RSA2048, ECCP256, ED25519, …</summary>
    public static string DisplayName(this PivAlgorithm algorithm) => algorithm switch
    {
        PivAlgorithm.TripleDes => "3DES",
        PivAlgorithm.Aes128 => "AES128",
        PivAlgorithm.Aes192 => "AES192",
        PivAlgorithm.Aes256 => "AES256",
        PivAlgorithm.Rsa1024 => "RSA1024",
        PivAlgorithm.Rsa2048 => "RSA2048",
        PivAlgorithm.Rsa3072 => "RSA3072",
        PivAlgorithm.Rsa4096 => "RSA4096",
        PivAlgorithm.EccP256 => "ECCP256",
        PivAlgorithm.EccP384 => "ECCP384",
        PivAlgorithm.Ed25519 => "ED25519",
        PivAlgorithm.X25519 => "X25519",
        _ => string.Create(CultureInfo.InvariantCulture, $"0x{(byte)algorithm:X2}"),
    };

    internal static ArgumentOutOfRangeException Undefined(PivAlgorithm algorithm) =>
        new(nameof(algorithm), algorithm, string.Create(CultureInfo.InvariantCulture, $"0x{(byte)algorithm:X2} is not a PIV algorithm"));
}
