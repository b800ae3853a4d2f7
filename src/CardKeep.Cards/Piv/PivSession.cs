using System.Globalization;
using System.Security.Cryptography;
using CardKeep.Cards.Channels;
using CardKeep.Cards.Iso7816;

namespace CardKeep.Cards.Piv;

/// <summary>
/// A PIV client over one card: a YubiKey, any SP 800-73-4 card, or a CardKeep virtual card. Wraps the channel in an
/// <see cref="IsoChannel"/>, so long commands are chained and 61xx responses are fetched with GET RESPONSE, and runs
/// each operation in one card transaction. Failures raise <see cref="CardStatusException"/> (naming the operation and
/// status word) or one of its PIV subclasses; malformed card answers raise <see cref="CardFormatException"/>.
/// Secrets are taken as spans; every buffer the session builds from them is zeroed after use.
/// </summary>
public sealed partial class PivSession : IDisposable
{
    private readonly IsoChannel _channel;
    private readonly ICardChannel _inner;
    private readonly bool _ownsChannel;
    private IDisposable? _transaction;
    private int _transactionDepth;
    private bool _disposed;

    /// <summary>Creates a session. Nothing is sent until the first call; call <see cref="Select"/> first (or use <see cref="Open"/>).</summary>
    /// <param name="channel">The card.</param>
    /// <param name="ownsChannel">Dispose <paramref name="channel"/> with the session.</param>
    public PivSession(ICardChannel channel, bool ownsChannel = false)
    {
        ArgumentNullException.ThrowIfNull(channel);
        _inner = channel;
        _ownsChannel = ownsChannel;
        _channel = new IsoChannel(channel, ownsInner: false);
    }

    /// <summary>The application property template of the last successful <see cref="Select"/>, or null.</summary>
    public PivApplicationProperty? ApplicationProperty { get; private set; }

    /// <summary>Source of host randomness (management-key challenges); replaceable by tests.</summary>
    internal Action<Span<byte>> FillRandom { get; set; } = RandomNumberGenerator.Fill;

    /// <summary>Creates a session and selects the PIV application.</summary>
    public static PivSession Open(ICardChannel channel, bool ownsChannel = false)
    {
        var session = new PivSession(channel, ownsChannel);
        try
        {
            session.Select();
            return session;
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    /// <summary>
    /// SELECTs the PIV application and returns its application property template. A card that answers 9000 without a
    /// template gets an empty one (<see cref="PivApplicationProperty.IsPiv"/> false).
    /// </summary>
    public PivApplicationProperty Select()
    {
        using var _ = Transaction();
        var data = SendForData(PivCommands.Select(), "SELECT PIV");
        ApplicationProperty = data.IsEmpty ? new PivApplicationProperty([], []) : PivApplicationProperty.Parse(data);
        return ApplicationProperty;
    }

    /// <summary>Ends the session; disposes the channel when the session owns it.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _transaction?.Dispose();
        _transaction = null;
        _channel.Dispose();
        if (_ownsChannel)
        {
            _inner.Dispose();
        }
    }

    /// <summary>Opens a card transaction unless one is already open in this session (operations nest freely).</summary>
    private Scope Transaction()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_transactionDepth++ == 0)
        {
            try
            {
                _transaction = _channel.BeginTransaction();
            }
            catch
            {
                _transactionDepth--;
                throw;
            }
        }

        return new Scope(this);
    }

    private void EndTransaction()
    {
        if (--_transactionDepth == 0)
        {
            _transaction?.Dispose();
            _transaction = null;
        }
    }

    /// <summary>Sends one command (chained / with GET RESPONSE as needed) and returns the final response.</summary>
    private ResponseApdu Send(CommandApdu command, bool secret = false)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        try
        {
            return _channel.Transmit(command);
        }
        finally
        {
            if (secret)
            {
                IsoChannel.Wipe(command);
            }
        }
    }

    /// <summary>Sends and returns the data, or throws <see cref="CardStatusException"/> naming <paramref name="operation"/>.</summary>
    private ReadOnlyMemory<byte> SendForData(CommandApdu command, string operation, bool secret = false) =>
        Send(command, secret).GetData(operation);

    private static string SlotText(PivSlot slot) => string.Create(CultureInfo.InvariantCulture, $"slot {(byte)slot:X2}");

    private readonly struct Scope(PivSession session) : IDisposable
    {
        public void Dispose() => session.EndTransaction();
    }
}
