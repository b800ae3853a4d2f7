using System.Globalization;

namespace CardKeep.Cards.Iso7816;

/// <summary>
/// An ISO/IEC 7816-4 status word (SW1 SW2) with its name and meaning.
/// Names follow ISO 7816-4 §5.6 and NIST SP 800-73-4 Part 2 §3.
/// </summary>
public readonly record struct StatusWord(ushort Value)
{
    public static readonly StatusWord Success = new(0x9000);
    public static readonly StatusWord EndOfFileReached = new(0x6282);
    public static readonly StatusWord VerificationFailed = new(0x6300);
    public static readonly StatusWord MemoryFailure = new(0x6581);
    public static readonly StatusWord WrongLength = new(0x6700);
    public static readonly StatusWord LastCommandOfChainExpected = new(0x6883);
    public static readonly StatusWord CommandChainingNotSupported = new(0x6884);
    public static readonly StatusWord IncompatibleFileStructure = new(0x6981);
    public static readonly StatusWord SecurityStatusNotSatisfied = new(0x6982);
    public static readonly StatusWord AuthenticationMethodBlocked = new(0x6983);
    public static readonly StatusWord ReferenceDataNotUsable = new(0x6984);
    public static readonly StatusWord ConditionsOfUseNotSatisfied = new(0x6985);
    public static readonly StatusWord NoCurrentEf = new(0x6986);
    public static readonly StatusWord IncorrectDataField = new(0x6A80);
    public static readonly StatusWord FunctionNotSupported = new(0x6A81);
    public static readonly StatusWord FileNotFound = new(0x6A82);
    public static readonly StatusWord RecordNotFound = new(0x6A83);
    public static readonly StatusWord NotEnoughMemory = new(0x6A84);
    public static readonly StatusWord IncorrectP1P2 = new(0x6A86);
    public static readonly StatusWord ReferencedDataNotFound = new(0x6A88);
    public static readonly StatusWord FileAlreadyExists = new(0x6A89);
    public static readonly StatusWord WrongP1P2 = new(0x6B00);
    public static readonly StatusWord InstructionNotSupported = new(0x6D00);
    public static readonly StatusWord ClassNotSupported = new(0x6E00);
    public static readonly StatusWord NoPreciseDiagnosis = new(0x6F00);

    public StatusWord(byte sw1, byte sw2) : this((ushort)((sw1 << 8) | sw2)) { }

    public byte Sw1 => (byte)(Value >> 8);

    public byte Sw2 => (byte)Value;

    /// <summary>9000, or a warning that still carries a usable result (61xx, 62xx, 63xx except counters are warnings too).</summary>
    public bool IsSuccess => Value == 0x9000;

    /// <summary>61xx: more response bytes wait to be fetched with GET RESPONSE; <see cref="Sw2"/> bytes (0 = 256).</summary>
    public bool IsMoreDataAvailable => Sw1 == 0x61;

    /// <summary>6Cxx: wrong Le; resend with Le = <see cref="Sw2"/>.</summary>
    public bool IsWrongLe => Sw1 == 0x6C;

    /// <summary>63Cx: verification failed, x tries left.</summary>
    public bool IsRetryCounter => Sw1 == 0x63 && (Sw2 & 0xF0) == 0xC0;

    /// <summary>Tries left for 63Cx, 0 for 6983 (blocked), otherwise null.</summary>
    public int? RetriesLeft => IsRetryCounter ? Sw2 & 0x0F : Value == 0x6983 ? 0 : null;

    public static StatusWord RetryCounter(int triesLeft) => new(0x63, (byte)(0xC0 | Math.Clamp(triesLeft, 0, 15)));

    public static StatusWord BytesAvailable(int count) => new(0x61, (byte)Math.Clamp(count, 0, 255));

    public static StatusWord WrongLe(int exact) => new(0x6C, (byte)exact);

    /// <summary>Short symbolic name, e.g. <c>SecurityStatusNotSatisfied</c>.</summary>
    public string Name => Describe().Name;

    /// <summary>One-sentence meaning, e.g. "security status not satisfied (PIN or management key needed)".</summary>
    public string Meaning => Describe().Meaning;

    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{Value:X4} {Name} ({Meaning})");

    private (string Name, string Meaning) Describe()
    {
        switch (Value)
        {
            case 0x9000: return ("Success", "normal processing");
            case 0x6200: return ("NoInformation", "warning: state of non-volatile memory unchanged");
            case 0x6281: return ("CorruptedData", "warning: part of the returned data may be corrupted");
            case 0x6282: return ("EndOfFileReached", "warning: end of file or record reached before Le bytes");
            case 0x6283: return ("FileDeactivated", "warning: selected file deactivated");
            case 0x6284: return ("BadFci", "warning: file control information not formatted per ISO 7816-4");
            case 0x6300: return ("VerificationFailed", "verification failed (no counter given)");
            case 0x6400: return ("ExecutionError", "execution error, non-volatile memory unchanged");
            case 0x6581: return ("MemoryFailure", "memory failure");
            case 0x6700: return ("WrongLength", "wrong length (Lc or Le)");
            case 0x6881: return ("LogicalChannelNotSupported", "logical channel not supported");
            case 0x6882: return ("SecureMessagingNotSupported", "secure messaging not supported");
            case 0x6883: return ("LastCommandOfChainExpected", "last command of the chain expected");
            case 0x6884: return ("CommandChainingNotSupported", "command chaining not supported");
            case 0x6981: return ("IncompatibleFileStructure", "command incompatible with file structure");
            case 0x6982: return ("SecurityStatusNotSatisfied", "security status not satisfied (PIN or management key needed)");
            case 0x6983: return ("AuthenticationMethodBlocked", "authentication method blocked");
            case 0x6984: return ("ReferenceDataNotUsable", "reference data not usable");
            case 0x6985: return ("ConditionsOfUseNotSatisfied", "conditions of use not satisfied");
            case 0x6986: return ("NoCurrentEf", "command not allowed (no current EF)");
            case 0x6987: return ("SmDataObjectsMissing", "expected secure messaging data objects missing");
            case 0x6988: return ("SmDataObjectsIncorrect", "incorrect secure messaging data objects");
            case 0x6A80: return ("IncorrectDataField", "incorrect parameters in the command data field");
            case 0x6A81: return ("FunctionNotSupported", "function not supported");
            case 0x6A82: return ("FileNotFound", "file or application not found");
            case 0x6A83: return ("RecordNotFound", "record not found");
            case 0x6A84: return ("NotEnoughMemory", "not enough memory space in the file");
            case 0x6A86: return ("IncorrectP1P2", "incorrect parameters P1-P2");
            case 0x6A88: return ("ReferencedDataNotFound", "referenced data or reference data not found");
            case 0x6A89: return ("FileAlreadyExists", "file already exists");
            case 0x6A8A: return ("DfNameAlreadyExists", "DF name already exists");
            case 0x6B00: return ("WrongP1P2", "wrong parameters P1-P2");
            case 0x6D00: return ("InstructionNotSupported", "instruction code not supported or invalid");
            case 0x6E00: return ("ClassNotSupported", "class not supported");
            case 0x6F00: return ("NoPreciseDiagnosis", "no precise diagnosis");
        }

        return Sw1 switch
        {
            0x61 => ("BytesAvailable", $"{(Sw2 == 0 ? 256 : Sw2)} more response bytes available (GET RESPONSE)"),
            0x6C => ("WrongLe", $"wrong Le: exactly {(Sw2 == 0 ? 256 : Sw2)} bytes available"),
            0x63 when (Sw2 & 0xF0) == 0xC0 => ("RetryCounter", $"verification failed, {Sw2 & 0x0F} tries left"),
            0x62 or 0x63 => ("Warning", "warning, state of non-volatile memory changed"),
            0x64 or 0x65 or 0x66 => ("ExecutionError", "execution error"),
            0x67 => ("WrongLength", "wrong length"),
            0x68 => ("FunctionInClaNotSupported", "function in CLA not supported"),
            0x69 => ("CommandNotAllowed", "command not allowed"),
            0x6A => ("WrongParameters", "wrong parameters P1-P2"),
            _ => ("Unknown", "status word not defined by ISO 7816-4"),
        };
    }
}
