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

    public IsoChannel(ICardChannel inner, bool ownsInner = true, int maxChunk = CommandApdu.MaxShortData)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxChunk, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxChunk, CommandApdu.MaxShortData);
        _inner = inner;
        _ownsInner = ownsInner;
        MaxChunk = maxChunk;
    }

    /// <summary>Largest data field sent in one APDU before the command is chained.</summary>
    public int MaxChunk { get; }

    /// <summary>
    /// Send extended-length APDUs as they are instead of chaining them. Off by default: OpenSC, libykpiv
    /// and most readers and cards speak short APDUs, and vpcd delivers either.
    /// </summary>
    public bool UseExtendedLength { get; init; }

    public string Name => _inner.Name;

    public ReadOnlyMemory<byte> Atr => _inner.Atr;

    public IDisposable BeginTransaction() => _inner.BeginTransaction();

    public ResponseApdu Transmit(CommandApdu command)
    {
        ArgumentNullException.ThrowIfNull(command);
        if (UseExtendedLength)
        {
            return Exchange(command);
        }

        if (command.Ne > CommandApdu.MaxShortNe)
        {
            // Short APDUs ask for at most 256 bytes; the rest comes through GET RESPONSE.
            command = command.WithNe(CommandApdu.MaxShortNe);
        }

        if (command.Data.Length <= MaxChunk)
        {
            return Exchange(command);
        }

        // Command chaining: every piece but the last carries CLA|0x10 and no Le.
        var data = command.Data;
        int offset = 0;
        while (data.Length - offset > MaxChunk)
        {
            var piece = new CommandApdu((byte)(command.Cla | 0x10), command.Ins, command.P1, command.P2, data.Span.Slice(offset, MaxChunk));
            var interim = _inner.Transmit(piece);
            if (!interim.IsSuccess)
            {
                return interim;
            }

            offset += MaxChunk;
        }

        var last = new CommandApdu(command.Cla, command.Ins, command.P1, command.P2, data.Span[offset..], command.Ne);
        return Exchange(last);
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
