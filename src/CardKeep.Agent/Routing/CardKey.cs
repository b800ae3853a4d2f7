using System.Globalization;
using System.Security.Cryptography;
using CardKeep.Agent.Keys;
using CardKeep.Agent.SshAgent;
using CardKeep.Cards.Piv;

namespace CardKeep.Agent.Routing;

/// <summary>
/// A key that stays on the card: every private operation is PIV GENERAL AUTHENTICATE through the session's
/// <see cref="CardConnection"/>. RSA data is hashed and PKCS#1 v1.5-padded here (the card does raw RSA); ECDSA data is
/// hashed here and the card's DER signature is converted to r‖s.
/// </summary>
public sealed class CardKey : AgentKey
{
    private readonly CardConnection _card;

    public CardKey(CardConnection card, CardKeyInfo info)
        : base(info?.PublicKey ?? throw new ArgumentNullException(nameof(info)), Describe(card, info))
    {
        _card = card;
        Slot = info.Slot;
        Algorithm = info.Algorithm;
    }

    public PivSlot Slot { get; }

    public PivAlgorithm Algorithm { get; }

    public override KeySource Source => KeySource.Card;

    public override byte[] SignData(ReadOnlySpan<byte> data, HashAlgorithmName hash)
    {
        // ssh-rsa (SHA-1) is what a client asks for with flags 0; OpenSSH's agent answers it the same way.
        var digest = CryptographicOperations.HashData(hash, data);
        if (Algorithm.IsRsa())
        {
            var block = PivRsaPadding.PadSignature(digest, hash, Algorithm.KeyLength());
            var signature = _card.Use(piv => piv.Sign(Slot, Algorithm, block));
            return LeftPad(signature, Algorithm.KeyLength());
        }

        // ECDSA signs the leftmost field-size bytes of a longer hash (FIPS 186-4 §6.4); the card takes exactly that.
        int field = Algorithm.KeyLength();
        var input = digest.Length > field ? digest[..field] : digest;
        var der = _card.Use(piv => piv.Sign(Slot, Algorithm, input));
        return SshSignature.EcdsaDerToP1363(der, field);
    }

    public override byte[] Decrypt(ReadOnlySpan<byte> ciphertext, RSAEncryptionPadding padding)
    {
        if (!Algorithm.IsRsa() || padding != RSAEncryptionPadding.Pkcs1)
        {
            throw Unsupported("a card key decrypts with RSA PKCS#1 v1.5 only");
        }

        if (ciphertext.Length > Algorithm.KeyLength())
        {
            throw new CryptographicException("the ciphertext is longer than the modulus");
        }

        var block = LeftPad(ciphertext.ToArray(), Algorithm.KeyLength());
        var plain = _card.Use(piv => piv.Decrypt(Slot, Algorithm, block));
        try
        {
            return PivRsaPadding.UnpadEncryption(plain);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plain);
        }
    }

    public override byte[] KeyAgreement(ReadOnlySpan<byte> peerPoint)
    {
        if (!Algorithm.IsEcc())
        {
            throw Unsupported("key agreement needs an EC key");
        }

        var point = SshPublicKey.FromEcPoint(PublicKey.Type, peerPoint).Point.ToArray();
        return _card.Use(piv => piv.KeyAgreement(Slot, Algorithm, point));
    }

    private static byte[] LeftPad(byte[] value, int length)
    {
        if (value.Length >= length)
        {
            return value;
        }

        var padded = new byte[length];
        value.CopyTo(padded, length - value.Length);
        return padded;
    }

    private static string Describe(CardConnection card, CardKeyInfo info) =>
        string.Create(CultureInfo.InvariantCulture, $"PIV {info.Slot.DisplayName()} ({(byte)info.Slot:X2}) card {card.Serial}");
}
