using CardKeep.Cards;

namespace CardKeep.VirtualCard.Store;

/// <summary>
/// A VSC file failed the consistency check (format or encryption) and is refused. The message names the file and
/// says what failed, e.g. "VSC file '/x/y.vsc' is damaged: checksum mismatch (file was modified or truncated)".
/// Messages never carry secrets.
/// </summary>
public sealed class VscFormatException : CardFormatException
{
    /// <summary>Creates an exception with a generic message.</summary>
    public VscFormatException()
    {
    }

    /// <summary>Creates an exception with the given message.</summary>
    public VscFormatException(string message) : base(message)
    {
    }

    /// <summary>Creates an exception with the given message and cause.</summary>
    public VscFormatException(string message, Exception innerException) : base(message, innerException)
    {
    }

    /// <summary>Creates the exception for <paramref name="filePath"/> with <paramref name="reason"/> (what failed).</summary>
    public VscFormatException(string filePath, string reason, Exception? innerException = null)
        : base(Describe(filePath, reason), innerException!)
    {
        FilePath = filePath;
        Reason = reason;
    }

    /// <summary>The file that was refused, when known.</summary>
    public string? FilePath { get; }

    /// <summary>What failed, without the file name (e.g. "unsupported format version 9").</summary>
    public string? Reason { get; }

    private static string Describe(string filePath, string reason) =>
        reason.StartsWith("unsupported format version", StringComparison.Ordinal) || reason.StartsWith("not a VSC file", StringComparison.Ordinal)
            ? $"VSC file '{filePath}' cannot be used: {reason}"
            : $"VSC file '{filePath}' is damaged: {reason}";
}

/// <summary>A virtual smart card operation that cannot be done: unknown or ambiguous card, card in use, duplicate Id.</summary>
public class VscException : CardException
{
    /// <summary>Creates an exception with a generic message.</summary>
    public VscException()
    {
    }

    /// <summary>Creates an exception with the given message.</summary>
    public VscException(string message) : base(message)
    {
    }

    /// <summary>Creates an exception with the given message and cause.</summary>
    public VscException(string message, Exception innerException) : base(message, innerException)
    {
    }
}

/// <summary>
/// A PIN-protected item (private object or private key) was used without a valid <see cref="VscUnlock"/>. A PIV applet
/// answers this with 6982 (security status not satisfied).
/// </summary>
public sealed class VscPinRequiredException : VscException
{
    /// <summary>Creates an exception with a generic message.</summary>
    public VscPinRequiredException()
    {
    }

    /// <summary>Creates an exception with the given message.</summary>
    public VscPinRequiredException(string message) : base(message)
    {
    }

    /// <summary>Creates an exception with the given message and cause.</summary>
    public VscPinRequiredException(string message, Exception innerException) : base(message, innerException)
    {
    }
}
