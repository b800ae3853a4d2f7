using System.Formats.Asn1;
using System.Security.Cryptography;

namespace CardKeep.Agent.SshAgent;

/// <summary>
/// SSH signature blobs: <c>string alg; string sig</c> where sig is the PKCS#1 v1.5 value for RSA (RFC 8332), the
/// 64 bytes for Ed25519 (RFC 8709) and <c>string(mpint r; mpint s)</c> for ECDSA (RFC 5656 §3.1.2). .NET gives ECDSA as
/// fixed-size r‖s (IEEE P1363) and a PIV card as DER; both are converted here.
/// </summary>
public static class SshSignature
{
    public static byte[] Encode(string algorithm, ReadOnlySpan<byte> signature)
    {
        using var writer = new SshWriter(signature.Length + 32);
        return writer.WriteString(algorithm).WriteString(signature).ToArray();
    }

    /// <summary>The ECDSA signature field (<c>mpint r; mpint s</c>) from fixed-size r‖s.</summary>
    public static byte[] EcdsaP1363ToSsh(ReadOnlySpan<byte> rs)
    {
        if (rs.Length == 0 || rs.Length % 2 != 0)
        {
            throw new CryptographicException("an r‖s ECDSA signature has an even, non-zero length");
        }

        int half = rs.Length / 2;
        using var writer = new SshWriter(rs.Length + 16);
        return writer.WriteMpint(rs[..half]).WriteMpint(rs[half..]).ToArray();
    }

    /// <summary>Fixed-size r‖s (each <paramref name="fieldLength"/> bytes) from DER <c>SEQUENCE { INTEGER r, INTEGER s }</c>, what a PIV card returns.</summary>
    public static byte[] EcdsaDerToP1363(ReadOnlySpan<byte> der, int fieldLength)
    {
        try
        {
            var reader = new AsnReader(der.ToArray(), AsnEncodingRules.DER);
            var sequence = reader.ReadSequence();
            reader.ThrowIfNotEmpty();
            var r = sequence.ReadIntegerBytes().Span;
            var s = sequence.ReadIntegerBytes().Span;
            sequence.ThrowIfNotEmpty();
            var rs = new byte[2 * fieldLength];
            CopyUnsigned(r, rs.AsSpan(0, fieldLength));
            CopyUnsigned(s, rs.AsSpan(fieldLength, fieldLength));
            return rs;
        }
        catch (AsnContentException e)
        {
            throw new CryptographicException("the ECDSA signature is not DER SEQUENCE { r, s }", e);
        }
    }

    private static void CopyUnsigned(ReadOnlySpan<byte> integer, Span<byte> destination)
    {
        if ((integer[0] & 0x80) != 0)
        {
            throw new CryptographicException("a negative ECDSA signature value");
        }

        var magnitude = integer[0] == 0 ? integer[1..] : integer;
        if (magnitude.Length > destination.Length)
        {
            throw new CryptographicException("an ECDSA signature value is longer than the curve");
        }

        magnitude.CopyTo(destination[(destination.Length - magnitude.Length)..]);
    }

    /// <summary>Fixed-size r‖s (each <paramref name="fieldLength"/> bytes) from the SSH ECDSA signature field.</summary>
    public static byte[] EcdsaSshToP1363(ReadOnlySpan<byte> ssh, int fieldLength)
    {
        var reader = new SshReader(ssh);
        var r = reader.ReadMpintMagnitude();
        var s = reader.ReadMpintMagnitude();
        reader.ThrowIfNotEmpty("ECDSA signature");
        if (r.Length > fieldLength || s.Length > fieldLength)
        {
            throw new SshFormatException("an ECDSA signature value is longer than the curve");
        }

        var rs = new byte[2 * fieldLength];
        r.CopyTo(rs.AsSpan(fieldLength - r.Length));
        s.CopyTo(rs.AsSpan((2 * fieldLength) - s.Length));
        return rs;
    }
}
