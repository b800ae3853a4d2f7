using System.Security.Cryptography;
using CardKeep.Cards;
using CardKeep.Cards.Channels;
using CardKeep.Cards.Piv;
using CardKeep.Protocol;
using CardKeep.VirtualCard.Store;

namespace CardKeep.Client.Tokens;

/// <summary>
/// A VSC used through the VSC API: the trust anchor in public object 5FFF14, the registrations in private (PIN)
/// object 5FFF13, each SSK additionally wrapped under the PIN.
/// </summary>
public sealed class VscToken : ITokenStore
{
    private readonly VirtualSmartCard _card;
    private readonly bool _ownsCard;

    /// <summary>Uses an open (writable) VSC.</summary>
    public VscToken(VirtualSmartCard card, bool ownsCard = false)
    {
        _card = card ?? throw new ArgumentNullException(nameof(card));
        _ownsCard = ownsCard;
    }

    /// <inheritdoc/>
    public string Description => $"VSC {_card.Header.Id}";

    /// <summary>Provisioning: embeds the issuer certificate with the card GUID as serial.</summary>
    public static TokenIdentity Provision(VirtualSmartCard card, byte[] issuerCertificate)
    {
        ArgumentNullException.ThrowIfNull(card);
        var identity = new TokenIdentity(card.CardGuid.ToArray(), issuerCertificate);
        card.PutPublicObject(PivDataObject.CardKeepTrustAnchor.Tag, identity.EncodeObject());
        return identity;
    }

    /// <inheritdoc/>
    public TokenIdentity ReadIdentity() => TokenIdentity.DecodeObject(_card.GetPublicObject(PivDataObject.CardKeepTrustAnchor.Tag)
        ?? throw new TokenException($"{Description} has no CardKeep trust anchor; run 'cardkeep token provision --vsc {_card.Header.Id}'"));

    /// <inheritdoc/>
    public IReadOnlyList<TokenRegistration> ReadRegistrations(ReadOnlySpan<byte> pin)
    {
        using var unlock = Unlock(pin);
        var content = _card.GetPrivateObject(PivDataObject.CardKeepRegistrationToken.Tag, unlock);
        try
        {
            return TokenRecords.Decode(content);
        }
        finally
        {
            if (content is not null)
            {
                CryptographicOperations.ZeroMemory(content);
            }
        }
    }

    /// <inheritdoc/>
    public void WriteRegistrations(IReadOnlyList<TokenRegistration> registrations, ReadOnlySpan<byte> pin)
    {
        using var unlock = Unlock(pin);
        _card.PutPrivateObject(PivDataObject.CardKeepRegistrationToken.Tag, TokenRecords.Encode(registrations));
    }

    private VscUnlock Unlock(ReadOnlySpan<byte> pin) => _card.VerifyPin(pin) switch
    {
        PinResult.Verified v => v.Unlock,
        PinResult.Wrong w => throw new TokenException($"wrong PIN for {Description}, {w.RetriesLeft} {(w.RetriesLeft == 1 ? "try" : "tries")} left"),
        _ => throw new TokenException($"the PIN of {Description} is blocked; unblock it with 'cardkeep vsc unblock-pin'"),
    };

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_ownsCard)
        {
            _card.Dispose();
        }
    }
}

/// <summary>
/// A PIV card (a reader, a live VSC in pcscd, or an emulator channel): GET DATA 5FFF14 for the trust anchor, VERIFY
/// then GET DATA 5FFF13 for the registrations, PUT DATA (management key) to store them. 5FFF13 is PIN-protected on
/// CardKeep cards; a YubiKey lets anyone read it, which is why each SSK is also wrapped under the PIN.
/// </summary>
public sealed class PivToken : ITokenStore
{
    private readonly PivSession _session;
    private readonly byte[] _managementKey;
    private readonly PivAlgorithm _managementAlgorithm;

    /// <summary>Selects the PIV application on <paramref name="channel"/>.</summary>
    public PivToken(ICardChannel channel, ReadOnlySpan<byte> managementKey, PivAlgorithm managementAlgorithm = PivAlgorithm.TripleDes)
    {
        ArgumentNullException.ThrowIfNull(channel);
        _session = PivSession.Open(channel);
        _managementKey = managementKey.ToArray();
        _managementAlgorithm = managementAlgorithm;
        Description = $"PIV card in {channel.Name}";
    }

    /// <inheritdoc/>
    public string Description { get; }

    /// <summary>Provisioning: the CHUID's GUID as serial (random when the card has no CHUID) and the issuer certificate in 5FFF14.</summary>
    public TokenIdentity Provision(byte[] issuerCertificate)
    {
        byte[] serial;
        try
        {
            serial = _session.ReadChuid()?.CardUuidBytes.ToArray() is { Length: Trk1Limits.TokenSerialLength } guid ? guid : RandomNumberGenerator.GetBytes(Trk1Limits.TokenSerialLength);
        }
        catch (CardException)
        {
            serial = RandomNumberGenerator.GetBytes(Trk1Limits.TokenSerialLength);
        }

        var identity = new TokenIdentity(serial, issuerCertificate);
        _session.AuthenticateManagementKey(_managementAlgorithm, _managementKey);
        _session.PutData(PivDataObject.CardKeepTrustAnchor.Tag, identity.EncodeObject());
        return identity;
    }

    /// <inheritdoc/>
    public TokenIdentity ReadIdentity() => TokenIdentity.DecodeObject(_session.GetData(PivDataObject.CardKeepTrustAnchor.Tag)
        ?? throw new TokenException($"{Description} has no CardKeep trust anchor; run 'cardkeep token provision --reader …'"));

    /// <inheritdoc/>
    public IReadOnlyList<TokenRegistration> ReadRegistrations(ReadOnlySpan<byte> pin)
    {
        Verify(pin);
        return TokenRecords.Decode(_session.GetData(PivDataObject.CardKeepRegistrationToken.Tag));
    }

    /// <inheritdoc/>
    public void WriteRegistrations(IReadOnlyList<TokenRegistration> registrations, ReadOnlySpan<byte> pin)
    {
        Verify(pin);
        _session.AuthenticateManagementKey(_managementAlgorithm, _managementKey);
        _session.PutData(PivDataObject.CardKeepRegistrationToken.Tag, TokenRecords.Encode(registrations));
    }

    private void Verify(ReadOnlySpan<byte> pin)
    {
        if (!_session.TryVerifyPin(pin, out int? left))
        {
            throw new TokenException($"wrong PIN for {Description}{(left is int n ? $", {n} tries left" : string.Empty)}");
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        CryptographicOperations.ZeroMemory(_managementKey);
        _session.Dispose();
    }
}
