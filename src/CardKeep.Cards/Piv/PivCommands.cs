using System.Security.Cryptography;
using CardKeep.Cards.Iso7816;

namespace CardKeep.Cards.Piv;

/// <summary>
/// Pure factories for every PIV command APDU a client sends (SP 800-73-4 Part 2 §3 and the YubiKey extensions).
/// They build and never send; <see cref="PivSession"/> sends them. Commands that expect response data carry Le = 00
/// (Ne 256); chaining and GET RESPONSE are the channel's business. Commands that carry a PIN or key hold their own copy
/// of it in <see cref="CommandApdu.Data"/>; the intermediate buffers made here are zeroed.
/// </summary>
public static class PivCommands
{
    private const int AnyLength = CommandApdu.MaxShortNe;

    /// <summary>SELECT the PIV application by its AID without version: <c>00 A4 04 00 09 A0 00 00 03 08 00 00 10 00 00</c>.</summary>
    public static CommandApdu Select() => new(0x00, PivInstruction.Select, 0x04, 0x00, PivAid.Truncated, AnyLength);

    /// <summary>GET DATA: <c>00 CB 3F FF 05 5C 03 5F C1 02 00</c> for the CHUID.</summary>
    public static CommandApdu GetData(uint tag) =>
        new(0x00, PivInstruction.GetData, 0x3F, 0xFF, PivObjectEncoding.GetDataRequest(tag), AnyLength);

    /// <summary>PUT DATA: <c>00 DB 3F FF Lc 5C L tag 53 L content</c> (chained by the channel when long). Empty content deletes.</summary>
    public static CommandApdu PutData(uint tag, ReadOnlySpan<byte> content) =>
        new(0x00, PivInstruction.PutData, 0x3F, 0xFF, PivObjectEncoding.PutDataRequest(tag, content));

    /// <summary>VERIFY with the padded PIN: <c>00 20 00 80 08 &lt;PIN‖FF…&gt;</c>.</summary>
    public static CommandApdu Verify(ReadOnlySpan<byte> pin, byte reference = PivPin.PinReference)
    {
        Span<byte> padded = stackalloc byte[PivPin.PaddedLength];
        try
        {
            PivPin.Pad(pin, padded);
            return new CommandApdu(0x00, PivInstruction.Verify, 0x00, reference, padded);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(padded);
        }
    }

    /// <summary>VERIFY status query without data: <c>00 20 00 80</c> → 9000 verified, 63Cx tries left, 6983 blocked.</summary>
    public static CommandApdu VerifyStatus(byte reference = PivPin.PinReference) => new(0x00, PivInstruction.Verify, 0x00, reference);

    /// <summary>CHANGE REFERENCE DATA: <c>00 24 00 80|81 10 &lt;old8‖new8&gt;</c>.</summary>
    public static CommandApdu ChangeReferenceData(byte reference, ReadOnlySpan<byte> current, ReadOnlySpan<byte> replacement) =>
        WithPair(PivInstruction.ChangeReferenceData, reference, current, replacement);

    /// <summary>RESET RETRY COUNTER (unblock PIN): <c>00 2C 00 80 10 &lt;PUK8‖newPIN8&gt;</c>.</summary>
    public static CommandApdu ResetRetryCounter(ReadOnlySpan<byte> puk, ReadOnlySpan<byte> newPin) =>
        WithPair(PivInstruction.ResetRetryCounter, PivPin.PinReference, puk, newPin);

    /// <summary>GENERAL AUTHENTICATE: <c>00 87 alg key Lc 7C… 00</c>.</summary>
    public static CommandApdu GeneralAuthenticate(PivAlgorithm algorithm, byte keyReference, ReadOnlySpan<byte> template) =>
        new(0x00, PivInstruction.GeneralAuthenticate, (byte)algorithm, keyReference, template, AnyLength);

    /// <summary>GENERATE ASYMMETRIC KEY PAIR: <c>00 47 00 slot Lc AC { 80 alg [AA] [AB] } 00</c>.</summary>
    public static CommandApdu GenerateKeyPair(PivSlot slot, PivKeyGenerationTemplate template)
    {
        ArgumentNullException.ThrowIfNull(template);
        return new CommandApdu(0x00, PivInstruction.GenerateAsymmetricKeyPair, 0x00, (byte)slot, template.Encode(), AnyLength);
    }

    /// <summary>YubiKey IMPORT KEY: <c>00 FE alg slot Lc data</c> (see <see cref="PivPrivateKey.EncodeImportData"/>).</summary>
    public static CommandApdu ImportKey(PivAlgorithm algorithm, PivSlot slot, ReadOnlySpan<byte> importData) =>
        new(0x00, PivInstruction.ImportKey, (byte)algorithm, (byte)slot, importData);

    /// <summary>YubiKey SET MANAGEMENT KEY: <c>00 FF FF FF|FE Lc alg 9B len key</c> (P2 FE = touch required).</summary>
    public static CommandApdu SetManagementKey(PivAlgorithm algorithm, ReadOnlySpan<byte> key, bool requireTouch = false)
    {
        PivManagementKey.ValidateLength(algorithm, key);
        var data = new byte[3 + key.Length];
        try
        {
            data[0] = (byte)algorithm;
            data[1] = (byte)PivSlot.Management;
            data[2] = (byte)key.Length;
            key.CopyTo(data.AsSpan(3));
            return new CommandApdu(0x00, PivInstruction.SetManagementKey, 0xFF, requireTouch ? (byte)0xFE : (byte)0xFF, data);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(data);
        }
    }

    /// <summary>YubiKey GET VERSION: <c>00 FD 00 00 00</c>.</summary>
    public static CommandApdu GetVersion() => new(0x00, PivInstruction.GetVersion, 0x00, 0x00, default, AnyLength);

    /// <summary>YubiKey GET SERIAL: <c>00 F8 00 00 00</c>.</summary>
    public static CommandApdu GetSerial() => new(0x00, PivInstruction.GetSerial, 0x00, 0x00, default, AnyLength);

    /// <summary>YubiKey GET METADATA: <c>00 F7 00 ref 00</c> for a slot or the PIN (80) / PUK (81).</summary>
    public static CommandApdu GetMetadata(byte keyReference) => new(0x00, PivInstruction.GetMetadata, 0x00, keyReference, default, AnyLength);

    /// <summary>YubiKey ATTEST: <c>00 F9 slot 00 00</c>.</summary>
    public static CommandApdu Attest(PivSlot slot) => new(0x00, PivInstruction.Attest, (byte)slot, 0x00, default, AnyLength);

    /// <summary>YubiKey RESET: <c>00 FB 00 00</c> (works only while PIN and PUK are both blocked).</summary>
    public static CommandApdu Reset() => new(0x00, PivInstruction.Reset, 0x00, 0x00);

    /// <summary>YubiKey SET PIN RETRIES: <c>00 FA pin puk</c> (also resets PIN and PUK to their defaults).</summary>
    public static CommandApdu SetPinRetries(byte pinTries, byte pukTries) => new(0x00, PivInstruction.SetPinRetries, pinTries, pukTries);

    private static CommandApdu WithPair(byte instruction, byte reference, ReadOnlySpan<byte> first, ReadOnlySpan<byte> second)
    {
        var data = PivPin.PadPair(first, second);
        try
        {
            return new CommandApdu(0x00, instruction, 0x00, reference, data);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(data);
        }
    }
}
