using System.Runtime.InteropServices;
using System.Security.Cryptography;
using CardKeep.Cards.Iso7816;

namespace CardKeep.Cards.Channels;

/// <summary>
/// Adds the ISO 7816-4 transport rules on top of a raw channel:
/// command chaining (CLA bit 0x10) for data longer than one short APDU, GET RESPONSE while the card
/// answers 61xx, and one resend with the exact Le when it answers 6Cxx.
/// </summary>
public sealed class IsoChannel : ICardChannel
{
    private const byte InsGetResponse = 0xC0;
    private const int MaxGetResponseRounds = 1024;
    private readonly ICardChannel _inner;
    private readonly bool _ownsInner;

    /// <param name="inner">The raw channel.</param>
    /// <param name="ownsInner">Dispose <paramref name="inner"/> with this channel.</param>
    /// <param name="maxChunk">Largest data field of one APDU; longer commands are chained.</param>
    /// <param name="extendedLength">
    /// Send extended-length commands as they are instead of chaining them. Off by default: <see cref="CommandApdu"/>
    /// marks every command with more than 255 data bytes as extended, and PIV clients (OpenSC, libykpiv) and many
    /// readers only use short APDUs with chaining.
    /// </param>
    public IsoChannel(ICardChannel inner, bool ownsInner = true, int maxChunk = CommandApdu.MaxShortData, bool extendedLength = false)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxChunk, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxChunk, CommandApdu.MaxShortData);
        _inner = inner;
        _ownsInner = ownsInner;
        MaxChunk = maxChunk;
        ExtendedLength = extendedLength;
    }

    /// <summary>Largest data field sent in one APDU before the command is chained.</summary>
    public int MaxChunk { get; }

    /// <summary>True when extended-length commands pass through unchained.</summary>
    public bool ExtendedLength { get; }

    public string Name => _inner.Name;

    public ReadOnlyMemory<byte> Atr => _inner.Atr;

    public IDisposable BeginTransaction() => _inner.BeginTransaction();

    public ResponseApdu Transmit(CommandApdu command)
    {
        ArgumentNullException.ThrowIfNull(command);
        if (ExtendedLength && command.IsExtended)
        {
            return Exchange(command);
        }

        if (command.Ne > CommandApdu.MaxShortNe)
        {
            // A short APDU asks for at most 256 bytes; the rest comes through GET RESPONSE.
            command = command.WithNe(CommandApdu.MaxShortNe);
        }

        if (command.Data.Length <= MaxChunk)
        {
            return Exchange(command);
        }

        // Command chaining: every piece but the last carries CLA|0x10 and no Le. The pieces are this channel's own
        // copies of the data (which may be a key being imported), so they are wiped once sent.
        var data = command.Data;
        int offset = 0;
        while (data.Length - offset > MaxChunk)
        {
            var piece = new CommandApdu((byte)(command.Cla | 0x10), command.Ins, command.P1, command.P2, data.Span.Slice(offset, MaxChunk));
            var interim = TransmitAndWipe(piece);
            if (!interim.IsSuccess)
            {
                return interim;
            }

            offset += MaxChunk;
        }

        var last = new CommandApdu(command.Cla, command.Ins, command.P1, command.P2, data.Span[offset..], command.Ne);
        try
        {
            return Exchange(last);
        }
        finally
        {
            Wipe(last);
        }
    }

    /// <summary>Zeroes the data field of a command this code created and no longer needs.</summary>
    internal static void Wipe(CommandApdu command) =>
        CryptographicOperations.ZeroMemory(MemoryMarshal.AsMemory(command.Data).Span);

    private ResponseApdu TransmitAndWipe(CommandApdu piece)
    {
        try
        {
            return _inner.Transmit(piece);
        }
        finally
        {
            Wipe(piece);
        }
    }

    private ResponseApdu Exchange(CommandApdu command)
    {
        var response = _inner.Transmit(command);
        if (response.StatusWord.IsWrongLe)
        {
            int exact = response.StatusWord.Sw2 == 0 ? 256 : response.StatusWord.Sw2;
            response = _inner.Transmit(command.WithNe(exact));
        }

        if (!response.StatusWord.IsMoreDataAvailable)
        {
            return response;
        }

        var collected = new List<byte>(response.Data.Length + 256);
        collected.AddRange(response.Data.Span);
        for (int round = 0; response.StatusWord.IsMoreDataAvailable; round++)
        {
            if (round == MaxGetResponseRounds)
            {
                throw new CardFormatException($"card kept answering 61xx after {MaxGetResponseRounds} GET RESPONSE commands");
            }

            int ne = response.StatusWord.Sw2 == 0 ? 256 : response.StatusWord.Sw2;
            response = _inner.Transmit(new CommandApdu((byte)(command.Cla & 0x03), InsGetResponse, 0, 0, default, ne));
            collected.AddRange(response.Data.Span);
        }

        return new ResponseApdu(collected.ToArray(), response.StatusWord);
    }

    public void Dispose()
    {
        if (_ownsInner)
        {
            _inner.Dispose();
        }
    }
}
