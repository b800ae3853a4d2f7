using System.Security.Cryptography;
using CardKeep.Cards.Iso7816;

namespace CardKeep.VirtualCard.Edge;

/// <summary>
/// Response chaining (ISO 7816-4 §5.3.4): a response longer than the requested length (at most 256 bytes per
/// R-APDU) is sent in pieces; each but the last ends with 61xx (xx = bytes left, 00 for 256 or more) and the host
/// fetches the next piece with GET RESPONSE. The pending data may hold secrets (a private object, an ECDH secret),
/// so it is zeroed when dropped.
/// </summary>
internal sealed class ResponseChain
{
    /// <summary>Most data bytes in one R-APDU.</summary>
    public const int MaxPiece = 256;

    private byte[]? _pending;
    private int _offset;

    /// <summary>True while response bytes wait for GET RESPONSE.</summary>
    public bool HasPending => _pending is not null;

    /// <summary>
    /// Encodes <paramref name="reply"/> as an R-APDU of at most <paramref name="ne"/> (no Le: 256) data bytes, keeping the
    /// rest for GET RESPONSE. Replaces (and zeroes) anything pending.
    /// </summary>
    public byte[] Start(ApduReply reply, int? ne)
    {
        Clear();
        if (reply.Data.Length == 0 || !reply.Status.IsSuccess)
        {
            return [reply.Status.Sw1, reply.Status.Sw2];
        }

        _pending = reply.Data;
        _offset = 0;
        return Next(ne);
    }

    /// <summary>The next piece of the pending response (GET RESPONSE), or 6985 when nothing is pending.</summary>
    public byte[] Next(int? ne)
    {
        if (_pending is null)
        {
            return [StatusWord.ConditionsOfUseNotSatisfied.Sw1, StatusWord.ConditionsOfUseNotSatisfied.Sw2];
        }

        int limit = Math.Min(ne ?? MaxPiece, MaxPiece);
        int count = Math.Min(limit, _pending.Length - _offset);
        int left = _pending.Length - _offset - count;
        var apdu = new byte[count + 2];
        _pending.AsSpan(_offset, count).CopyTo(apdu);
        var status = left == 0 ? StatusWord.Success : StatusWord.BytesAvailable(left >= MaxPiece ? 0 : left);
        apdu[^2] = status.Sw1;
        apdu[^1] = status.Sw2;
        _offset += count;
        if (left == 0)
        {
            Clear();
        }

        return apdu;
    }

    /// <summary>Drops (and zeroes) the pending response.</summary>
    public void Clear()
    {
        CryptographicOperations.ZeroMemory(_pending);
        _pending = null;
        _offset = 0;
    }
}
