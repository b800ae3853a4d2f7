using System.Globalization;

namespace CardKeep.Cards.PcSc;

/// <summary>
/// A PC/SC call failed. Carries the pcsc-lite code (<see cref="Code"/>), its name
/// (<see cref="CodeName"/>, e.g. <c>SCARD_E_NO_SMARTCARD</c>) and the reader, when one was involved.
/// </summary>
public class PcscException : CardException
{
    public PcscException() { }

    public PcscException(string message) : base(message) { }

    public PcscException(string message, Exception innerException) : base(message, innerException) { }

    public PcscException(uint code, string operation, string? reader, string? hint = null)
        : base(Format(code, operation, reader, hint))
    {
        Code = code;
        Reader = reader;
    }

    public uint Code { get; }

    public string CodeName => PcscErrors.Name(Code);

    public string? Reader { get; }

    private static string Format(uint code, string operation, string? reader, string? hint)
    {
        string where = reader is null ? string.Empty : $" on reader '{reader}'";
        string text = string.Create(CultureInfo.InvariantCulture, $"{operation} failed{where}: {PcscErrors.Name(code)} (0x{code:X8}, {PcscErrors.Describe(code)})");
        return hint is null ? text : $"{text}. {hint}";
    }

    internal static void ThrowIfError(nint result, string operation, string? reader = null)
    {
        uint code = unchecked((uint)result);
        if (code != 0)
        {
            throw Create(code, operation, reader);
        }
    }

    internal static PcscException Create(uint code, string operation, string? reader) => code switch
    {
        PcscErrors.NoService or PcscErrors.ServiceStopped
            => new PcscServiceException(code, operation, reader),
        PcscErrors.NoSmartcard or PcscErrors.RemovedCard or PcscErrors.ResetCard or PcscErrors.UnpoweredCard or PcscErrors.UnresponsiveCard
            => new PcscCardAbsentException(code, operation, reader),
        PcscErrors.UnknownReader or PcscErrors.ReaderUnavailable
            => new PcscReaderException(code, operation, reader),
        PcscErrors.Cancelled => new PcscCancelledException(code, operation, reader),
        _ => new PcscException(code, operation, reader),
    };
}

/// <summary>pcscd is not reachable (not running, stopped, or its socket is elsewhere).</summary>
public sealed class PcscServiceException : PcscException
{
    public PcscServiceException() { }

    public PcscServiceException(string message) : base(message) { }

    public PcscServiceException(string message, Exception innerException) : base(message, innerException) { }

    public PcscServiceException(uint code, string operation, string? reader)
        : base(code, operation, reader, Hint()) { }

    /// <summary>Where libpcsclite looks for pcscd: <c>PCSCLITE_CSOCK_NAME</c>, or the compiled-in default.</summary>
    public static string SocketPath =>
        Environment.GetEnvironmentVariable("PCSCLITE_CSOCK_NAME") is { Length: > 0 } path ? path : "/run/pcscd/pcscd.comm";

    private static string Hint() =>
        $"pcscd is not running or not reachable at {SocketPath}: start it with 'sudo systemctl start pcscd.socket' (or run 'pcscd'), " +
        "or set PCSCLITE_CSOCK_NAME to the socket of the pcscd you want";
}

/// <summary>No card in the reader, or it was removed, reset or stopped answering during the operation.</summary>
public sealed class PcscCardAbsentException : PcscException
{
    public PcscCardAbsentException() { }

    public PcscCardAbsentException(string message) : base(message) { }

    public PcscCardAbsentException(string message, Exception innerException) : base(message, innerException) { }

    public PcscCardAbsentException(uint code, string operation, string? reader) : base(code, operation, reader) { }
}

/// <summary>The reader is unknown or went away.</summary>
public sealed class PcscReaderException : PcscException
{
    public PcscReaderException() { }

    public PcscReaderException(string message) : base(message) { }

    public PcscReaderException(string message, Exception innerException) : base(message, innerException) { }

    public PcscReaderException(uint code, string operation, string? reader) : base(code, operation, reader) { }
}

/// <summary>A blocking call was cancelled with SCardCancel.</summary>
public sealed class PcscCancelledException : PcscException
{
    public PcscCancelledException() { }

    public PcscCancelledException(string message) : base(message) { }

    public PcscCancelledException(string message, Exception innerException) : base(message, innerException) { }

    public PcscCancelledException(uint code, string operation, string? reader) : base(code, operation, reader) { }
}
