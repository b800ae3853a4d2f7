using System.Security.Cryptography;

namespace CardKeep.Cards.Piv;

/// <summary>
/// PIN and PUK handling (SP 800-73-4 Part 2 §3.2.1): references, defaults, and the 8-byte form padded with 0xFF
/// that VERIFY, CHANGE REFERENCE DATA and RESET RETRY COUNTER carry.
/// </summary>
public static class PivPin
{
    /// <summary>Length of the padded form.</summary>
    public const int PaddedLength = 8;

    /// <summary>The padding byte.</summary>
    public const byte PadByte = 0xFF;

    /// <summary>Key reference of the PIV application PIN.</summary>
    public const byte PinReference = 0x80;

    /// <summary>Key reference of the PUK (PIN unblocking key).</summary>
    public const byte PukReference = 0x81;

    /// <summary>Key reference of the global PIN.</summary>
    public const byte GlobalPinReference = 0x00;

    /// <summary>Factory PIN of a YubiKey (and of CardKeep virtual cards): "123456".</summary>
    public static ReadOnlySpan<byte> DefaultPin => "123456"u8;

    /// <summary>Factory PUK of a YubiKey (and of CardKeep virtual cards): "12345678".</summary>
    public static ReadOnlySpan<byte> DefaultPuk => "12345678"u8;

    /// <summary>Writes <paramref name="pin"/> (1–8 bytes) padded with 0xFF to 8 bytes into <paramref name="destination"/>.</summary>
    public static void Pad(ReadOnlySpan<byte> pin, Span<byte> destination)
    {
        if (pin.IsEmpty || pin.Length > PaddedLength)
        {
            throw new ArgumentException($"a PIN or PUK has 1 to {PaddedLength} bytes", nameof(pin));
        }

        if (pin.Contains(PadByte))
        {
            throw new ArgumentException("a PIN or PUK cannot contain the padding byte 0xFF", nameof(pin));
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(destination.Length, PaddedLength, nameof(destination));
        pin.CopyTo(destination);
        destination[pin.Length..PaddedLength].Fill(PadByte);
    }

    /// <summary>A new 8-byte padded copy of <paramref name="pin"/>. The caller zeroes it.</summary>
    public static byte[] Pad(ReadOnlySpan<byte> pin)
    {
        var padded = new byte[PaddedLength];
        try
        {
            Pad(pin, padded);
        }
        catch
        {
            CryptographicOperations.ZeroMemory(padded);
            throw;
        }

        return padded;
    }

    /// <summary>Two padded values back to back (16 bytes), as CHANGE REFERENCE DATA and RESET RETRY COUNTER send. The caller zeroes it.</summary>
    public static byte[] PadPair(ReadOnlySpan<byte> first, ReadOnlySpan<byte> second)
    {
        var buffer = new byte[2 * PaddedLength];
        try
        {
            Pad(first, buffer);
            Pad(second, buffer.AsSpan(PaddedLength));
        }
        catch
        {
            CryptographicOperations.ZeroMemory(buffer);
            throw;
        }

        return buffer;
    }

    /// <summary>
    /// The PIN inside a padded 8-byte value (a slice, no copy): everything before the first 0xFF.
    /// Throws when the value is not 8 bytes, is empty, or has non-padding bytes after the padding starts.
    /// </summary>
    public static ReadOnlySpan<byte> Unpad(ReadOnlySpan<byte> padded)
    {
        if (!TryUnpad(padded, out int length))
        {
            throw new CardFormatException("padded PIN", 0, "expected 8 bytes: 1 to 8 PIN bytes followed only by 0xFF");
        }

        return padded[..length];
    }

    /// <summary>Tester for <see cref="Unpad"/>: false instead of an exception; <paramref name="length"/> is the PIN length.</summary>
    public static bool TryUnpad(ReadOnlySpan<byte> padded, out int length)
    {
        length = padded.IndexOf(PadByte);
        if (length < 0)
        {
            length = padded.Length;
        }

        bool valid = padded.Length == PaddedLength && length > 0 && !padded[length..].ContainsAnyExcept(PadByte);
        if (!valid)
        {
            length = 0;
        }

        return valid;
    }
}
