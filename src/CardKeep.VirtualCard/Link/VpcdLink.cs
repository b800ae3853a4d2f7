using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using CardKeep.VirtualCard.Edge;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace CardKeep.VirtualCard.Link;

/// <summary>
/// Puts a card emulator into a vpcd reader slot (vsmartcard's pcscd driver). The card is the TCP client of
/// vpcd on 127.0.0.1:<c>35963 + slot</c>. Every message is a 2-byte big-endian length then the payload; a
/// 1-byte payload is a control message (00 power off, 01 power on, 02 reset, 04 get ATR), anything else an
/// APDU to answer. Closing the connection removes the card. See /work/shared/specs/piv-and-vpcd.md §1.
/// </summary>
public sealed partial class VpcdLink : IDisposable
{
    public const int BasePort = 35963;
    private const byte PowerOff = 0x00;
    private const byte PowerOn = 0x01;
    private const byte ResetControl = 0x02;
    private const byte GetAtr = 0x04;
    private readonly ICardEmulator _card;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private TcpClient? _client;

    public VpcdLink(ICardEmulator card, int port = BasePort, string host = "127.0.0.1", ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(card);
        _card = card;
        Port = port;
        Host = host;
        _logger = logger ?? NullLogger.Instance;
    }

    public string Host { get; }

    public int Port { get; }

    /// <summary>Port of a vpcd slot: 35963 + slot for the default reader.conf (slot 0 and 1).</summary>
    public static int PortForSlot(int slot) => BasePort + slot;

    /// <summary>Connects to vpcd (the card is inserted) and answers until stopped or vpcd closes the connection.</summary>
    public async Task RunAsync(CancellationToken cancellationToken = default)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stop.Token);
        var token = linked.Token;
        using var client = new TcpClient(AddressFamily.InterNetwork) { NoDelay = true };
        _client = client;
        try
        {
            await client.ConnectAsync(IPAddress.Parse(Host), Port, token).ConfigureAwait(false);
        }
        catch (SocketException e)
        {
            throw new IOException($"cannot reach vpcd at {Host}:{Port} ({e.SocketErrorCode}): is pcscd running with the vsmartcard-vpcd driver?", e);
        }

        LogConnected(_logger, Host, Port);
        var socket = client.Client;
        var stream = client.GetStream();
        var header = new byte[2];
        var buffer = new byte[ushort.MaxValue];
        try
        {
            while (!token.IsCancellationRequested)
            {
                QuickAck(socket);
                if (!await ReadExactlyOrEndAsync(stream, header, token).ConfigureAwait(false))
                {
                    break;
                }

                int length = BinaryPrimitives.ReadUInt16BigEndian(header);
                if (!await ReadExactlyOrEndAsync(stream, buffer.AsMemory(0, length), token).ConfigureAwait(false))
                {
                    break;
                }

                byte[]? reply = Handle(buffer.AsSpan(0, length));
                if (reply is not null)
                {
                    var frame = new byte[reply.Length + 2];
                    BinaryPrimitives.WriteUInt16BigEndian(frame, (ushort)reply.Length);
                    reply.CopyTo(frame, 2);
                    await stream.WriteAsync(frame, token).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            // Stopped: closing the connection ejects the card.
        }
        catch (IOException) when (token.IsCancellationRequested)
        {
        }
        finally
        {
            _card.Reset();
            LogDisconnected(_logger, Host, Port);
        }
    }

    private byte[]? Handle(ReadOnlySpan<byte> message)
    {
        if (message.Length == 1)
        {
            switch (message[0])
            {
                case GetAtr:
                    return _card.Atr.ToArray();
                case PowerOff or PowerOn or ResetControl:
                    _card.Reset();
                    return null;
                default:
                    return null;
            }
        }

        try
        {
            return _card.Process(message);
        }
#pragma warning disable CA1031 // A card answers every command; an emulator bug must not remove the card.
        catch (Exception e)
#pragma warning restore CA1031
        {
            LogEmulatorError(_logger, e.GetType().Name);
            return [0x6F, 0x00];
        }
    }

    /// <summary>
    /// vpcd 0.8 sends a message's 2-byte length and its body in two send() calls. With Nagle on its socket the
    /// body waits for our ACK of the length, and Linux delays that ACK by up to 40 ms: every APDU would cost
    /// ~44 ms. TCP_QUICKACK (Linux, not sticky, so set before every read) makes the kernel ACK at once.
    /// </summary>
    private static void QuickAck(Socket socket)
    {
        if (OperatingSystem.IsLinux())
        {
            const int IpProtoTcp = 6;
            const int TcpQuickAck = 12;
            try
            {
                socket.SetRawSocketOption(IpProtoTcp, TcpQuickAck, BitConverter.GetBytes(1));
            }
            catch (SocketException)
            {
                // Not fatal: only slower.
            }
        }
    }

    private static async Task<bool> ReadExactlyOrEndAsync(NetworkStream stream, Memory<byte> buffer, CancellationToken token)
    {
        int read = 0;
        while (read < buffer.Length)
        {
            int n = await stream.ReadAsync(buffer[read..], token).ConfigureAwait(false);
            if (n == 0)
            {
                return false;
            }

            read += n;
        }

        return true;
    }

    /// <summary>Removes the card: closes the connection to vpcd.</summary>
    public void Eject()
    {
        _stop.Cancel();
        _client?.Close();
    }

    public void Dispose()
    {
        Eject();
        _stop.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "card connected to vpcd at {Host}:{Port}")]
    private static partial void LogConnected(ILogger logger, string host, int port);

    [LoggerMessage(Level = LogLevel.Information, Message = "card disconnected from vpcd at {Host}:{Port}")]
    private static partial void LogDisconnected(ILogger logger, string host, int port);

    [LoggerMessage(Level = LogLevel.Error, Message = "emulator failed on an APDU ({ExceptionType}); answered 6F00")]
    private static partial void LogEmulatorError(ILogger logger, string exceptionType);
}
