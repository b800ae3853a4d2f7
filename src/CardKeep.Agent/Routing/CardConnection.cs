using System.Globalization;
using System.Security.Cryptography;
using CardKeep.Agent.Keys;
using CardKeep.Agent.SshAgent;
using CardKeep.Cards;
using CardKeep.Cards.Channels;
using CardKeep.Cards.Iso7816;
using CardKeep.Cards.PcSc;
using CardKeep.Cards.Piv;

namespace CardKeep.Agent.Routing;

/// <summary>A key found on a card: its slot, PIV algorithm, SSH public key and certificate (when the slot had one).</summary>
public sealed record CardKeyInfo(PivSlot Slot, PivAlgorithm Algorithm, SshPublicKey PublicKey, byte[]? Certificate);

/// <summary>
/// The agent's connection to one user's card: a PIV session over PC/SC on the session's reader, and the PIN, cached in
/// agent memory for as long as the session lasts so operations need no prompt. Every private-key operation runs under
/// one lock; a card that answers 6982 (PIN needed again: a PIN-always slot, or another client reset the card) gets the
/// cached PIN once and the operation is retried. <see cref="End"/> (logout, card removed) makes every later and every
/// in-flight operation fail with <see cref="KeyUnavailableException"/>, then zeroes the PIN.
/// </summary>
public sealed class CardConnection : IDisposable
{
    private static readonly PivSlot[] _keySlots =
        [PivSlot.Authentication, PivSlot.Signature, PivSlot.KeyManagement, PivSlot.CardAuthentication, .. Enumerable.Range(0x82, 20).Select(b => (PivSlot)b)];

    private readonly Lock _lock = new();
    private readonly ICardChannel _channel;
    private readonly IDisposable? _context;
    private PivSession _piv;
    private byte[] _pin = [];
    private volatile string? _endReason;

    private CardConnection(string reader, ICardChannel channel, IDisposable? context)
    {
        Reader = reader;
        _channel = channel;
        _context = context;
        _piv = PivSession.Open(channel);
        Serial = _piv.ReadCardId();
    }

    public string Reader { get; }

    /// <summary>The card's serial: the YubiKey-style serial (GET SERIAL), else the CHUID card UUID, else "unknown".</summary>
    public string Serial { get; }

    public bool IsEnded => _endReason is not null;

    /// <summary>Connects to the card in <paramref name="reader"/> through pcscd and selects PIV (no PIN yet).</summary>
    public static CardConnection Open(string reader)
    {
        var context = PcscContext.Establish();
        try
        {
            var channel = context.Connect(reader);
            try
            {
                return new CardConnection(reader, channel, context);
            }
            catch
            {
                channel.Dispose();
                throw;
            }
        }
        catch
        {
            context.Dispose();
            throw;
        }
    }

    /// <summary>A connection over any channel (an in-process emulator in tests); the connection owns the channel.</summary>
    public static CardConnection Over(ICardChannel channel)
    {
        ArgumentNullException.ThrowIfNull(channel);
        return new CardConnection(channel.Name, channel, null);
    }

    /// <summary>VERIFY PIN; on success the PIN is kept (a copy, zeroed at <see cref="End"/>). A wrong PIN raises <see cref="PivPinException"/>.</summary>
    public void VerifyPin(ReadOnlySpan<byte> pin)
    {
        lock (_lock)
        {
            ThrowIfEnded();
            _piv.VerifyPin(pin);
            CryptographicOperations.ZeroMemory(_pin);
            _pin = pin.ToArray();
        }
    }

    /// <summary>The keys on the card: every key slot with a certificate or (YubiKey metadata) a public key.</summary>
    public IReadOnlyList<CardKeyInfo> ReadKeys() => Use(piv =>
    {
        var keys = new List<CardKeyInfo>();
        foreach (var slot in _keySlots)
        {
            var certificate = piv.ReadCertificateBytes(slot);
            PivPublicKey? key = null;
            if (certificate is not null)
            {
                using var x509 = System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadCertificate(certificate);
                key = PivPublicKey.FromSubjectPublicKeyInfo(x509.PublicKey.ExportSubjectPublicKeyInfo());
            }
            else
            {
                try
                {
                    key = piv.GetMetadata(slot).PublicKey;
                }
                catch (CardStatusException)
                {
                    // No key in the slot, or a card without YubiKey metadata.
                }
            }

            if (key is not null && (key.Algorithm.IsRsa() || key.Algorithm.IsEcc()))
            {
                keys.Add(new CardKeyInfo(slot, key.Algorithm, SshPublicKey.FromPiv(key), certificate));
            }
        }

        return keys;
    });

    /// <summary>Runs a card operation under the lock, re-verifying the cached PIN once when the card asks for it.</summary>
    public T Use<T>(Func<PivSession, T> operation)
    {
        ArgumentNullException.ThrowIfNull(operation);
        lock (_lock)
        {
            ThrowIfEnded();
            try
            {
                T result;
                try
                {
                    result = operation(_piv);
                }
                catch (CardStatusException e) when (e.StatusWord == StatusWord.SecurityStatusNotSatisfied && _pin.Length > 0)
                {
                    ThrowIfEnded();
                    _piv.VerifyPin(_pin);
                    result = operation(_piv);
                }
                catch (PcscCardAbsentException e) when (e.Code == PcscErrors.ResetCard && _channel is PcscCardChannel pcsc && _pin.Length > 0)
                {
                    // Another client reset the card: reconnect, select again, verify again.
                    ThrowIfEnded();
                    pcsc.Reconnect();
                    _piv.Dispose();
                    _piv = PivSession.Open(_channel);
                    _piv.VerifyPin(_pin);
                    result = operation(_piv);
                }

                // The card left while the operation ran: its answer (if any) is not given out.
                ThrowIfEnded();
                return result;
            }
            catch (PcscCardAbsentException e) when (e.Code != PcscErrors.ResetCard)
            {
                throw new KeyUnavailableException($"the card in '{Reader}' was removed: {e.Message}", e);
            }
        }
    }

    /// <summary>
    /// Ends the connection: from now on every operation fails with <paramref name="reason"/>. Waits for an operation in
    /// flight (a removed card fails it at once), then zeroes the PIN and releases the card.
    /// </summary>
    public void End(string reason)
    {
        MarkEnded(reason);
        lock (_lock)
        {
            CryptographicOperations.ZeroMemory(_pin);
            _pin = [];
            _piv.Dispose();
            _channel.Dispose();
            _context?.Dispose();
        }
    }

    /// <summary>Makes every later operation, and the answer of one in flight, fail at once; does not wait (see <see cref="End"/>).</summary>
    public void MarkEnded(string reason) => _endReason ??= reason;

    public void Dispose() => End("the session ended");

    private void ThrowIfEnded()
    {
        if (_endReason is { } reason)
        {
            throw new KeyUnavailableException($"the card session on '{Reader}' has ended: {reason}");
        }
    }
}
