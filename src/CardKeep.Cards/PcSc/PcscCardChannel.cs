using System.Security.Cryptography;
using CardKeep.Cards.Channels;
using CardKeep.Cards.Iso7816;

namespace CardKeep.Cards.PcSc;

/// <summary>
/// A connection to the card in one reader (SCardConnect). <see cref="Transmit"/> is one raw exchange;
/// wrap it in <see cref="IsoChannel"/> for chaining and GET RESPONSE. Dispose disconnects with
/// <see cref="DisposeDisposition"/> (Leave by default).
/// </summary>
public sealed unsafe class PcscCardChannel : ICardChannel
{
    private const int ReceiveBufferSize = CommandApdu.MaxExtendedNe + 2;
    private readonly PcscContext _context;
    private readonly Lock _lock = new();
    private nint _card;
    private byte[] _atr = [];

    internal PcscCardChannel(PcscContext context, string reader, nint card, CardProtocol protocol)
    {
        _context = context;
        Name = reader;
        _card = card;
        Protocol = protocol;
        RefreshStatus();
    }

    public string Name { get; }

    public ReadOnlyMemory<byte> Atr => _atr;

    public CardProtocol Protocol { get; private set; }

    /// <summary>What Dispose does to the card: leave it (default), reset it, or power it down.</summary>
    public Disposition DisposeDisposition { get; set; } = Disposition.Leave;

    private nint Card
    {
        get
        {
            ObjectDisposedException.ThrowIf(_card == 0, this);
            return _card;
        }
    }

    public ResponseApdu Transmit(CommandApdu command)
    {
        ArgumentNullException.ThrowIfNull(command);
        var send = command.Encode();
        var receive = new byte[ReceiveBufferSize];
        nuint receiveLength = (nuint)receive.Length;
        var pci = new NativeMethods.IoRequest { Protocol = (nuint)(int)Protocol, PciLength = (nuint)sizeof(NativeMethods.IoRequest) };
        nint result;
        try
        {
            lock (_lock)
            {
                fixed (byte* s = send)
                fixed (byte* r = receive)
                {
                    result = NativeMethods.Transmit(Card, &pci, s, (nuint)send.Length, null, r, ref receiveLength);
                }
            }
        }
        finally
        {
            // The encoded command may carry a PIN or key material.
            CryptographicOperations.ZeroMemory(send);
        }

        PcscException.ThrowIfError(result, "SCardTransmit", Name);
        if (receiveLength < 2)
        {
            // vpcd reports success with no bytes when the card goes away mid-command, and notices the removal
            // at its next presence poll (~0.44 s): ask pcscd for a while what happened, then give a typed error.
            var deadline = DateTime.UtcNow.AddSeconds(1.5);
            do
            {
                ThrowIfCardGone("SCardTransmit");
                Thread.Sleep(50);
            }
            while (DateTime.UtcNow < deadline);

            throw new PcscException(PcscErrors.CommError, "SCardTransmit", Name, $"the card answered {receiveLength} bytes, without a status word");
        }

        return ResponseApdu.Parse(receive.AsSpan(0, (int)receiveLength));
    }

    public IDisposable BeginTransaction()
    {
        lock (_lock)
        {
            PcscException.ThrowIfError(NativeMethods.BeginTransaction(Card), "SCardBeginTransaction", Name);
        }

        return new Transaction(this);
    }

    /// <summary>Ends the current transaction with <paramref name="disposition"/> (SCardEndTransaction).</summary>
    public void EndTransaction(Disposition disposition = Disposition.Leave)
    {
        lock (_lock)
        {
            PcscException.ThrowIfError(NativeMethods.EndTransaction(Card, (nuint)(int)disposition), "SCardEndTransaction", Name);
        }
    }

    /// <summary>Re-establishes the connection, e.g. after another client reset the card (SCardReconnect).</summary>
    public void Reconnect(ShareMode share = ShareMode.Shared, CardProtocol protocols = CardProtocol.Any, Disposition initialization = Disposition.Leave)
    {
        lock (_lock)
        {
            PcscException.ThrowIfError(
                NativeMethods.Reconnect(Card, (nuint)(int)share, (nuint)(int)protocols, (nuint)(int)initialization, out nuint active),
                "SCardReconnect",
                Name);
            Protocol = (CardProtocol)(int)active;
        }

        RefreshStatus();
    }

    /// <summary>Disconnects now with <paramref name="disposition"/>; later calls throw ObjectDisposedException.</summary>
    public void Disconnect(Disposition disposition)
    {
        lock (_lock)
        {
            if (_card == 0)
            {
                return;
            }

            nint result = NativeMethods.Disconnect(_card, (nuint)(int)disposition);
            _card = 0;
            PcscException.ThrowIfError(result, "SCardDisconnect", Name);
        }
    }

    private void ThrowIfCardGone(string operation)
    {
        nuint atrLength = 0;
        nuint readerLength = 0;
        nint result;
        ReaderStates state;
        lock (_lock)
        {
            result = NativeMethods.Status(Card, null, ref readerLength, out nuint rawState, out _, null, ref atrLength);
            state = (ReaderStates)(uint)rawState;
        }

        if (result != 0)
        {
            throw PcscException.Create(unchecked((uint)result), operation, Name);
        }

        // pcsc-lite's SCardStatus state is SCARD_ABSENT (2) / SCARD_PRESENT (4) / … (not the SCARD_STATE_* bits).
        if ((uint)state <= 2)
        {
            throw PcscException.Create(PcscErrors.RemovedCard, operation, Name);
        }
    }

    private void RefreshStatus()
    {
        var atr = new byte[NativeMethods.MaxAtrSize];
        nuint atrLength = (nuint)atr.Length;
        nuint readerLength = 0;
        nint result;
        lock (_lock)
        {
            fixed (byte* a = atr)
            {
                result = NativeMethods.Status(Card, null, ref readerLength, out _, out _, a, ref atrLength);
            }
        }

        PcscException.ThrowIfError(result, "SCardStatus", Name);
        _atr = atr.AsSpan(0, (int)atrLength).ToArray();
    }

    public void Dispose()
    {
        try
        {
            Disconnect(DisposeDisposition);
        }
        catch (PcscException)
        {
            // The card or pcscd is gone; the handle is released either way.
        }
    }

    private sealed class Transaction(PcscCardChannel channel) : IDisposable
    {
        private bool _ended;

        public void Dispose()
        {
            if (_ended)
            {
                return;
            }

            _ended = true;
            try
            {
                channel.EndTransaction();
            }
            catch (PcscException)
            {
                // Ending a transaction on a removed card fails; there is nothing left to release.
            }
            catch (ObjectDisposedException)
            {
                // Disconnected inside the transaction.
            }
        }
    }
}
