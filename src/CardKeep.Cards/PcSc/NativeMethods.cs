using System.Runtime.InteropServices;

namespace CardKeep.Cards.PcSc;

/// <summary>
/// Thin P/Invoke layer over pcsc-lite's libpcsclite.so.1 (Linux). On Linux pcsc-lite defines DWORD as
/// <c>unsigned long</c> and LONG as <c>long</c>, so both are 8 bytes on x86_64: they map to nuint/nint here.
/// Everything returns the raw LONG result; <see cref="PcscException.ThrowIfError"/> turns it into a typed error.
/// The client library reads <c>PCSCLITE_CSOCK_NAME</c> from the process environment to find pcscd's socket.
/// </summary>
internal static unsafe partial class NativeMethods
{
    private const string Library = "libpcsclite.so.1";

    public const uint ScopeUser = 0;
    public const uint ScopeSystem = 2;
    public const uint Infinite = 0xFFFFFFFF;
    public const int MaxAtrSize = 33;
    public const string PnpNotification = "\\\\?PnP?\\Notification";

    [StructLayout(LayoutKind.Sequential)]
    public struct ReaderState
    {
        public nint Reader;
        public nint UserData;
        public nuint CurrentState;
        public nuint EventState;
        public nuint AtrLength;
        public fixed byte Atr[MaxAtrSize];
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct IoRequest
    {
        public nuint Protocol;
        public nuint PciLength;
    }

    [LibraryImport(Library, EntryPoint = "SCardEstablishContext")]
    public static partial nint EstablishContext(nuint scope, nint reserved1, nint reserved2, out nint context);

    [LibraryImport(Library, EntryPoint = "SCardReleaseContext")]
    public static partial nint ReleaseContext(nint context);

    [LibraryImport(Library, EntryPoint = "SCardIsValidContext")]
    public static partial nint IsValidContext(nint context);

    [LibraryImport(Library, EntryPoint = "SCardListReaders")]
    public static partial nint ListReaders(nint context, byte* groups, byte* readers, ref nuint readersLength);

    [LibraryImport(Library, EntryPoint = "SCardGetStatusChange")]
    public static partial nint GetStatusChange(nint context, nuint timeout, ReaderState* states, nuint count);

    [LibraryImport(Library, EntryPoint = "SCardCancel")]
    public static partial nint Cancel(nint context);

    [LibraryImport(Library, EntryPoint = "SCardConnect")]
    public static partial nint Connect(nint context, byte* reader, nuint shareMode, nuint preferredProtocols, out nint card, out nuint activeProtocol);

    [LibraryImport(Library, EntryPoint = "SCardReconnect")]
    public static partial nint Reconnect(nint card, nuint shareMode, nuint preferredProtocols, nuint initialization, out nuint activeProtocol);

    [LibraryImport(Library, EntryPoint = "SCardDisconnect")]
    public static partial nint Disconnect(nint card, nuint disposition);

    [LibraryImport(Library, EntryPoint = "SCardBeginTransaction")]
    public static partial nint BeginTransaction(nint card);

    [LibraryImport(Library, EntryPoint = "SCardEndTransaction")]
    public static partial nint EndTransaction(nint card, nuint disposition);

    [LibraryImport(Library, EntryPoint = "SCardStatus")]
    public static partial nint Status(nint card, byte* readerName, ref nuint readerLength, out nuint state, out nuint protocol, byte* atr, ref nuint atrLength);

    [LibraryImport(Library, EntryPoint = "SCardTransmit")]
    public static partial nint Transmit(nint card, IoRequest* sendPci, byte* sendBuffer, nuint sendLength, IoRequest* receivePci, byte* receiveBuffer, ref nuint receiveLength);
}
