using System.Globalization;
using System.Security.Cryptography;
using CardKeep.Cards;
using CardKeep.Cards.Piv;
using CardKeep.Protocol.Recovery;

namespace CardKeep.Client.Recovery;

/// <summary>What a card in a reader is to the gate.</summary>
public enum CardMatch
{
    /// <summary>The registered card, proven (9E challenge) or recognised (9A key and serial).</summary>
    Registered,

    /// <summary>Another card: a different serial.</summary>
    Foreign,

    /// <summary>The registered serial, but the wrong key or a failed challenge: a copy or a re-keyed card.</summary>
    Impostor,
}

/// <summary>The gate's view of one card: what it is, its serial and how that was decided.</summary>
public sealed record CardCheckResult(CardMatch Match, string Serial, string How);

/// <summary>
/// Reads and proves PIV cards for the machine binding.
/// <para>
/// How the gate tells the registered card from a copy: when the card has a Card Authentication key (slot 9E, usable
/// without a PIN by design, SP 800-73-4), the gate signs a fresh 32-byte nonce in the domain-separated
/// <see cref="CardProof"/> message (purpose <c>login</c>) with it and verifies the signature against the registered 9E
/// key: only the card holding that private key passes. Without a 9E key the gate can only compare the serial and the
/// 9A key (certificate or metadata), which are public: someone who read them (any PC/SC client can) and built a card
/// or VSC answering the same could pass. A 9A challenge would need the PIN, which a login gate in front of the user's
/// password prompt does not have. So: put a 9E key on the card before registering it (<c>yubico-piv-tool -a generate
/// -s 9e</c>, or <c>cardkeep vsc keygen VSC --slot 9e</c>); the gate says which check it used.
/// </para>
/// </summary>
public static class CardCheck
{
    /// <summary>The card's ID (<see cref="PivSession.ReadCardId"/>).</summary>
    public static string ReadSerial(PivSession piv)
    {
        ArgumentNullException.ThrowIfNull(piv);
        return piv.ReadCardId();
    }

    /// <summary>The DER SPKI of the key in <paramref name="slot"/>: from its certificate, else YubiKey metadata; null when none.</summary>
    public static byte[]? ReadPublicKey(PivSession piv, PivSlot slot)
    {
        ArgumentNullException.ThrowIfNull(piv);
        using (var certificate = piv.ReadCertificate(slot))
        {
            if (certificate is not null)
            {
                return certificate.PublicKey.ExportSubjectPublicKeyInfo();
            }
        }

        try
        {
            return piv.GetMetadata(slot).PublicKey?.ToSubjectPublicKeyInfo();
        }
        catch (CardStatusException)
        {
            return null;
        }
    }

    /// <summary>
    /// The card as the binding records it: serial, 9A key (required) and 9E key (when present). Needs no PIN.
    /// Throws <see cref="CardException"/> when the card has no 9A key.
    /// </summary>
    public static RegisteredCard Describe(PivSession piv)
    {
        string serial = ReadSerial(piv);
        byte[] authentication = ReadPublicKey(piv, PivSlot.Authentication)
            ?? throw new CardException("the card has no PIV Authentication (9A) key or certificate: it cannot be registered");
        byte[] cardAuthentication = ReadPublicKey(piv, PivSlot.CardAuthentication) ?? [];
        return RegisteredCard.From(serial, authentication, cardAuthentication);
    }

    /// <summary>Decides whether the card behind <paramref name="piv"/> is <paramref name="registered"/> (see the class notes).</summary>
    public static CardCheckResult Check(PivSession piv, RegisteredCard registered, string user)
    {
        ArgumentNullException.ThrowIfNull(registered);
        string serial = ReadSerial(piv);
        if (!string.Equals(serial, registered.Serial, StringComparison.Ordinal))
        {
            return new CardCheckResult(CardMatch.Foreign, serial, "a different serial");
        }

        if (registered.CardAuthenticationKey is not null)
        {
            byte[] spki = registered.CardAuthenticationKeyBytes.ToArray();
            byte[] nonce = RandomNumberGenerator.GetBytes(CardProof.NonceBytes);
            byte[] signature;
            try
            {
                signature = Sign(piv, PivSlot.CardAuthentication, spki, CardProof.Message(CardProofPurpose.Login, user, serial, nonce));
            }
            catch (CardStatusException e)
            {
                return new CardCheckResult(CardMatch.Impostor, serial, $"the 9E challenge failed ({e.StatusWord})");
            }

            return CardProof.Verify(spki, CardProofPurpose.Login, user, serial, nonce, signature)
                ? new CardCheckResult(CardMatch.Registered, serial, "9E card-authentication challenge")
                : new CardCheckResult(CardMatch.Impostor, serial, "the 9E challenge was not signed by the registered key");
        }

        byte[]? authentication = ReadPublicKey(piv, PivSlot.Authentication);
        return authentication is not null && authentication.AsSpan().SequenceEqual(registered.AuthenticationKeyBytes.Span)
            ? new CardCheckResult(CardMatch.Registered, serial, "serial and 9A key (no 9E key registered: not a cryptographic proof)")
            : new CardCheckResult(CardMatch.Impostor, serial, "the 9A key differs from the registered one");
    }

    /// <summary>
    /// Signs <paramref name="message"/> with the key in <paramref name="slot"/> whose public key is
    /// <paramref name="subjectPublicKeyInfo"/>, as <see cref="CardProof.Verify"/> checks it: ECDSA over SHA-256 (P-256)
    /// or SHA-384 (P-384), DER; RSA PKCS#1 v1.5 over SHA-256. The slot's PIN policy applies (9E: none; 9A: verify first).
    /// </summary>
    public static byte[] Sign(PivSession piv, PivSlot slot, ReadOnlySpan<byte> subjectPublicKeyInfo, ReadOnlySpan<byte> message)
    {
        ArgumentNullException.ThrowIfNull(piv);
        var key = PivPublicKey.FromSubjectPublicKeyInfo(subjectPublicKeyInfo);
        var hashName = CardProof.HashFor(subjectPublicKeyInfo);
        byte[] hash = hashName == HashAlgorithmName.SHA384 ? SHA384.HashData(message) : SHA256.HashData(message);
        return key.Algorithm.IsRsa()
            ? piv.Sign(slot, key.Algorithm, PivRsaPadding.PadSignature(hash, hashName, key.Modulus.Length))
            : piv.Sign(slot, key.Algorithm, hash);
    }
}
