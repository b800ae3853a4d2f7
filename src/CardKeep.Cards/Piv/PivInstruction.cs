namespace CardKeep.Cards.Piv;

/// <summary>PIV instruction bytes (SP 800-73-4 Part 2 §3) and the YubiKey extensions.</summary>
public static class PivInstruction
{
    /// <summary>SELECT (A4).</summary>
    public const byte Select = 0xA4;

    /// <summary>GET DATA (CB).</summary>
    public const byte GetData = 0xCB;

    /// <summary>PUT DATA (DB).</summary>
    public const byte PutData = 0xDB;

    /// <summary>VERIFY (20).</summary>
    public const byte Verify = 0x20;

    /// <summary>CHANGE REFERENCE DATA (24).</summary>
    public const byte ChangeReferenceData = 0x24;

    /// <summary>RESET RETRY COUNTER (2C).</summary>
    public const byte ResetRetryCounter = 0x2C;

    /// <summary>GENERATE ASYMMETRIC KEY PAIR (47).</summary>
    public const byte GenerateAsymmetricKeyPair = 0x47;

    /// <summary>GENERAL AUTHENTICATE (87).</summary>
    public const byte GeneralAuthenticate = 0x87;

    /// <summary>GET RESPONSE (C0).</summary>
    public const byte GetResponse = 0xC0;

    /// <summary>YubiKey MOVE/DELETE KEY (F6, firmware 5.7).</summary>
    public const byte MoveKey = 0xF6;

    /// <summary>YubiKey GET METADATA (F7).</summary>
    public const byte GetMetadata = 0xF7;

    /// <summary>YubiKey GET SERIAL (F8).</summary>
    public const byte GetSerial = 0xF8;

    /// <summary>YubiKey ATTEST (F9).</summary>
    public const byte Attest = 0xF9;

    /// <summary>YubiKey SET PIN RETRIES (FA).</summary>
    public const byte SetPinRetries = 0xFA;

    /// <summary>YubiKey RESET (FB).</summary>
    public const byte Reset = 0xFB;

    /// <summary>YubiKey GET VERSION (FD).</summary>
    public const byte GetVersion = 0xFD;

    /// <summary>YubiKey IMPORT KEY (FE).</summary>
    public const byte ImportKey = 0xFE;

    /// <summary>YubiKey SET MANAGEMENT KEY (FF).</summary>
    public const byte SetManagementKey = 0xFF;
}
