using System.Globalization;
using System.Text;

namespace CardKeep.VirtualCard.Store;

/// <summary>
/// Another CardKeep process (or this one) holds the lock of a virtual smart card. <see cref="Pid"/> is the holder's
/// process id when it could be read from the lock file.
/// </summary>
public sealed class VscInUseException : VscException
{
    /// <summary>Creates an exception with a generic message.</summary>
    public VscInUseException()
    {
    }

    /// <summary>Creates an exception with the given message.</summary>
    public VscInUseException(string message) : base(message)
    {
    }

    /// <summary>Creates an exception with the given message and cause.</summary>
    public VscInUseException(string message, Exception innerException) : base(message, innerException)
    {
    }

    /// <summary>Creates the exception for card <paramref name="id"/> held by process <paramref name="pid"/> (null: unknown).</summary>
    public VscInUseException(string id, int? pid, Exception? innerException)
        : base(Describe(id, pid), innerException!)
    {
        Id = id;
        Pid = pid;
    }

    /// <summary>The card that is in use.</summary>
    public string? Id { get; }

    /// <summary>Process id of the holder, when known.</summary>
    public int? Pid { get; }

    private static string Describe(string id, int? pid) => pid switch
    {
        null => $"VSC {id} is in use by another process",
        var p when p == Environment.ProcessId => $"VSC {id} is already in use in this process (pid {p})",
        var p => $"VSC {id} is in use by another CardKeep process (pid {p})",
    };
}

/// <summary>
/// Exclusive advisory lock on one card: <c>&lt;Id&gt;.lock</c> opened with <see cref="FileShare.None"/>, which .NET
/// implements on Unix with flock(LOCK_EX|LOCK_NB). The kernel drops the lock when the process dies, so a crash never
/// leaves a card locked. The holder writes its pid into the file for the error message of the next contender.
/// Exclusive within one process too (each open is its own lock).
/// </summary>
internal sealed class VscLock : IDisposable
{
    private FileStream? _stream;

    private VscLock(FileStream stream) => _stream = stream;

    public static VscLock Acquire(string lockPath, string id)
    {
        var options = new FileStreamOptions
        {
            Mode = FileMode.OpenOrCreate,
            Access = FileAccess.ReadWrite,
            Share = FileShare.None,
        };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = AtomicFile.FileMode0600;
        }

        FileStream stream;
        try
        {
            stream = new FileStream(lockPath, options);
        }
        catch (IOException ex) when (IsSharingViolation(ex))
        {
            throw new VscInUseException(id, ReadPid(lockPath), ex);
        }

        try
        {
            stream.SetLength(0);
            stream.Write(Encoding.ASCII.GetBytes(Environment.ProcessId.ToString(CultureInfo.InvariantCulture) + "\n"));
            stream.Flush();
            return new VscLock(stream);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        _stream?.Dispose();
        _stream = null;
    }

    /// <summary>EWOULDBLOCK from flock (11 on Linux, 35 on macOS) or ERROR_SHARING_VIOLATION on Windows.</summary>
    private static bool IsSharingViolation(IOException ex) =>
        ex.GetType() == typeof(IOException) && ex.HResult is 11 or 35 or unchecked((int)0x80070020);

    private static int? ReadPid(string lockPath)
    {
        if (!OperatingSystem.IsLinux() || LibC.ReadHead(lockPath, 32) is not { } head)
        {
            return null;
        }

        return int.TryParse(Encoding.ASCII.GetString(head).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int pid) ? pid : null;
    }
}
