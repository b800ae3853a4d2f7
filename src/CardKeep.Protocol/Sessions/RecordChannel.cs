using System.Buffers.Binary;

namespace CardKeep.Protocol.Sessions;

/// <summary>
/// The record layer after S3 (S4, S5 and gateway messages): AES-256-GCM with a per-direction key and IV, nonce =
/// IV XOR (0^4 ‖ seq_be64), body = seq(8) ‖ ciphertext ‖ tag, AD = header ‖ seq ‖ TH3. Each direction's sequence
/// starts at 0 and must arrive exactly in order (C11). Thread-safe; Dispose zeroes the keys.
/// </summary>
public sealed class RecordChannel : IDisposable
{
    private readonly Lock _gate = new();
    private readonly SessionKeys _keys;
    private readonly bool _isClient;
    private readonly byte[] _sid;
    private readonly Trk1Suite _suite;
    private readonly Trk1Mode _flags;
    private ulong _sendSeq;
    private ulong _receiveSeq;

    private RecordChannel(SessionKeys keys, bool isClient, byte[] sid, Trk1Suite suite, Trk1Mode flags)
    {
        _keys = keys;
        _isClient = isClient;
        _sid = sid;
        _suite = suite;
        _flags = flags;
    }

    /// <summary>The client's end (sends c2s, receives s2c); owns <paramref name="keys"/>.</summary>
    public static RecordChannel ForClient(SessionKeys keys, ReadOnlySpan<byte> sid, Trk1Suite suite, Trk1Mode flags) => new(keys, true, sid.ToArray(), suite, flags);

    /// <summary>The server's end (sends s2c, receives c2s); owns <paramref name="keys"/>.</summary>
    public static RecordChannel ForServer(SessionKeys keys, ReadOnlySpan<byte> sid, Trk1Suite suite, Trk1Mode flags) => new(keys, false, sid.ToArray(), suite, flags);

    /// <summary>Seals <paramref name="payload"/> as the next record of this direction.</summary>
    public byte[] Seal(Trk1MessageType type, ReadOnlySpan<byte> payload)
    {
        lock (_gate)
        {
            ulong seq = _sendSeq++;
            var header = new MessageWriter().Finish(type, _suite, _flags, _sid, 8 + payload.Length + Trk1Limits.TagLength);
            var seqBytes = new byte[8];
            BinaryPrimitives.WriteUInt64BigEndian(seqBytes, seq);
            var key = _isClient ? _keys.ClientToServerKey : _keys.ServerToClientKey;
            var iv = _isClient ? _keys.ClientToServerIv : _keys.ServerToClientIv;
            var sealedPayload = Trk1Crypto.Seal(key, Nonce(iv, seq), payload, Trk1Crypto.Concat(header, seqBytes, _keys.Th3));
            return Trk1Crypto.Concat(header, seqBytes, sealedPayload);
        }
    }

    /// <summary>Opens the next record of the other direction; wrong type, sequence, sid or tag is a <see cref="Trk1Exception"/>.</summary>
    public byte[] Open(byte[] message, Trk1MessageType expected, int maxPayload)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (message.Length > Trk1Limits.HeaderLength + 8 + maxPayload + Trk1Limits.TagLength || message.Length < Trk1Limits.HeaderLength + 8 + Trk1Limits.TagLength)
        {
            throw new Trk1Exception(Trk1Failure.Malformed, "record length out of range");
        }

        var header = Trk1Header.Parse(message, expected);
        if (header.Suite != _suite || header.Flags != _flags || !header.Sid.Span.SequenceEqual(_sid))
        {
            throw new Trk1Exception(Trk1Failure.BadHeader, "record header does not match the session");
        }

        lock (_gate)
        {
            ulong seq = BinaryPrimitives.ReadUInt64BigEndian(message.AsSpan(Trk1Limits.HeaderLength, 8));
            if (seq != _receiveSeq)
            {
                throw new Trk1Exception(Trk1Failure.Authentication, "record out of sequence");
            }

            var key = _isClient ? _keys.ServerToClientKey : _keys.ClientToServerKey;
            var iv = _isClient ? _keys.ServerToClientIv : _keys.ClientToServerIv;
            int prefix = Trk1Limits.HeaderLength + 8;
            var payload = Trk1Crypto.Open(key, Nonce(iv, seq), message.AsSpan(prefix), Trk1Crypto.Concat(message[..prefix], _keys.Th3));
            _receiveSeq++;
            return payload;
        }
    }

    private static byte[] Nonce(byte[] iv, ulong seq)
    {
        var nonce = (byte[])iv.Clone();
        Span<byte> s = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(s, seq);
        for (int i = 0; i < 8; i++)
        {
            nonce[4 + i] ^= s[i];
        }

        return nonce;
    }

    /// <inheritdoc/>
    public void Dispose() => _keys.Dispose();
}
