using System.Security.Cryptography;
using CardKeep.Cards;
using CardKeep.Cards.Iso7816;

namespace CardKeep.VirtualCard.Store;

/// <summary>
/// Limits and validity rules shared by the API (which throws <see cref="ArgumentException"/>) and the file decoder
/// (which refuses the file). Each check returns null when the value is fine, else what is wrong.
/// </summary>
internal static class VscRules
{
    public const int MaxIdLength = 64;
    public const int MaxLabelLength = 128;
    public const int MaxParentLength = 128;
    public const int MaxAttributeKeyLength = 64;
    public const int MaxAttributeValueLength = 1024;
    public const int MaxAttributes = 256;
    public const int MaxAccessConditionsLength = 128;
    public const int MaxSourceSerialLength = 64;
    public const int MinAtrLength = 2;
    public const int MaxAtrLength = 33;
    public const int GuidLength = 16;
    public const int MaxPinLength = 8;
    public const int MaxRetries = 255;
    public const int MaxObjectLength = 1 << 20;
    public const int MaxKeyBlobLength = 16 * 1024;
    public const int MaxFileLength = 16 << 20;
    public const byte PinPolicyNever = 1;
    public const byte CardAuthenticationSlot = 0x9E;
    public const string DefaultAccessConditions = "pin-for-private";
    public const string PivCardType = "PIV";

    public static string? CheckId(string? id)
    {
        if (string.IsNullOrEmpty(id) || id.Length > MaxIdLength)
        {
            return $"Id must be 1 to {MaxIdLength} characters";
        }

        foreach (char c in id)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-'))
            {
                return "Id may contain only A-Z, a-z, 0-9, '.', '_' and '-'";
            }
        }

        return id is "." or ".." ? "Id must not be '.' or '..'" : null;
    }

    public static string? CheckLabel(string? label) => CheckText(label, "label", 0, MaxLabelLength);

    public static string? CheckParent(string? parent) => parent is null ? null : CheckText(parent, "parent", 1, MaxParentLength);

    public static string? CheckSourceSerial(string? serial) => serial is null ? null : CheckText(serial, "source serial", 1, MaxSourceSerialLength);

    public static string? CheckAttributeValue(string? value) => CheckText(value, "attribute value", 0, MaxAttributeValueLength);

    public static string? CheckAttributeKey(string? key)
    {
        if (string.IsNullOrEmpty(key) || key.Length > MaxAttributeKeyLength)
        {
            return $"attribute key must be 1 to {MaxAttributeKeyLength} characters";
        }

        foreach (char c in key)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' or ':'))
            {
                return "attribute key may contain only A-Z, a-z, 0-9, '.', '_', '-' and ':'";
            }
        }

        return null;
    }

    public static string? CheckAccessConditions(string? value)
    {
        if (string.IsNullOrEmpty(value) || value.Length > MaxAccessConditionsLength)
        {
            return $"access conditions must be 1 to {MaxAccessConditionsLength} characters";
        }

        foreach (char c in value)
        {
            if (c is < '!' or > '~')
            {
                return "access conditions must be printable ASCII without spaces";
            }
        }

        return null;
    }

    public static string? CheckSourceAtr(int length) =>
        length is >= MinAtrLength and <= MaxAtrLength ? null : $"source ATR must be {MinAtrLength} to {MaxAtrLength} bytes";

    public static string? CheckRetries(int tries, string what) =>
        tries is >= 1 and <= MaxRetries ? null : $"{what} retries must be 1 to {MaxRetries}";

    public static string? CheckSecretLength(int length, string what) =>
        length is >= 1 and <= MaxPinLength ? null : $"{what} must be 1 to {MaxPinLength} bytes (unpadded)";

    /// <summary>Key length for a PIV management-key algorithm: 03 3DES (24), 08 AES-128, 0A AES-192, 0C AES-256.</summary>
    public static int? ManagementKeyLength(byte algorithm) => algorithm switch
    {
        0x03 => 24,
        0x08 => 16,
        0x0A => 24,
        0x0C => 32,
        _ => null,
    };

    public static string? CheckManagementKey(byte algorithm, int length) =>
        ManagementKeyLength(algorithm) is not { } expected
            ? $"management key algorithm 0x{algorithm:X2} is not one of 03 (3DES), 08 (AES-128), 0A (AES-192), 0C (AES-256)"
            : length == expected ? null : $"management key for algorithm 0x{algorithm:X2} must be {expected} bytes";

    /// <summary>The protection a key gets: None for PIN policy Never and for slot 9E, else Pin.</summary>
    public static KeyProtection ProtectionFor(byte slot, byte pinPolicy) =>
        pinPolicy == PinPolicyNever || slot == CardAuthenticationSlot ? KeyProtection.None : KeyProtection.Pin;

    public static string? CheckOrigin(byte origin) => origin is 1 or 2 ? null : "key origin must be 1 (generated) or 2 (imported)";

    /// <summary>Checks that <paramref name="der"/> is one BER/DER SEQUENCE (tag 30) filling the buffer exactly.</summary>
    public static string? CheckDerSequence(ReadOnlySpan<byte> der, string what)
    {
        if (der.IsEmpty || der.Length > MaxKeyBlobLength)
        {
            return $"{what} must be 1 to {MaxKeyBlobLength} bytes";
        }

        var copy = der.ToArray();
        try
        {
            return BerTlv.ParseSingle(copy).Tag == 0x30 ? null : $"{what} is not a DER SEQUENCE";
        }
        catch (CardFormatException)
        {
            return $"{what} is not a single DER SEQUENCE";
        }
        finally
        {
            CryptographicOperations.ZeroMemory(copy);
        }
    }

    public static string? CheckObjectLength(int length) =>
        length <= MaxObjectLength ? null : $"data object is {length} bytes, more than the {MaxObjectLength}-byte limit";

    /// <summary>Throws <see cref="ArgumentException"/> with <paramref name="problem"/> when it is not null.</summary>
    public static void Require(string? problem, string paramName)
    {
        if (problem is not null)
        {
            throw new ArgumentException(problem, paramName);
        }
    }

    private static string? CheckText(string? text, string what, int min, int max)
    {
        if (text is null || text.Length < min || text.Length > max)
        {
            return $"{what} must be {min} to {max} characters";
        }

        for (int i = 0; i < text.Length; i++)
        {
            if (char.IsControl(text[i]))
            {
                return $"{what} must not contain control characters";
            }

            if (char.IsSurrogate(text[i]))
            {
                if (!char.IsSurrogatePair(text, i))
                {
                    return $"{what} contains an unpaired surrogate";
                }

                i++;
            }
        }

        return null;
    }
}
