using System.Numerics;
using System.Security.Cryptography;

namespace CardKeep.Cards.Piv;

/// <summary>Big-endian unsigned conversions and modular arithmetic for the RSA code.</summary>
internal static class PivBigInteger
{
    public static BigInteger FromBigEndian(ReadOnlySpan<byte> value) => new(value, isUnsigned: true, isBigEndian: true);

    /// <summary>Writes <paramref name="value"/> big-endian, left-padded with zeros to exactly <paramref name="length"/> bytes.</summary>
    public static byte[] ToBigEndian(BigInteger value, int length)
    {
        var buffer = new byte[length];
        WriteBigEndian(value, buffer);
        return buffer;
    }

    public static void WriteBigEndian(BigInteger value, Span<byte> destination)
    {
        int size = value.GetByteCount(isUnsigned: true);
        if (value.Sign < 0 || size > destination.Length)
        {
            throw new CryptographicException("integer does not fit its field");
        }

        destination[..^size].Clear();
        if (!value.TryWriteBytes(destination[^size..], out _, isUnsigned: true, isBigEndian: true))
        {
            throw new CryptographicException("integer does not fit its field");
        }
    }

    /// <summary>a mod m in [0, m).</summary>
    public static BigInteger Mod(BigInteger a, BigInteger m)
    {
        var r = BigInteger.Remainder(a, m);
        return r.Sign < 0 ? r + m : r;
    }

    /// <summary>The inverse of a modulo m, or null when gcd(a, m) ≠ 1.</summary>
    public static BigInteger? ModInverse(BigInteger a, BigInteger m)
    {
        BigInteger oldR = Mod(a, m), r = m, oldS = BigInteger.One, s = BigInteger.Zero;
        while (!r.IsZero)
        {
            var q = BigInteger.Divide(oldR, r);
            (oldR, r) = (r, oldR - (q * r));
            (oldS, s) = (s, oldS - (q * s));
        }

        return oldR.IsOne ? Mod(oldS, m) : null;
    }

    /// <summary>A uniformly random integer in [2, n − 2].</summary>
    public static BigInteger RandomBelow(BigInteger n)
    {
        int length = n.GetByteCount(isUnsigned: true) + 8;
        var bytes = RandomNumberGenerator.GetBytes(length);
        var value = Mod(FromBigEndian(bytes), n - 3) + 2;
        CryptographicOperations.ZeroMemory(bytes);
        return value;
    }
}
