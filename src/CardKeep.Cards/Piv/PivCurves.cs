using System.Collections.Concurrent;
using System.Numerics;
using System.Security.Cryptography;

namespace CardKeep.Cards.Piv;

/// <summary>Explicit domain parameters of the PIV curves, taken once from the platform's own curve definitions.</summary>
internal static class PivCurves
{
    private static readonly ConcurrentDictionary<PivAlgorithm, Domain> _domains = new();

    public static Domain For(PivAlgorithm algorithm) => _domains.GetOrAdd(algorithm, static a =>
    {
        using var key = ECDsa.Create(a.ToCurve());
        var curve = key.ExportExplicitParameters(false).Curve;
        return new Domain(
            PivBigInteger.FromBigEndian(curve.Prime),
            PivBigInteger.FromBigEndian(curve.A),
            PivBigInteger.FromBigEndian(curve.B),
            PivBigInteger.FromBigEndian(curve.Order),
            a.KeyLength());
    });

    /// <summary>Prime field p, coefficients a and b, group order n and field length in bytes.</summary>
    internal sealed record Domain(BigInteger Prime, BigInteger A, BigInteger B, BigInteger Order, int FieldLength)
    {
        /// <summary>True when (x, y) satisfies y² = x³ + ax + b (mod p) with both coordinates below p.</summary>
        public bool IsOnCurve(BigInteger x, BigInteger y)
        {
            if (x >= Prime || y >= Prime)
            {
                return false;
            }

            var left = BigInteger.ModPow(y, 2, Prime);
            var right = PivBigInteger.Mod((BigInteger.ModPow(x, 3, Prime) + (A * x) + B), Prime);
            return left == right;
        }
    }
}
