using System.Security.Cryptography;
using CardKeep.Cards.Iso7816;

namespace CardKeep.VirtualCard.Edge;

/// <summary>
/// Command chaining (ISO 7816-4 §5.1.1.1): the data of the pieces sent with CLA bit 0x10 are collected until the
/// last piece (bit clear) arrives for the same INS, P1 and P2. The total is capped at <see cref="MaxLength"/> bytes.
/// The buffer may hold secrets (an imported private key), so it is zeroed whenever it is released.
/// </summary>
internal sealed class CommandChain
{
    /// <summary>Largest total data a chain may carry (64 KiB).</summary>
    public const int MaxLength = 64 * 1024;

    private byte[] _buffer = [];
    private int _length;
    private byte _ins;
    private byte _p1;
    private byte _p2;

    /// <summary>True while pieces have been collected and the last one has not come yet.</summary>
    public bool IsActive { get; private set; }

    /// <summary>True when <paramref name="command"/> belongs to the chain in progress (same INS, P1, P2).</summary>
    public bool Continues(CommandApdu command) => IsActive && command.Ins == _ins && command.P1 == _p1 && command.P2 == _p2;

    /// <summary>
    /// Adds the data of <paramref name="command"/>, starting a chain when none is active. False (and the chain
    /// dropped) when the total would exceed <see cref="MaxLength"/>.
    /// </summary>
    public bool Append(CommandApdu command)
    {
        if (!IsActive)
        {
            IsActive = true;
            _ins = command.Ins;
            _p1 = command.P1;
            _p2 = command.P2;
        }

        var data = command.Data.Span;
        if (_length + data.Length > MaxLength)
        {
            Clear();
            return false;
        }

        if (_length + data.Length > _buffer.Length)
        {
            var larger = new byte[Math.Min(MaxLength, Math.Max(_buffer.Length * 2, _length + data.Length + 256))];
            _buffer.AsSpan(0, _length).CopyTo(larger);
            CryptographicOperations.ZeroMemory(_buffer);
            _buffer = larger;
        }

        data.CopyTo(_buffer.AsSpan(_length));
        _length += data.Length;
        return true;
    }

    /// <summary>The collected data as a new array the caller owns (and zeroes); the chain is cleared.</summary>
    public byte[] Take()
    {
        var all = _buffer.AsSpan(0, _length).ToArray();
        Clear();
        return all;
    }

    /// <summary>Drops the chain and zeroes what it collected.</summary>
    public void Clear()
    {
        CryptographicOperations.ZeroMemory(_buffer);
        _buffer = [];
        _length = 0;
        IsActive = false;
    }
}
