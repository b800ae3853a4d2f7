using System.Buffers.Binary;
using System.Globalization;

namespace CardKeep.Cards.Piv;

/// <summary>A YubiKey firmware version as GET VERSION (INS FD) returns it: three bytes major, minor, patch.</summary>
/// <param name="Major">Major version.</param>
/// <param name="Minor">Minor version.</param>
/// <param name="Patch">Patch level.</param>
public readonly record struct YubicoVersion(byte Major, byte Minor, byte Patch) : IComparable<YubicoVersion>
{
    /// <summary>Reads the 3-byte form.</summary>
    public static YubicoVersion Parse(ReadOnlySpan<byte> data) => data.Length == 3
        ? new YubicoVersion(data[0], data[1], data[2])
        : throw new CardFormatException("GET VERSION response", 0, $"expected 3 bytes, got {data.Length}");

    /// <summary>The 3-byte form.</summary>
    public byte[] Encode() => [Major, Minor, Patch];

    /// <inheritdoc/>
    public int CompareTo(YubicoVersion other) =>
        (Major, Minor, Patch).CompareTo((other.Major, other.Minor, other.Patch));

    /// <summary>Version order.</summary>
    public static bool operator <(YubicoVersion left, YubicoVersion right) => left.CompareTo(right) < 0;

    /// <summary>Version order.</summary>
    public static bool operator >(YubicoVersion left, YubicoVersion right) => left.CompareTo(right) > 0;

    /// <summary>Version order.</summary>
    public static bool operator <=(YubicoVersion left, YubicoVersion right) => left.CompareTo(right) <= 0;

    /// <summary>Version order.</summary>
    public static bool operator >=(YubicoVersion left, YubicoVersion right) => left.CompareTo(right) >= 0;

    /// <summary>"5.4.3".</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Major}.{Minor}.{Patch}");
}

/// <summary>The YubiKey serial number as GET SERIAL (INS F8) returns it: 4 bytes big-endian.</summary>
public static class YubicoSerial
{
    /// <summary>Reads the 4-byte big-endian form.</summary>
    public static uint Parse(ReadOnlySpan<byte> data) => data.Length == 4
        ? BinaryPrimitives.ReadUInt32BigEndian(data)
        : throw new CardFormatException("GET SERIAL response", 0, $"expected 4 bytes, got {data.Length}");

    /// <summary>The 4-byte big-endian form.</summary>
    public static byte[] Encode(uint serial)
    {
        var data = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(data, serial);
        return data;
    }
}
