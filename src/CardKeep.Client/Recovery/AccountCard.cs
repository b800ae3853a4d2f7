using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CardKeep.Cards;
using CardKeep.Cards.Channels;
using CardKeep.Cards.PcSc;
using CardKeep.Cards.Piv;
using CardKeep.Protocol.Recovery;

namespace CardKeep.Client.Recovery;

/// <summary>
/// The card an account is bound to, as the account commands use it: its ID (the same one the agent and the gate
/// read: GET SERIAL in decimal, else <c>uuid:</c> and the CHUID's card UUID), its PIV Authentication (9A) public key,
/// and a proof of possession: the server's nonce signed by the 9A key after the PIN (<see cref="CardProof"/>).
/// </summary>
public sealed class AccountCard : IDisposable
{
    private readonly IDisposable? _context;
    private readonly PivSession _piv;

    private AccountCard(string reader, ICardChannel channel, IDisposable? context)
    {
        Reader = reader;
        _context = context;
        _piv = PivSession.Open(channel, ownsChannel: true);
        Id = ReadId(_piv);
    }

    /// <summary>The reader the card is in.</summary>
    public string Reader { get; }

    /// <summary>The card's ID (see the class summary).</summary>
    public string Id { get; }

    /// <summary>The PIV session (for the card manager and the token client, which share it).</summary>
    public PivSession Session => _piv;

    /// <summary>Connects through pcscd to the card in the reader named by <paramref name="selector"/> (name, index or unique substring).</summary>
    public static AccountCard Open(string selector)
    {
        var context = PcscContext.Establish();
        try
        {
            string reader = context.ResolveReader(selector);
            return new AccountCard(reader, context.Connect(reader), context);
        }
        catch
        {
            context.Dispose();
            throw;
        }
    }

    /// <summary>A card over any channel (an in-process applet in tests); the card owns the channel.</summary>
    public static AccountCard Over(ICardChannel channel)
    {
        ArgumentNullException.ThrowIfNull(channel);
        return new AccountCard(channel.Name, channel, null);
    }

    /// <summary>VERIFY PIN; a wrong PIN is an <see cref="AccountException"/> with the tries left (never the PIN).</summary>
    public void VerifyPin(ReadOnlySpan<byte> pin)
    {
        if (!_piv.TryVerifyPin(pin, out int? left))
        {
            throw new AccountException(AccountFailure.WrongPin,
                left == 0 ? "the card's PIN is blocked; unblock it with the PUK" : $"wrong PIN for the card in '{Reader}'{(left is int n ? string.Create(CultureInfo.InvariantCulture, $", {n} tries left") : string.Empty)}");
        }
    }

    /// <summary>DER SubjectPublicKeyInfo of the 9A key: from its certificate, else from the key's metadata.</summary>
    public byte[] AuthenticationKey() => CardCheck.ReadPublicKey(_piv, PivSlot.Authentication)
        ?? throw new AccountException(AccountFailure.CardUnusable, $"the card in '{Reader}' has no PIV Authentication (9A) key with a certificate or public key");

    /// <summary>
    /// The card's proof for <paramref name="purpose"/> (<see cref="CardProofPurpose"/>): the 9A key signs
    /// <see cref="CardProof.Message"/> over the server's nonce (PIN verified first). Checked here before it is sent,
    /// so a card whose 9A key does not match its certificate says so instead of the server's generic refusal.
    /// </summary>
    public byte[] Prove(string purpose, string username, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> spki)
    {
        var key = PivPublicKey.FromSubjectPublicKeyInfo(spki);
        var message = CardProof.Message(purpose, username, Id, nonce);
        var digest = CryptographicOperations.HashData(CardProof.HashFor(spki), message);
        byte[] signature;
        if (key.Algorithm.IsRsa())
        {
            signature = _piv.Sign(PivSlot.Authentication, key.Algorithm, PivRsaPadding.PadSignature(digest, CardProof.HashFor(spki), key.Algorithm.KeyLength()));
        }
        else if (key.Algorithm.IsEcc())
        {
            int field = key.Algorithm.KeyLength();
            signature = _piv.Sign(PivSlot.Authentication, key.Algorithm, digest.Length > field ? digest.AsSpan(0, field) : digest);
        }
        else
        {
            throw new AccountException(AccountFailure.CardUnusable, $"the 9A key of the card in '{Reader}' is {key.Algorithm.DisplayName()}, which cannot sign");
        }

        if (!CardProof.Verify(spki, purpose, username, Id, nonce, signature))
        {
            throw new AccountException(AccountFailure.CardUnusable, $"the card in '{Reader}' signed with a 9A key that is not the one its certificate names");
        }

        return signature;
    }

    /// <summary>The card's TRK1 token serial (object 5FFF14) as 32 hex digits, or null when it has no token.</summary>
    public string? TokenSerial()
    {
        try
        {
            return _piv.GetData(PivDataObject.CardKeepTrustAnchor.Tag) is { } anchor ? Convert.ToHexStringLower(Tokens.TokenIdentity.DecodeObject(anchor).Serial) : null;
        }
        catch (Exception e) when (e is CardException or Tokens.TokenException)
        {
            return null;
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _piv.Dispose();
        _context?.Dispose();
    }

    private static string ReadId(PivSession piv) => CardCheck.ReadSerial(piv) is { } id && id != "unknown"
        ? id
        : throw new AccountException(AccountFailure.CardUnusable, "the card has neither a serial nor a readable CHUID");
}
