using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using CardKeep.Protocol.Recovery;

namespace CardKeep.Server.Accounts;

/// <summary>Hashing of recovery passwords and challenge answers, and the hashes of random secrets (machine secrets, bearer tokens, nonces).</summary>
public sealed class AccountSecrets
{
    private readonly int _iterations;
    private readonly Lazy<string> _dummy;

    /// <summary>Creates the helper for <paramref name="options"/>.</summary>
    public AccountSecrets(AccountOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _iterations = options.PasswordIterations;
        _dummy = new Lazy<string>(() => HashText("dummy password for unknown accounts"));
    }

    /// <summary>A verifier of a password-like secret (PBKDF2-SHA256, configured iterations).</summary>
    public string HashText(string secret)
    {
        var bytes = Encoding.UTF8.GetBytes(secret);
        try
        {
            using var rng = RandomNumberGenerator.Create();
            return SecretVerifier.Create(bytes, rng, _iterations);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(bytes);
        }
    }

    /// <summary>Checks <paramref name="secret"/> against <paramref name="verifier"/>; a null verifier (unknown account) costs the same work and fails.</summary>
    public bool VerifyText(string secret, string? verifier)
    {
        var bytes = Encoding.UTF8.GetBytes(secret);
        try
        {
            bool match = SecretVerifier.Verify(bytes, verifier ?? _dummy.Value);
            return verifier is not null && match;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(bytes);
        }
    }

    /// <summary>A challenge answer as compared: NFKC, trimmed, inner whitespace collapsed to one space, lower case.</summary>
    public static string NormaliseAnswer(string answer)
    {
        ArgumentNullException.ThrowIfNull(answer);
        var text = answer.Normalize(NormalizationForm.FormKC).Trim().ToLower(CultureInfo.InvariantCulture);
        return string.Join(' ', text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
    }

    /// <summary>SHA-256 (for 256-bit random secrets: machine secrets, bearer tokens, nonces).</summary>
    public static byte[] Sha256(ReadOnlySpan<byte> value) => SHA256.HashData(value);

    /// <summary>SHA-256 of the UTF-8 text.</summary>
    public static byte[] Sha256(string value) => SHA256.HashData(Encoding.UTF8.GetBytes(value));
}
