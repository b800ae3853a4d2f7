using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace CardKeep.Protocol.Recovery;

/// <summary>
/// An access key: 128 random bits a person can read aloud and type, shown as 8 groups of 6 digits separated by dashes
/// (BitLocker recovery-password style). Group i is the i-th 16-bit big-endian value of the key multiplied by 11, so a
/// valid group is a multiple of 11 below 720 896: a typo in a group is caught, and the error names the group. Holds the
/// 16 raw bytes; <see cref="Dispose"/> zeroes them. Pure: no I/O, randomness injected.
/// </summary>
public sealed class AccessKey : IDisposable
{
    /// <summary>Key length in bytes (128 bits).</summary>
    public const int KeyBytes = 16;

    /// <summary>Number of digit groups.</summary>
    public const int GroupCount = 8;

    /// <summary>Digits per group.</summary>
    public const int GroupDigits = 6;

    /// <summary>Upper bound (exclusive) of a group: 65 536 × 11.</summary>
    public const int GroupLimit = 65536 * 11;

    private readonly byte[] _bytes;
    private bool _disposed;

    private AccessKey(byte[] bytes) => _bytes = bytes;

    /// <summary>A fresh key from <paramref name="random"/> (normally <see cref="RandomNumberGenerator.Create()"/>).</summary>
    public static AccessKey Generate(RandomNumberGenerator random)
    {
        ArgumentNullException.ThrowIfNull(random);
        var bytes = new byte[KeyBytes];
        random.GetBytes(bytes);
        return new AccessKey(bytes);
    }

    /// <summary>A key from its 16 raw bytes (copied).</summary>
    public static AccessKey FromBytes(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length != KeyBytes)
        {
            throw new ArgumentException($"an access key is {KeyBytes} bytes", nameof(bytes));
        }

        return new AccessKey(bytes.ToArray());
    }

    /// <summary>
    /// Parses a typed key: 48 digits in 8 groups of 6, separated by dashes, spaces or nothing (other separators: none).
    /// On failure <paramref name="error"/> says what is wrong and, for a bad group, which one (1-based); it never
    /// repeats the input.
    /// </summary>
    public static bool TryParse(string? text, out AccessKey? key, out string error)
    {
        key = null;
        if (string.IsNullOrWhiteSpace(text))
        {
            error = "the access key is empty: type 8 groups of 6 digits";
            return false;
        }

        var digits = new StringBuilder(GroupCount * GroupDigits);
        foreach (var c in text)
        {
            if (c is >= '0' and <= '9')
            {
                digits.Append(c);
            }
            else if (c is not ('-' or ' ' or '\t'))
            {
                error = "an access key has only digits, dashes and spaces";
                return false;
            }
        }

        if (digits.Length != GroupCount * GroupDigits)
        {
            error = $"an access key has {GroupCount * GroupDigits} digits (8 groups of 6); this one has {digits.Length}";
            return false;
        }

        var bytes = new byte[KeyBytes];
        for (var group = 0; group < GroupCount; group++)
        {
            var value = 0;
            for (var d = 0; d < GroupDigits; d++)
            {
                value = (value * 10) + (digits[(group * GroupDigits) + d] - '0');
            }

            if (value % 11 != 0 || value >= GroupLimit)
            {
                CryptographicOperations.ZeroMemory(bytes);
                digits.Clear();
                error = $"group {group + 1} of the access key is wrong (mistyped?)";
                return false;
            }

            var word = value / 11;
            bytes[group * 2] = (byte)(word >> 8);
            bytes[(group * 2) + 1] = (byte)word;
        }

        digits.Clear();
        key = new AccessKey(bytes);
        error = string.Empty;
        return true;
    }

    /// <summary>The 16 raw bytes (the caller must not keep them past <see cref="Dispose"/>).</summary>
    public ReadOnlySpan<byte> Bytes
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _bytes;
        }
    }

    /// <summary>The key as people see it: <c>123456-234567-…</c> (8 groups of 6 digits).</summary>
    public override string ToString()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var text = new StringBuilder((GroupCount * (GroupDigits + 1)) - 1);
        for (var group = 0; group < GroupCount; group++)
        {
            if (group > 0)
            {
                text.Append('-');
            }

            var word = (_bytes[group * 2] << 8) | _bytes[(group * 2) + 1];
            text.Append((word * 11).ToString("D6", CultureInfo.InvariantCulture));
        }

        return text.ToString();
    }

    /// <summary>Zeroes the key bytes.</summary>
    public void Dispose()
    {
        if (!_disposed)
        {
            CryptographicOperations.ZeroMemory(_bytes);
            _disposed = true;
        }
    }
}

/// <summary>
/// The stored form of an access key: <c>pbkdf2-sha256$ITERATIONS$SALT$HASH</c> (<see cref="SecretVerifier"/>). The server
/// and the machine keep only this. Why PBKDF2 and no server pepper: the key has 128 random bits, so a slow KDF is not what
/// protects it; a per-key random salt stops precomputation and linking equal keys, a moderate iteration count
/// (<see cref="DefaultIterations"/>) costs little, and the machine's gate must check the key offline, where a server pepper
/// is not available: one format for both sides.
/// </summary>
public static class AccessKeyVerifier
{
    /// <summary>Iterations used unless the caller chooses (keys are random: this is defence in depth, not the protection).</summary>
    public const int DefaultIterations = 10_000;

    /// <summary>A verifier for <paramref name="key"/> with a fresh salt from <paramref name="random"/>.</summary>
    public static string Create(AccessKey key, RandomNumberGenerator random, int iterations = DefaultIterations)
    {
        ArgumentNullException.ThrowIfNull(key);
        return SecretVerifier.Create(key.Bytes, random, iterations);
    }

    /// <summary>True when <paramref name="key"/> matches <paramref name="verifier"/> (constant-time compare). A malformed verifier never matches.</summary>
    public static bool Verify(AccessKey key, string? verifier)
    {
        ArgumentNullException.ThrowIfNull(key);
        return SecretVerifier.Verify(key.Bytes, verifier);
    }

    /// <summary>True when <paramref name="verifier"/> has the verifier format (for a store that must fail closed when damaged).</summary>
    public static bool IsWellFormed(string? verifier) => SecretVerifier.IsWellFormed(verifier);
}

/// <summary>
/// PBKDF2-SHA256 verifiers of secrets (access keys, recovery passwords, challenge answers):
/// <c>pbkdf2-sha256$ITERATIONS$SALT$HASH</c>, salt 16 random bytes, hash 32 bytes, both base64; compared in constant time.
/// </summary>
public static class SecretVerifier
{
    private const string Scheme = "pbkdf2-sha256";
    private const int SaltBytes = 16;
    private const int HashBytes = 32;

    /// <summary>A verifier of <paramref name="secret"/> with a fresh salt.</summary>
    public static string Create(ReadOnlySpan<byte> secret, RandomNumberGenerator random, int iterations)
    {
        ArgumentNullException.ThrowIfNull(random);
        ArgumentOutOfRangeException.ThrowIfLessThan(iterations, 1);
        var salt = new byte[SaltBytes];
        random.GetBytes(salt);
        var hash = Rfc2898DeriveBytes.Pbkdf2(secret, salt, iterations, HashAlgorithmName.SHA256, HashBytes);
        return string.Create(CultureInfo.InvariantCulture, $"{Scheme}${iterations}${Convert.ToBase64String(salt)}${Convert.ToBase64String(hash)}");
    }

    /// <summary>True when <paramref name="secret"/> matches. A malformed verifier never matches (and costs no KDF).</summary>
    public static bool Verify(ReadOnlySpan<byte> secret, string? verifier)
    {
        if (!TryParse(verifier, out var iterations, out var salt, out var expected))
        {
            return false;
        }

        var actual = Rfc2898DeriveBytes.Pbkdf2(secret, salt, iterations, HashAlgorithmName.SHA256, HashBytes);
        try
        {
            return CryptographicOperations.FixedTimeEquals(actual, expected);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(actual);
        }
    }

    /// <summary>True when <paramref name="verifier"/> has the verifier format.</summary>
    public static bool IsWellFormed(string? verifier) => TryParse(verifier, out _, out _, out _);

    private static bool TryParse(string? verifier, out int iterations, out byte[] salt, out byte[] hash)
    {
        iterations = 0;
        salt = [];
        hash = [];
        var parts = verifier?.Split('$');
        if (parts is not { Length: 4 } || parts[0] != Scheme
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out iterations) || iterations < 1 || iterations > 10_000_000)
        {
            return false;
        }

        try
        {
            salt = Convert.FromBase64String(parts[2]);
            hash = Convert.FromBase64String(parts[3]);
        }
        catch (FormatException)
        {
            return false;
        }

        return salt.Length == SaltBytes && hash.Length == HashBytes;
    }
}
