using System.Buffers.Binary;
using System.Numerics;
using System.Security.Cryptography;
using System.Text;
using CardKeep.Cards.Piv;

namespace CardKeep.Client.PersonalEnvironment;

/// <summary>The card key that record master keys are wrapped to: the PIV key-management key (slot 9D) of one card.</summary>
public interface IRecordKeyCard
{
    /// <summary>The card's serial as the server knows it (hex), binding the wrap to this card.</summary>
    string Serial { get; }

    /// <summary>The public key in slot 9D (P-256, P-384 or RSA).</summary>
    PivPublicKey KeyManagementKey { get; }

    /// <summary>ECDH on the card with a peer point <c>04‖X‖Y</c>; the shared X coordinate (EC keys).</summary>
    byte[] KeyAgreement(ReadOnlySpan<byte> peerPoint);

    /// <summary>The raw RSA private operation on the card (RSA keys).</summary>
    byte[] RsaDecipher(ReadOnlySpan<byte> block);
}

/// <summary>A record's decryption failed: it was changed, damaged, or belongs to another user, id or revision.</summary>
public sealed class DamagedRecordException : Exception
{
    /// <summary>Creates the exception.</summary>
    public DamagedRecordException()
    {
    }

    /// <summary>Creates the exception.</summary>
    public DamagedRecordException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    public DamagedRecordException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>
/// The envelope of the personal environment (docs/environment.md): each record is AES-256-GCM under its own random
/// data key (DEK), AD = label ‖ user ‖ record id ‖ revision; the DEK is wrapped (AES-256-GCM) under the user's record
/// master key (RMK), AD = label ‖ user ‖ record id; the RMK is wrapped to the card's 9D key (ephemeral-static ECDH or
/// RSA-KEM, HKDF-SHA256 → AES-256-GCM) and, for a lost card, under the 128-bit record recovery code. Every sealed
/// value is <c>version(1) ‖ nonce(12) ‖ ciphertext ‖ tag(16)</c>. Pure: bytes in, bytes out.
/// </summary>
public static class RecordCrypto
{
    /// <summary>Length of keys (DEK, RMK, derived KEKs).</summary>
    public const int KeyLength = 32;

    /// <summary>Length of the record recovery code.</summary>
    public const int RecoveryCodeLength = 16;

    private const byte Version = 1;
    private const int NonceLength = 12;
    private const int TagLength = 16;

    /// <summary>Bytes a sealed value adds to its plaintext.</summary>
    public const int Overhead = 1 + NonceLength + TagLength;

    /// <summary>A fresh random key (caller zeroes it).</summary>
    public static byte[] NewKey() => RandomNumberGenerator.GetBytes(KeyLength);

    /// <summary>Encrypts a record's plaintext under a fresh DEK; returns the ciphertext and the DEK wrapped under <paramref name="rmk"/>.</summary>
    public static (byte[] Ciphertext, byte[] WrappedDek) SealRecord(ReadOnlySpan<byte> rmk, string user, string recordId, long revision, ReadOnlySpan<byte> plaintext)
    {
        byte[] dek = NewKey();
        try
        {
            return (Seal(dek, plaintext, RecordAd(user, recordId, revision)), WrapDek(rmk, user, recordId, dek));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(dek);
        }
    }

    /// <summary>Decrypts a record; <see cref="DamagedRecordException"/> when anything fails authentication.</summary>
    public static byte[] OpenRecord(ReadOnlySpan<byte> rmk, string user, string recordId, long revision, ReadOnlySpan<byte> wrappedDek, ReadOnlySpan<byte> ciphertext)
    {
        byte[] dek = UnwrapDek(rmk, user, recordId, wrappedDek);
        try
        {
            return Open(dek, ciphertext, RecordAd(user, recordId, revision), "record " + recordId);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(dek);
        }
    }

    /// <summary>Wraps a DEK under the RMK.</summary>
    public static byte[] WrapDek(ReadOnlySpan<byte> rmk, string user, string recordId, ReadOnlySpan<byte> dek) => Seal(rmk, dek, DekAd(user, recordId));

    /// <summary>Unwraps a DEK (caller zeroes it).</summary>
    public static byte[] UnwrapDek(ReadOnlySpan<byte> rmk, string user, string recordId, ReadOnlySpan<byte> wrappedDek) =>
        Open(rmk, wrappedDek, DekAd(user, recordId), "data key of record " + recordId);

    /// <summary>Re-wraps a DEK from one RMK to another (card replacement); the DEK never leaves this method.</summary>
    public static byte[] RewrapDek(ReadOnlySpan<byte> oldRmk, ReadOnlySpan<byte> newRmk, string user, string recordId, ReadOnlySpan<byte> wrappedDek)
    {
        byte[] dek = UnwrapDek(oldRmk, user, recordId, wrappedDek);
        try
        {
            return WrapDek(newRmk, user, recordId, dek);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(dek);
        }
    }

    /// <summary>
    /// Wraps the RMK to a card's 9D public key. EC: an ephemeral key on the card's curve, Z = ECDH(e, card), KEK =
    /// HKDF-SHA256(Z, salt = E ‖ card point, info). RSA: RSA-KEM, a random z below n sent as z^e mod n, KEK = HKDF(z).
    /// Result: <c>kind(1) ‖ len(2) ‖ ephemeral point or z^e ‖ sealed RMK</c>.
    /// </summary>
    public static byte[] WrapToCard(PivPublicKey cardKey, string user, string cardSerial, ReadOnlySpan<byte> rmk)
    {
        ArgumentNullException.ThrowIfNull(cardKey);
        byte[] info = CardInfo(user, cardSerial);
        byte[] encapsulated;
        byte[] kek;
        if (cardKey.Algorithm.IsEcc())
        {
            using var ephemeral = ECDiffieHellman.Create(cardKey.Algorithm.ToCurve());
            var parameters = ephemeral.ExportParameters(false);
            encapsulated = [0x04, .. parameters.Q.X!, .. parameters.Q.Y!];
            var cardPoint = PivCardCrypto.ValidatePoint(cardKey.Algorithm, cardKey.Point.Span);
            using var peer = ECDiffieHellman.Create(cardPoint);
            byte[] z = ephemeral.DeriveRawSecretAgreement(peer.PublicKey);
            kek = DeriveKek(z, [.. encapsulated, .. cardKey.Point.Span], info);
        }
        else if (cardKey.Algorithm.IsRsa())
        {
            var n = new BigInteger(cardKey.Modulus.Span, isUnsigned: true, isBigEndian: true);
            var e = new BigInteger(cardKey.Exponent.Span, isUnsigned: true, isBigEndian: true);
            int k = cardKey.Modulus.Length;
            byte[] zBytes = new byte[k];
            BigInteger z;
            do
            {
                RandomNumberGenerator.Fill(zBytes);
                zBytes[0] &= 0x3F;
                z = new BigInteger(zBytes, isUnsigned: true, isBigEndian: true);
            }
            while (z >= n || z.IsZero);

            encapsulated = ToFixed(BigInteger.ModPow(z, e, n), k);
            kek = DeriveKek(zBytes, encapsulated, info);
        }
        else
        {
            throw new ArgumentException($"the card's key-management key is {cardKey.Algorithm.DisplayName()}; records need P-256, P-384 or RSA", nameof(cardKey));
        }

        try
        {
            byte[] header = new byte[3];
            header[0] = cardKey.Algorithm.IsEcc() ? (byte)1 : (byte)2;
            BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(1), (ushort)encapsulated.Length);
            return [.. header, .. encapsulated, .. Seal(kek, rmk, info)];
        }
        finally
        {
            CryptographicOperations.ZeroMemory(kek);
        }
    }

    /// <summary>Unwraps the RMK with the card (ECDH or RSA decipher on the card). Caller zeroes the result.</summary>
    public static byte[] UnwrapWithCard(IRecordKeyCard card, string user, ReadOnlySpan<byte> wrap)
    {
        ArgumentNullException.ThrowIfNull(card);
        if (wrap.Length < 3 + Overhead)
        {
            throw new DamagedRecordException("the record key wrapped to the card is truncated");
        }

        int length = BinaryPrimitives.ReadUInt16BigEndian(wrap[1..]);
        if (wrap.Length < 3 + length + Overhead)
        {
            throw new DamagedRecordException("the record key wrapped to the card is truncated");
        }

        var encapsulated = wrap.Slice(3, length);
        byte[] info = CardInfo(user, card.Serial);
        byte[] kek;
        switch (wrap[0])
        {
            case 1 when card.KeyManagementKey.Algorithm.IsEcc():
            {
                byte[] z = card.KeyAgreement(encapsulated);
                kek = DeriveKek(z, [.. encapsulated, .. card.KeyManagementKey.Point.Span], info);
                break;
            }

            case 2 when card.KeyManagementKey.Algorithm.IsRsa():
            {
                byte[] z = card.RsaDecipher(encapsulated);
                kek = DeriveKek(z, encapsulated.ToArray(), info);
                break;
            }

            default:
                throw new DamagedRecordException("the record key is wrapped to a different kind of card key than this card's 9D key");
        }

        try
        {
            return Open(kek, wrap[(3 + length)..], info, "record key wrapped to the card");
        }
        finally
        {
            CryptographicOperations.ZeroMemory(kek);
        }
    }

    /// <summary>Wraps the RMK under the record recovery code (16 random bytes the user keeps; the server never sees it).</summary>
    public static byte[] WrapToRecoveryCode(ReadOnlySpan<byte> recoveryCode, string user, ReadOnlySpan<byte> rmk)
    {
        byte[] kek = RecoveryKek(recoveryCode, user);
        try
        {
            return Seal(kek, rmk, RecoveryInfo(user));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(kek);
        }
    }

    /// <summary>Unwraps the RMK with the record recovery code; <see cref="DamagedRecordException"/> for a wrong code.</summary>
    public static byte[] UnwrapWithRecoveryCode(ReadOnlySpan<byte> recoveryCode, string user, ReadOnlySpan<byte> wrap)
    {
        byte[] kek = RecoveryKek(recoveryCode, user);
        try
        {
            return Open(kek, wrap, RecoveryInfo(user), "record key under the recovery code (wrong code?)");
        }
        finally
        {
            CryptographicOperations.ZeroMemory(kek);
        }
    }

    /// <summary>A key derived from the RMK for one purpose (the card cache, the local offline folder). Caller zeroes it.</summary>
    public static byte[] DeriveSubkey(ReadOnlySpan<byte> rmk, string purpose, string context)
    {
        byte[] key = new byte[KeyLength];
        HKDF.DeriveKey(HashAlgorithmName.SHA256, rmk, key, [], Encoding.UTF8.GetBytes($"cardkeep-env-{purpose}-v1\0{context}"));
        return key;
    }

    /// <summary>AES-256-GCM: <c>version ‖ nonce ‖ ciphertext ‖ tag</c>.</summary>
    public static byte[] Seal(ReadOnlySpan<byte> key, ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> associatedData)
    {
        byte[] output = new byte[Overhead + plaintext.Length];
        output[0] = Version;
        var nonce = output.AsSpan(1, NonceLength);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(key, TagLength);
        aes.Encrypt(nonce, plaintext, output.AsSpan(1 + NonceLength, plaintext.Length), output.AsSpan(1 + NonceLength + plaintext.Length), associatedData);
        return output;
    }

    /// <summary>Opens a <see cref="Seal"/>ed value; <see cref="DamagedRecordException"/> naming <paramref name="what"/> when it fails.</summary>
    public static byte[] Open(ReadOnlySpan<byte> key, ReadOnlySpan<byte> sealedValue, ReadOnlySpan<byte> associatedData, string what)
    {
        if (sealedValue.Length < Overhead || sealedValue[0] != Version)
        {
            throw new DamagedRecordException($"{what} is damaged (truncated or of an unknown version)");
        }

        byte[] plaintext = new byte[sealedValue.Length - Overhead];
        try
        {
            using var aes = new AesGcm(key, TagLength);
            aes.Decrypt(sealedValue.Slice(1, NonceLength), sealedValue[(1 + NonceLength)..^TagLength], sealedValue[^TagLength..], plaintext, associatedData);
            return plaintext;
        }
        catch (AuthenticationTagMismatchException e)
        {
            CryptographicOperations.ZeroMemory(plaintext);
            throw new DamagedRecordException($"{what} failed authentication: damaged, or not this user's, record's or card's", e);
        }
    }

    private static byte[] DeriveKek(byte[] secret, byte[] salt, byte[] info)
    {
        try
        {
            return HKDF.DeriveKey(HashAlgorithmName.SHA256, secret, KeyLength, salt, info);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(secret);
        }
    }

    private static byte[] RecoveryKek(ReadOnlySpan<byte> recoveryCode, string user)
    {
        if (recoveryCode.Length != RecoveryCodeLength)
        {
            throw new ArgumentException($"a record recovery code has {RecoveryCodeLength} bytes", nameof(recoveryCode));
        }

        byte[] key = new byte[KeyLength];
        HKDF.DeriveKey(HashAlgorithmName.SHA256, recoveryCode, key, Encoding.UTF8.GetBytes(user), RecoveryInfo(user));
        return key;
    }

    private static byte[] ToFixed(BigInteger value, int length)
    {
        byte[] bytes = value.ToByteArray(isUnsigned: true, isBigEndian: true);
        byte[] result = new byte[length];
        bytes.CopyTo(result.AsSpan(length - bytes.Length));
        return result;
    }

    private static byte[] Label(string label, params string[] parts)
    {
        var builder = new StringBuilder(label);
        foreach (var part in parts)
        {
            builder.Append('\0').Append(part);
        }

        return Encoding.UTF8.GetBytes(builder.ToString());
    }

    private static byte[] RecordAd(string user, string recordId, long revision) =>
        Label("cardkeep-env-record-v1", user, recordId, revision.ToString(System.Globalization.CultureInfo.InvariantCulture));

    private static byte[] DekAd(string user, string recordId) => Label("cardkeep-env-dek-v1", user, recordId);

    private static byte[] CardInfo(string user, string cardSerial) => Label("cardkeep-env-rmk-card-v1", user, cardSerial);

    private static byte[] RecoveryInfo(string user) => Label("cardkeep-env-rmk-recovery-v1", user);
}
