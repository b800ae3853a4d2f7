using System.Buffers.Binary;

namespace CardKeep.Protocol;

/// <summary>The 24-byte header of every TRK1 message: ver | type | suite | flags | sid(16) | body_len(4, big-endian).</summary>
/// <param name="Type">Message type.</param>
/// <param name="Suite">Key-transport suite.</param>
/// <param name="Flags">Flags.</param>
/// <param name="Sid">Session identifier (16 bytes, chosen by the server in the first flight).</param>
/// <param name="BodyLength">Length of the body that follows the header.</param>
public readonly record struct Trk1Header(Trk1MessageType Type, Trk1Suite Suite, Trk1Mode Flags, ReadOnlyMemory<byte> Sid, int BodyLength)
{
    /// <summary>Writes the header into the first 24 bytes of <paramref name="destination"/>.</summary>
    public void WriteTo(Span<byte> destination)
    {
        if (Sid.Length != Trk1Limits.SidLength)
        {
            throw new ArgumentException("sid must be 16 bytes", nameof(destination));
        }

        destination[0] = Trk1Limits.Version;
        destination[1] = (byte)Type;
        destination[2] = (byte)Suite;
        destination[3] = (byte)Flags;
        Sid.Span.CopyTo(destination[4..20]);
        BinaryPrimitives.WriteUInt32BigEndian(destination[20..24], (uint)BodyLength);
    }

    /// <summary>
    /// Parses the header of a complete message and checks version, type and that body_len equals the bytes that follow.
    /// </summary>
    public static Trk1Header Parse(ReadOnlySpan<byte> message, Trk1MessageType expected)
    {
        if (message.Length < Trk1Limits.HeaderLength)
        {
            throw new Trk1Exception(Trk1Failure.Malformed, "shorter than a header");
        }

        if (message[0] != Trk1Limits.Version)
        {
            throw new Trk1Exception(Trk1Failure.BadHeader, "unknown version");
        }

        if (message[1] != (byte)expected)
        {
            throw new Trk1Exception(Trk1Failure.BadHeader, "unexpected message type");
        }

        uint bodyLength = BinaryPrimitives.ReadUInt32BigEndian(message[20..24]);
        if (bodyLength != (uint)(message.Length - Trk1Limits.HeaderLength))
        {
            throw new Trk1Exception(Trk1Failure.Malformed, "body length does not match");
        }

        return new Trk1Header((Trk1MessageType)message[1], (Trk1Suite)message[2], (Trk1Mode)message[3], message[4..20].ToArray(), (int)bodyLength);
    }

    /// <summary>The message type of <paramref name="message"/> without further checks, or null when it is too short.</summary>
    public static Trk1MessageType? PeekType(ReadOnlySpan<byte> message) =>
        message.Length >= Trk1Limits.HeaderLength ? (Trk1MessageType)message[1] : null;

    /// <summary>The sid of <paramref name="message"/> without further checks (empty when too short).</summary>
    public static byte[] PeekSid(ReadOnlySpan<byte> message) =>
        message.Length >= Trk1Limits.HeaderLength ? message[4..20].ToArray() : [];
}

/// <summary>Wire helpers: the generic error and a bounded writer/reader with <c>lp(x)</c> = u16 length ‖ x.</summary>
public static class Trk1Wire
{
    private static readonly byte[] _error = CreateError();

    /// <summary>
    /// The one opaque error for every protocol failure: a header with type 0xFF, suite 0, flags 0, an all-zero sid and
    /// no body. The same 24 bytes whatever went wrong, so failures cannot be told apart by their content.
    /// </summary>
    public static ReadOnlySpan<byte> ErrorMessage => _error;

    /// <summary>True when <paramref name="message"/> is the generic error.</summary>
    public static bool IsError(ReadOnlySpan<byte> message) => message.SequenceEqual(_error);

    private static byte[] CreateError()
    {
        var bytes = new byte[Trk1Limits.HeaderLength];
        new Trk1Header(Trk1MessageType.Error, Trk1Suite.None, Trk1Mode.None, new byte[Trk1Limits.SidLength], 0).WriteTo(bytes);
        return bytes;
    }
}

/// <summary>Appends fields to a growing message; the header is written last with the final body length.</summary>
internal sealed class MessageWriter
{
    private readonly List<byte> _bytes = new(256);

    public MessageWriter()
    {
        _bytes.AddRange(new byte[Trk1Limits.HeaderLength]);
    }

    public int Length => _bytes.Count;

    public MessageWriter Raw(ReadOnlySpan<byte> data)
    {
        foreach (byte b in data)
        {
            _bytes.Add(b);
        }

        return this;
    }

    public MessageWriter U8(int value)
    {
        _bytes.Add((byte)value);
        return this;
    }

    public MessageWriter U32(uint value)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(b, value);
        return Raw(b);
    }

    public MessageWriter U64(long value)
    {
        Span<byte> b = stackalloc byte[8];
        BinaryPrimitives.WriteInt64BigEndian(b, value);
        return Raw(b);
    }

    public MessageWriter Lp(ReadOnlySpan<byte> data)
    {
        if (data.Length > ushort.MaxValue)
        {
            throw new ArgumentException("field longer than 65535 bytes", nameof(data));
        }

        Span<byte> b = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16BigEndian(b, (ushort)data.Length);
        return Raw(b).Raw(data);
    }

    /// <summary>What was written after the (unwritten) header: for payloads that are sealed into another message.</summary>
    public byte[] Body() => _bytes.GetRange(Trk1Limits.HeaderLength, _bytes.Count - Trk1Limits.HeaderLength).ToArray();

    /// <summary>The message with its header; <paramref name="bodyLength"/> defaults to what was written.</summary>
    public byte[] Finish(Trk1MessageType type, Trk1Suite suite, Trk1Mode flags, ReadOnlySpan<byte> sid, int? bodyLength = null)
    {
        var message = _bytes.ToArray();
        new Trk1Header(type, suite, flags, sid.ToArray(), bodyLength ?? (message.Length - Trk1Limits.HeaderLength)).WriteTo(message);
        return message;
    }
}

/// <summary>Reads fields from a span, throwing <see cref="Trk1Exception"/> (Malformed) on any overrun or oversize field.</summary>
internal ref struct FieldReader
{
    private readonly ReadOnlySpan<byte> _data;
    private int _position;

    public FieldReader(ReadOnlySpan<byte> data)
    {
        _data = data;
        _position = 0;
    }

    public readonly int Remaining => _data.Length - _position;

    public readonly int Position => _position;

    public ReadOnlySpan<byte> Take(int count)
    {
        if (count < 0 || count > Remaining)
        {
            throw new Trk1Exception(Trk1Failure.Malformed, "field runs past the end");
        }

        var slice = _data.Slice(_position, count);
        _position += count;
        return slice;
    }

    public byte U8() => Take(1)[0];

    public uint U32() => BinaryPrimitives.ReadUInt32BigEndian(Take(4));

    public long U64() => BinaryPrimitives.ReadInt64BigEndian(Take(8));

    public ReadOnlySpan<byte> Lp(int max, int min = 0)
    {
        int length = BinaryPrimitives.ReadUInt16BigEndian(Take(2));
        if (length > max || length < min)
        {
            throw new Trk1Exception(Trk1Failure.Malformed, "field length out of range");
        }

        return Take(length);
    }

    public readonly void End()
    {
        if (Remaining != 0)
        {
            throw new Trk1Exception(Trk1Failure.Malformed, "trailing bytes");
        }
    }
}
