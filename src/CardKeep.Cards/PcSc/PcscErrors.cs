namespace CardKeep.Cards.PcSc;

/// <summary>pcsc-lite result codes (pcsclite.h) with their names and meanings.</summary>
public static class PcscErrors
{
    public const uint Success = 0;
    public const uint Cancelled = 0x80100002;
    public const uint InsufficientBuffer = 0x80100008;
    public const uint UnknownReader = 0x80100009;
    public const uint Timeout = 0x8010000A;
    public const uint SharingViolation = 0x8010000B;
    public const uint NoSmartcard = 0x8010000C;
    public const uint ReaderUnavailable = 0x80100017;
    public const uint NoService = 0x8010001D;
    public const uint ServiceStopped = 0x8010001E;
    public const uint NoReadersAvailable = 0x8010002E;
    public const uint UnresponsiveCard = 0x80100066;
    public const uint UnpoweredCard = 0x80100067;
    public const uint ResetCard = 0x80100068;
    public const uint RemovedCard = 0x80100069;
    public const uint CommError = 0x80100013;

    private static readonly Dictionary<uint, (string Name, string Meaning)> _table = new()
    {
        [0x00000000] = ("SCARD_S_SUCCESS", "no error"),
        [0x80100001] = ("SCARD_F_INTERNAL_ERROR", "an internal consistency check failed"),
        [0x80100002] = ("SCARD_E_CANCELLED", "the action was cancelled by SCardCancel"),
        [0x80100003] = ("SCARD_E_INVALID_HANDLE", "the supplied handle was invalid"),
        [0x80100004] = ("SCARD_E_INVALID_PARAMETER", "one or more parameters could not be interpreted"),
        [0x80100005] = ("SCARD_E_INVALID_TARGET", "registry startup information is missing or invalid"),
        [0x80100006] = ("SCARD_E_NO_MEMORY", "not enough memory to complete the command"),
        [0x80100007] = ("SCARD_F_WAITED_TOO_LONG", "an internal consistency timer expired"),
        [0x80100008] = ("SCARD_E_INSUFFICIENT_BUFFER", "the receive buffer is too small"),
        [0x80100009] = ("SCARD_E_UNKNOWN_READER", "the reader name is not recognised"),
        [0x8010000A] = ("SCARD_E_TIMEOUT", "the user-specified timeout expired"),
        [0x8010000B] = ("SCARD_E_SHARING_VIOLATION", "the card is in use by another connection"),
        [0x8010000C] = ("SCARD_E_NO_SMARTCARD", "there is no card in the reader"),
        [0x8010000D] = ("SCARD_E_UNKNOWN_CARD", "the card name is not recognised"),
        [0x8010000E] = ("SCARD_E_CANT_DISPOSE", "the card cannot be disposed of as requested"),
        [0x8010000F] = ("SCARD_E_PROTO_MISMATCH", "the requested protocols are incompatible with the card's"),
        [0x80100010] = ("SCARD_E_NOT_READY", "the reader or card is not ready"),
        [0x80100011] = ("SCARD_E_INVALID_VALUE", "a parameter value could not be interpreted"),
        [0x80100012] = ("SCARD_E_SYSTEM_CANCELLED", "the action was cancelled by the system"),
        [0x80100013] = ("SCARD_F_COMM_ERROR", "an internal communications error was detected"),
        [0x80100014] = ("SCARD_F_UNKNOWN_ERROR", "an internal error of unknown cause"),
        [0x80100015] = ("SCARD_E_INVALID_ATR", "the ATR is invalid"),
        [0x80100016] = ("SCARD_E_NOT_TRANSACTED", "an attempt to end a non-existent transaction"),
        [0x80100017] = ("SCARD_E_READER_UNAVAILABLE", "the reader is not available"),
        [0x80100018] = ("SCARD_P_SHUTDOWN", "the operation was aborted to let the server exit"),
        [0x80100019] = ("SCARD_E_PCI_TOO_SMALL", "the PCI receive buffer is too small"),
        [0x8010001A] = ("SCARD_E_READER_UNSUPPORTED", "the reader driver does not meet requirements"),
        [0x8010001B] = ("SCARD_E_DUPLICATE_READER", "the reader driver did not produce a unique name"),
        [0x8010001C] = ("SCARD_E_CARD_UNSUPPORTED", "the card does not meet requirements"),
        [0x8010001D] = ("SCARD_E_NO_SERVICE", "the smart card resource manager (pcscd) is not running"),
        [0x8010001E] = ("SCARD_E_SERVICE_STOPPED", "the smart card resource manager has shut down"),
        [0x8010001F] = ("SCARD_E_UNSUPPORTED_FEATURE", "the feature is not supported"),
        [0x80100020] = ("SCARD_E_ICC_INSTALLATION", "no primary provider for the card"),
        [0x80100021] = ("SCARD_E_ICC_CREATEORDER", "the requested creation order is not supported"),
        [0x80100023] = ("SCARD_E_DIR_NOT_FOUND", "the directory does not exist on the card"),
        [0x80100024] = ("SCARD_E_FILE_NOT_FOUND", "the file does not exist on the card"),
        [0x80100025] = ("SCARD_E_NO_DIR", "the path does not name a directory"),
        [0x80100026] = ("SCARD_E_NO_FILE", "the path does not name a file"),
        [0x80100027] = ("SCARD_E_NO_ACCESS", "access to the file is denied"),
        [0x80100028] = ("SCARD_E_WRITE_TOO_MANY", "the card has no room for more data"),
        [0x80100029] = ("SCARD_E_BAD_SEEK", "error setting the file pointer"),
        [0x8010002A] = ("SCARD_E_INVALID_CHV", "the PIN is wrong"),
        [0x8010002B] = ("SCARD_E_UNKNOWN_RES_MNG", "an unrecognised error code from a layered component"),
        [0x8010002C] = ("SCARD_E_NO_SUCH_CERTIFICATE", "the requested certificate does not exist"),
        [0x8010002D] = ("SCARD_E_CERTIFICATE_UNAVAILABLE", "the requested certificate could not be obtained"),
        [0x8010002E] = ("SCARD_E_NO_READERS_AVAILABLE", "no smart card reader is available"),
        [0x8010002F] = ("SCARD_E_COMM_DATA_LOST", "a communications error with the card was detected"),
        [0x80100030] = ("SCARD_E_NO_KEY_CONTAINER", "the requested key container does not exist"),
        [0x80100031] = ("SCARD_E_SERVER_TOO_BUSY", "the smart card resource manager is too busy"),
        [0x80100065] = ("SCARD_W_UNSUPPORTED_CARD", "the card's ATR does not match a known card"),
        [0x80100066] = ("SCARD_W_UNRESPONSIVE_CARD", "the card is not responding to reset"),
        [0x80100067] = ("SCARD_W_UNPOWERED_CARD", "power has been removed from the card"),
        [0x80100068] = ("SCARD_W_RESET_CARD", "the card was reset, so shared state is invalid"),
        [0x80100069] = ("SCARD_W_REMOVED_CARD", "the card was removed"),
        [0x8010006A] = ("SCARD_W_SECURITY_VIOLATION", "access was denied because of a security violation"),
        [0x8010006B] = ("SCARD_W_WRONG_CHV", "the PIN was not accepted"),
        [0x8010006C] = ("SCARD_W_CHV_BLOCKED", "the PIN retries are exhausted"),
        [0x8010006D] = ("SCARD_W_EOF", "the end of the card file was reached"),
        [0x8010006E] = ("SCARD_W_CANCELLED_BY_USER", "the user cancelled"),
        [0x8010006F] = ("SCARD_W_CARD_NOT_AUTHENTICATED", "no PIN was presented to the card"),
    };

    public static string Name(uint code) => _table.TryGetValue(code, out var entry) ? entry.Name : $"0x{code:X8}";

    public static string Describe(uint code) => _table.TryGetValue(code, out var entry) ? entry.Meaning : "unknown PC/SC error";
}
