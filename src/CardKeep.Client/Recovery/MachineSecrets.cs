using System.Security.Cryptography;
using System.Text;

namespace CardKeep.Client.Recovery;

/// <summary>
/// Verifiers of the secrets that open this computer without its card. The access key has 128 random bits, so its
/// verifier needs no memory-hard KDF; PBKDF2-SHA256 (<see cref="DefaultIterations"/>, fewer in tests) still makes an
/// offline guess against a stolen store cost something. Comparisons are constant-time.
/// </summary>
public static class MachineSecrets
{
    /// <summary>PBKDF2 iterations of a new access-key verifier (about 20 ms on one core).</summary>
    public const int DefaultIterations = 100_000;

    private const int SaltLength = 16;
    private const int HashLength = 32;

    /// <summary>A verifier of <paramref name="accessKey"/> (its digits only: dashes and spaces do not count).</summary>
    public static SecretVerifier AccessKeyVerifier(string accessKey, int iterations = DefaultIterations, TimeProvider? clock = null)
    {
        byte[] digits = AccessKeyDigits(accessKey);
        byte[] salt = RandomNumberGenerator.GetBytes(SaltLength);
        try
        {
            byte[] hash = Rfc2898DeriveBytes.Pbkdf2(digits, salt, iterations, HashAlgorithmName.SHA256, HashLength);
            return new SecretVerifier(Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8)), Convert.ToBase64String(salt), iterations,
                Convert.ToBase64String(hash), (clock ?? TimeProvider.System).GetUtcNow());
        }
        finally
        {
            CryptographicOperations.ZeroMemory(digits);
        }
    }

    /// <summary>The first of <paramref name="verifiers"/> that <paramref name="accessKey"/> matches, or null.</summary>
    public static SecretVerifier? Match(string accessKey, IEnumerable<SecretVerifier> verifiers)
    {
        ArgumentNullException.ThrowIfNull(verifiers);
        byte[] digits = AccessKeyDigits(accessKey);
        try
        {
            SecretVerifier? found = null;
            foreach (var verifier in verifiers)
            {
                byte[] expected = Convert.FromBase64String(verifier.Hash);
                byte[] actual = Rfc2898DeriveBytes.Pbkdf2(digits, Convert.FromBase64String(verifier.Salt), verifier.Iterations, HashAlgorithmName.SHA256, expected.Length);
                // Every verifier is checked, so the time does not tell which one matched.
                if (CryptographicOperations.FixedTimeEquals(actual, expected) && found is null)
                {
                    found = verifier;
                }
            }

            return found;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(digits);
        }
    }

    /// <summary>
    /// The access key as people type it reduced to its 48 digits: 8 groups of 6, each a multiple of 11 below 720896 (a
    /// 16-bit block times 11, as BitLocker's recovery password). Anything else is an <see cref="ArgumentException"/>
    /// saying what is wrong, never echoing the key.
    /// </summary>
    public static byte[] AccessKeyDigits(string accessKey)
    {
        ArgumentNullException.ThrowIfNull(accessKey);
        var digits = new byte[48];
        int count = 0;
        foreach (char c in accessKey)
        {
            if (c is '-' or ' ' or '\t')
            {
                continue;
            }

            if (!char.IsAsciiDigit(c) || count == digits.Length)
            {
                CryptographicOperations.ZeroMemory(digits);
                throw new ArgumentException("an access key is 48 digits in 8 groups of 6 (dashes and spaces allowed)", nameof(accessKey));
            }

            digits[count++] = (byte)c;
        }

        if (count != digits.Length)
        {
            CryptographicOperations.ZeroMemory(digits);
            throw new ArgumentException("an access key is 48 digits in 8 groups of 6 (dashes and spaces allowed)", nameof(accessKey));
        }

        for (int group = 0; group < 8; group++)
        {
            int value = 0;
            for (int i = 0; i < 6; i++)
            {
                value = (value * 10) + (digits[(group * 6) + i] - '0');
            }

            if (value % 11 != 0 || value / 11 > ushort.MaxValue)
            {
                CryptographicOperations.ZeroMemory(digits);
                throw new ArgumentException($"group {group + 1} of the access key is mistyped (each group is a multiple of 11)", nameof(accessKey));
            }
        }

        return digits;
    }

    /// <summary>The canonical text of an access key: its 8 groups joined by dashes.</summary>
    public static string FormatAccessKey(string accessKey)
    {
        byte[] digits = AccessKeyDigits(accessKey);
        try
        {
            var text = new StringBuilder(55);
            for (int group = 0; group < 8; group++)
            {
                if (group > 0)
                {
                    text.Append('-');
                }

                text.Append(Encoding.ASCII.GetString(digits, group * 6, 6));
            }

            return text.ToString();
        }
        finally
        {
            CryptographicOperations.ZeroMemory(digits);
        }
    }

    /// <summary>A new random access key (128 bits) in its printed form, for when this computer must rotate alone.</summary>
    public static string NewAccessKey()
    {
        Span<byte> random = stackalloc byte[16];
        RandomNumberGenerator.Fill(random);
        var text = new StringBuilder(55);
        for (int group = 0; group < 8; group++)
        {
            if (group > 0)
            {
                text.Append('-');
            }

            int block = (random[group * 2] << 8) | random[(group * 2) + 1];
            text.Append((block * 11).ToString("D6", System.Globalization.CultureInfo.InvariantCulture));
        }

        CryptographicOperations.ZeroMemory(random);
        return text.ToString();
    }

    /// <summary>The kit verifier: SHA-256 of the kit's random secret.</summary>
    public static KitVerifier KitVerifier(string kitId, ReadOnlySpan<byte> kitSecret, TimeProvider? clock = null) =>
        new(kitId, Convert.ToBase64String(SHA256.HashData(kitSecret)), (clock ?? TimeProvider.System).GetUtcNow());

    /// <summary>Whether <paramref name="kitSecret"/> is the one <paramref name="verifier"/> was made from (constant time).</summary>
    public static bool KitMatches(KitVerifier verifier, ReadOnlySpan<byte> kitSecret)
    {
        ArgumentNullException.ThrowIfNull(verifier);
        return CryptographicOperations.FixedTimeEquals(SHA256.HashData(kitSecret), Convert.FromBase64String(verifier.SecretHash));
    }
}
