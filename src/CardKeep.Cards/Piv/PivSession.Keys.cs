using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace CardKeep.Cards.Piv;

public sealed partial class PivSession
{
    /// <summary>GENERATE ASYMMETRIC KEY PAIR in <paramref name="slot"/>; returns the new public key. Needs the management key.</summary>
    public PivPublicKey GenerateKeyPair(PivSlot slot, PivAlgorithm algorithm, PinPolicy pinPolicy = PinPolicy.Default,
        TouchPolicy touchPolicy = TouchPolicy.Default)
    {
        RequireKeySlot(slot);
        var template = new PivKeyGenerationTemplate(algorithm, new PivKeyPolicy(pinPolicy, touchPolicy));
        using var _ = Transaction();
        var data = SendForData(PivCommands.GenerateKeyPair(slot, template), $"GENERATE {algorithm.DisplayName()} in {SlotText(slot)}");
        return PivPublicKey.Parse(data, algorithm);
    }

    /// <summary>YubiKey IMPORT KEY into <paramref name="slot"/>. Needs the management key. The import data is zeroed after sending.</summary>
    public void ImportKey(PivSlot slot, PivPrivateKey key, PinPolicy pinPolicy = PinPolicy.Default, TouchPolicy touchPolicy = TouchPolicy.Default)
    {
        ArgumentNullException.ThrowIfNull(key);
        RequireKeySlot(slot);
        var data = key.EncodeImportData(new PivKeyPolicy(pinPolicy, touchPolicy));
        try
        {
            using var _ = Transaction();
            Send(PivCommands.ImportKey(key.Algorithm, slot, data), secret: true)
                .ThrowIfNotSuccess($"IMPORT KEY {key.Algorithm.DisplayName()} into {SlotText(slot)}");
        }
        finally
        {
            CryptographicOperations.ZeroMemory(data);
        }
    }

    /// <summary>IMPORT KEY from a .NET RSA, ECDsa or ECDiffieHellman object.</summary>
    public void ImportKey(PivSlot slot, AsymmetricAlgorithm key, PinPolicy pinPolicy = PinPolicy.Default, TouchPolicy touchPolicy = TouchPolicy.Default)
    {
        using var privateKey = PivPrivateKey.FromKey(key);
        ImportKey(slot, privateKey, pinPolicy, touchPolicy);
    }

    /// <summary>IMPORT KEY from unencrypted PKCS#8.</summary>
    public void ImportKey(PivSlot slot, ReadOnlySpan<byte> pkcs8, PinPolicy pinPolicy = PinPolicy.Default, TouchPolicy touchPolicy = TouchPolicy.Default)
    {
        using var privateKey = PivPrivateKey.FromPkcs8(pkcs8);
        ImportKey(slot, privateKey, pinPolicy, touchPolicy);
    }

    /// <summary>
    /// Signs with the key in <paramref name="slot"/>: GENERAL AUTHENTICATE <c>7C {82 00, 81 L data}</c> → <c>7C {82 signature}</c>.
    /// For RSA, <paramref name="data"/> is the already padded block of exactly the modulus length (see
    /// <see cref="PivRsaPadding.PadSignature"/>); for EC it is the hash, and the result is DER <c>SEQUENCE {r, s}</c>.
    /// </summary>
    public byte[] Sign(PivSlot slot, PivAlgorithm algorithm, ReadOnlySpan<byte> data) => PrivateOperation(slot, algorithm, data, "sign");

    /// <summary>RSA decryption (raw private operation) of a ciphertext block; the result still carries its padding (see <see cref="PivRsaPadding.UnpadEncryption"/>).</summary>
    public byte[] Decrypt(PivSlot slot, PivAlgorithm algorithm, ReadOnlySpan<byte> block)
    {
        if (!algorithm.IsRsa())
        {
            throw new ArgumentOutOfRangeException(nameof(algorithm), algorithm, "decryption needs an RSA key; use KeyAgreement for EC");
        }

        return PrivateOperation(slot, algorithm, block, "decrypt");
    }

    /// <summary>ECDH with the key in <paramref name="slot"/>: <c>7C {82 00, 85 L 04‖X‖Y}</c> → the shared secret X.</summary>
    public byte[] KeyAgreement(PivSlot slot, PivAlgorithm algorithm, ReadOnlySpan<byte> peerPoint)
    {
        if (!algorithm.IsEcc() && algorithm != PivAlgorithm.X25519)
        {
            throw new ArgumentOutOfRangeException(nameof(algorithm), algorithm, "key agreement needs an EC key");
        }

        return Authenticate(slot, algorithm, PivDynamicAuthentication.KeyAgreementRequest(peerPoint), "key agreement");
    }

    /// <summary>YubiKey ATTEST: the attestation certificate for the key in <paramref name="slot"/>, signed by slot F9.</summary>
    public X509Certificate2 Attest(PivSlot slot)
    {
        using var _ = Transaction();
        var data = SendForData(PivCommands.Attest(slot), $"ATTEST {SlotText(slot)}");
        if (data.IsEmpty || data.Span[0] != 0x30)
        {
            throw new CardFormatException("ATTEST: the card's answer is not a DER certificate");
        }

        return X509CertificateLoader.LoadCertificate(data.Span);
    }

    /// <summary>YubiKey GET METADATA for a key slot.</summary>
    public PivMetadata GetMetadata(PivSlot slot) => GetMetadata((byte)slot);

    /// <summary>YubiKey GET METADATA for a key reference: a slot, the PIN (80) or the PUK (81).</summary>
    public PivMetadata GetMetadata(byte keyReference)
    {
        using var _ = Transaction();
        var data = SendForData(PivCommands.GetMetadata(keyReference), string.Create(CultureInfo.InvariantCulture, $"GET METADATA {keyReference:X2}"));
        return PivMetadata.Parse(data);
    }

    private byte[] PrivateOperation(PivSlot slot, PivAlgorithm algorithm, ReadOnlySpan<byte> data, string what)
    {
        if (algorithm.IsRsa() && data.Length != algorithm.KeyLength())
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"an {algorithm.DisplayName()} input block has exactly {algorithm.KeyLength()} bytes, got {data.Length}"), nameof(data));
        }

        return Authenticate(slot, algorithm, PivDynamicAuthentication.SignRequest(data), what);
    }

    private byte[] Authenticate(PivSlot slot, PivAlgorithm algorithm, byte[] template, string what)
    {
        RequireKeySlot(slot);
        using var _ = Transaction();
        var data = SendForData(PivCommands.GeneralAuthenticate(algorithm, (byte)slot, template),
            $"GENERAL AUTHENTICATE ({what}, {algorithm.DisplayName()}) with {SlotText(slot)}");
        return PivDynamicAuthentication.Required(PivDynamicAuthentication.Parse(data).Response, PivDynamicAuthentication.TagResponse).ToArray();
    }

    private static void RequireKeySlot(PivSlot slot)
    {
        if (!slot.HoldsAsymmetricKey())
        {
            throw new ArgumentOutOfRangeException(nameof(slot), slot, "not a slot for an asymmetric key");
        }
    }
}
