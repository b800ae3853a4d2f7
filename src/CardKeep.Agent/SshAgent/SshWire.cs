using System.Buffers.Binary;
using System.Globalization;
using System.Numerics;
using System.Security.Cryptography;

namespace CardKeep.Agent.SshAgent;

/// <summary>Bytes that do not form the SSH structure they claim to be. The message never carries the bytes themselves.</summary>
public sealed class SshFormatException : Exception
{
    public SshFormatException() { }

    public SshFormatException(string message) : base(message) { }

    public SshFormatException(string message, Exception innerException) : base(message, innerException) { }
}

/// <summary>
/// Reads the RFC 4251 §5 encodings (byte, bool, uint32, string, mpint) from a span. Every length is checked against the
/// bytes that are left before anything is allocated, so a lying length field costs nothing but an
/// <see cref="SshFormatException"/>.
/// </summary>
public ref struct SshReader
{
    private readonly ReadOnlySpan<byte> _data;
    private int _offset;

    public SshReader(ReadOnlySpan<byte> data)
    {
        _data = data;
        _offset = 0;
    }

    public readonly int Remaining => _data.Length - _offset;

    public readonly bool IsEmpty => Remaining == 0;

    public byte ReadByte()
    {
        Need(1, "byte");
        return _data[_offset++];
    }

    public bool ReadBool() => ReadByte() != 0;

    public uint ReadUInt32()
    {
        Need(4, "uint32");
        uint value = BinaryPrimitives.ReadUInt32BigEndian(_data[_offset..]);
        _offset += 4;
        return value;
    }

    /// <summary>A <c>string</c>: uint32 length and that many bytes (a view into the input, not a copy).</summary>
    public ReadOnlySpan<byte> ReadString()
    {
        uint length = ReadUInt32();
        if (length > (uint)Remaining)
        {
            throw new SshFormatException(string.Create(CultureInfo.InvariantCulture,
                $"a string claims {length} bytes but only {Remaining} are left (at offset {_offset - 4})"));
        }

        var value = _data.Slice(_offset, (int)length);
        _offset += (int)length;
        return value;
    }

    /// <summary>A string that must be ASCII text (names, key types), at most <paramref name="maxLength"/> bytes.</summary>
    public string ReadAscii(int maxLength = 256)
    {
        var bytes = ReadString();
        if (bytes.Length > maxLength)
        {
            throw new SshFormatException(string.Create(CultureInfo.InvariantCulture, $"a name of {bytes.Length} bytes is longer than {maxLength}"));
        }

        foreach (byte b in bytes)
        {
            if (b is < 0x20 or > 0x7E)
            {
                throw new SshFormatException("a name holds a byte that is not printable ASCII");
            }
        }

        return System.Text.Encoding.ASCII.GetString(bytes);
    }

    /// <summary>An <c>mpint</c> as its unsigned big-endian magnitude without leading zeros. Negative values are refused.</summary>
    public ReadOnlySpan<byte> ReadMpintMagnitude()
    {
        var raw = ReadString();
        if (!raw.IsEmpty && (raw[0] & 0x80) != 0)
        {
            throw new SshFormatException("a negative mpint where a positive one is required");
        }

        int i = 0;
        while (i < raw.Length && raw[i] == 0)
        {
            i++;
        }

        return raw[i..];
    }

    /// <summary>Reads everything left.</summary>
    public ReadOnlySpan<byte> ReadRest()
    {
        var rest = _data[_offset..];
        _offset = _data.Length;
        return rest;
    }

    public readonly void ThrowIfNotEmpty(string what)
    {
        if (Remaining != 0)
        {
            throw new SshFormatException(string.Create(CultureInfo.InvariantCulture, $"{what}: {Remaining} unexpected bytes at the end"));
        }
    }

    private readonly void Need(int count, string what)
    {
        if (Remaining < count)
        {
            throw new SshFormatException(string.Create(CultureInfo.InvariantCulture, $"truncated: a {what} needs {count} bytes, {Remaining} left"));
        }
    }
}

/// <summary>
/// Builds RFC 4251 encodings. <see cref="Dispose"/> zeroes the internal buffer, so a writer that held private key
/// fields leaves nothing behind; <see cref="ToArray"/> returns a copy the caller owns.
/// </summary>
public sealed class SshWriter : IDisposable
{
    private byte[] _buffer;
    private int _length;

    public SshWriter(int capacity = 256) => _buffer = new byte[Math.Max(capacity, 16)];

    public int Length => _length;

    public SshWriter WriteByte(byte value)
    {
        Reserve(1)[0] = value;
        return this;
    }

    public SshWriter WriteBool(bool value) => WriteByte(value ? (byte)1 : (byte)0);

    public SshWriter WriteUInt32(uint value)
    {
        BinaryPrimitives.WriteUInt32BigEndian(Reserve(4), value);
        return this;
    }

    public SshWriter WriteRaw(ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(Reserve(bytes.Length));
        return this;
    }

    public SshWriter WriteString(ReadOnlySpan<byte> bytes)
    {
        WriteUInt32((uint)bytes.Length);
        return WriteRaw(bytes);
    }

    public SshWriter WriteString(string ascii)
    {
        ArgumentNullException.ThrowIfNull(ascii);
        return WriteString(System.Text.Encoding.UTF8.GetBytes(ascii));
    }

    /// <summary>An mpint from an unsigned big-endian magnitude: leading zeros dropped, one 00 added when the high bit is set.</summary>
    public SshWriter WriteMpint(ReadOnlySpan<byte> magnitude)
    {
        int i = 0;
        while (i < magnitude.Length && magnitude[i] == 0)
        {
            i++;
        }

        var value = magnitude[i..];
        bool pad = !value.IsEmpty && (value[0] & 0x80) != 0;
        WriteUInt32((uint)(value.Length + (pad ? 1 : 0)));
        if (pad)
        {
            WriteByte(0);
        }

        return WriteRaw(value);
    }

    /// <summary>An mpint from a non-negative <see cref="BigInteger"/>.</summary>
    public SshWriter WriteMpint(BigInteger value)
    {
        if (value.Sign < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(value), "negative mpints are not used here");
        }

        return WriteMpint(value.ToByteArray(isUnsigned: true, isBigEndian: true));
    }

    public ReadOnlySpan<byte> AsSpan() => _buffer.AsSpan(0, _length);

    public byte[] ToArray() => _buffer.AsSpan(0, _length).ToArray();

    public void Dispose()
    {
        CryptographicOperations.ZeroMemory(_buffer);
        _length = 0;
    }

    private Span<byte> Reserve(int count)
    {
        if (_length + count > _buffer.Length)
        {
            var bigger = new byte[Math.Max(_buffer.Length * 2, _length + count)];
            _buffer.AsSpan(0, _length).CopyTo(bigger);
            CryptographicOperations.ZeroMemory(_buffer);
            _buffer = bigger;
        }

        var span = _buffer.AsSpan(_length, count);
        _length += count;
        return span;
    }
}
