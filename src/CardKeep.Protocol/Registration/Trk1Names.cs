using System.Globalization;
using System.Text;

namespace CardKeep.Protocol.Registration;

/// <summary>User names as TRK1 accepts them (S4): NFC, lower case, 1–64 UTF-8 bytes, letters, digits and . _ - @.</summary>
public static class Trk1Names
{
    /// <summary>True when <paramref name="username"/> is already in canonical form and allowed.</summary>
    public static bool IsCanonicalUsername(string? username)
    {
        if (string.IsNullOrEmpty(username) || !username.IsNormalized(NormalizationForm.FormC))
        {
            return false;
        }

        int bytes = Encoding.UTF8.GetByteCount(username);
        if (bytes > Trk1Limits.MaxUsernameLength || !string.Equals(username, username.ToLowerInvariant(), StringComparison.Ordinal))
        {
            return false;
        }

        foreach (var rune in username.EnumerateRunes())
        {
            var category = Rune.GetUnicodeCategory(rune);
            bool allowed = category is UnicodeCategory.LowercaseLetter or UnicodeCategory.OtherLetter or UnicodeCategory.DecimalDigitNumber
                || rune.Value is '.' or '_' or '-' or '@';
            if (!allowed)
            {
                return false;
            }
        }

        return char.IsLetterOrDigit(username[0]);
    }

    /// <summary>The canonical form people probably meant (NFC, lower case, trimmed); the caller still checks it.</summary>
    public static string Canonicalize(string username)
    {
        ArgumentNullException.ThrowIfNull(username);
        return username.Trim().Normalize(NormalizationForm.FormC).ToLowerInvariant();
    }
}
