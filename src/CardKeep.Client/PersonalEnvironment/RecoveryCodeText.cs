using CardKeep.Protocol.Recovery;

namespace CardKeep.Client.PersonalEnvironment;

/// <summary>
/// The record recovery code as people write it down: the access-key form of issue 7 (8 groups of 6 digits, each group a
/// multiple of 11, so a mistyped group is caught and named).
/// </summary>
public static class RecoveryCodeText
{
    /// <summary>The 16-byte code as text.</summary>
    public static string Format(ReadOnlySpan<byte> code)
    {
        using var key = AccessKey.FromBytes(code);
        return key.ToString();
    }

    /// <summary>The code from text; <see cref="FormatException"/> naming the wrong group. The caller zeroes the result.</summary>
    public static byte[] Parse(string text)
    {
        if (!AccessKey.TryParse(text, out var key, out string error) || key is null)
        {
            throw new FormatException("record recovery code: " + error);
        }

        using (key)
        {
            return key.Bytes.ToArray();
        }
    }
}
