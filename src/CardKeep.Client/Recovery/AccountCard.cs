using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CardKeep.Cards;
using CardKeep.Cards.Channels;
using CardKeep.Cards.PcSc;
using CardKeep.Cards.Piv;

namespace CardKeep.Client.Recovery;

/// <summary>
/// The card an account is bound to, as the account commands use it: its ID (the same one the agent and the gate
/// read: GET SERIAL in decimal, else <c>uuid:</c> and the CHUID's card UUID), its PIV Authentication (9A) public key,
/// and a proof of possession: a challenge signed by the 9A key after the PIN (RSA PKCS#1 v1.5 or ECDSA, SHA-256,
/// the ECDSA signature DER-encoded).
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
    public byte[] AuthenticationKey()
    {
        if (_piv.ReadCertificateBytes(PivSlot.Authentication) is { } der)
        {
            using var certificate = X509CertificateLoader.LoadCertificate(der);
            return certificate.PublicKey.ExportSubjectPublicKeyInfo();
        }

        try
        {
            return _piv.GetMetadata(PivSlot.Authentication).PublicKey?.ToSubjectPublicKeyInfo()
                ?? throw new AccountException(AccountFailure.CardUnusable, $"the card in '{Reader}' has no PIV Authentication (9A) key");
        }
        catch (CardStatusException e)
        {
            throw new AccountException(AccountFailure.CardUnusable, $"the card in '{Reader}' has no PIV Authentication (9A) key with a certificate", e);
        }
    }

    /// <summary>Signs SHA-256(<paramref name="challenge"/>) with the 9A key (PIN verified first). <paramref name="spki"/> says the algorithm.</summary>
    public byte[] Sign(ReadOnlySpan<byte> challenge, ReadOnlySpan<byte> spki)
    {
        var key = PivPublicKey.FromSubjectPublicKeyInfo(spki);
        var digest = SHA256.HashData(challenge);
        if (key.Algorithm.IsRsa())
        {
            var block = PivRsaPadding.PadSignature(digest, HashAlgorithmName.SHA256, key.Algorithm.KeyLength());
            return _piv.Sign(PivSlot.Authentication, key.Algorithm, block);
        }

        if (key.Algorithm.IsEcc())
        {
            int field = key.Algorithm.KeyLength();
            return _piv.Sign(PivSlot.Authentication, key.Algorithm, digest.Length > field ? digest.AsSpan(0, field) : digest);
        }

        throw new AccountException(AccountFailure.CardUnusable, $"the 9A key of the card in '{Reader}' is {key.Algorithm.DisplayName()}, which cannot sign");
    }

    /// <summary>Checks a <see cref="Sign"/> signature (the server does the same; the client checks before sending).</summary>
    public static bool Verify(ReadOnlySpan<byte> spki, ReadOnlySpan<byte> challenge, ReadOnlySpan<byte> signature)
    {
        var key = PivPublicKey.FromSubjectPublicKeyInfo(spki);
        if (key.Algorithm.IsRsa())
        {
            using var rsa = key.ToRsa();
            return rsa.VerifyData(challenge, signature, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        }

        using var ecdsa = key.ToECDsa();
        return ecdsa.VerifyData(challenge, signature, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _piv.Dispose();
        _context?.Dispose();
    }

    private static string ReadId(PivSession piv)
    {
        try
        {
            return piv.GetSerial().ToString(CultureInfo.InvariantCulture);
        }
        catch (CardException)
        {
            // Not a YubiKey-style card: the CHUID's card UUID names it.
        }

        try
        {
            return piv.ReadChuid() is { } chuid ? "uuid:" + Convert.ToHexStringLower(chuid.CardUuidBytes.Span) : throw new AccountException(AccountFailure.CardUnusable, "the card has neither a serial nor a CHUID");
        }
        catch (CardException e)
        {
            throw new AccountException(AccountFailure.CardUnusable, "the card has neither a serial nor a readable CHUID", e);
        }
    }
}
