using System.Net.Sockets;

namespace CardKeep.Agent.Daemon;

/// <summary>Who may connect to a socket the agent listens on.</summary>
public enum SocketMode
{
    /// <summary>Shared system agent: socket 0666 in a 0755 folder; every connection is authorized by its SO_PEERCRED uid.</summary>
    System,

    /// <summary>Per-user agent: socket 0600 in a 0700 folder; connections from any other uid are closed at once.</summary>
    User,
}

/// <summary>
/// A listening Unix stream socket with the agent's permission rules. A stale socket file left by a crashed agent is
/// replaced; any other file at the path is left alone and the bind fails.
/// </summary>
public sealed class UnixListener : IDisposable
{
    private readonly Socket _socket;

    public UnixListener(string path, SocketMode mode, int backlog = 64)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        Path = System.IO.Path.GetFullPath(path);
        Mode = mode;
        string directory = System.IO.Path.GetDirectoryName(Path) ?? throw new ArgumentException("the socket path has no folder", nameof(path));
        var folderMode = mode == SocketMode.User
            ? UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            : UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute
              | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;
        // A folder that exists is left as it is (it may be shared, like /tmp), but only if nobody else can swap the socket.
        if (!Directory.Exists(directory))
        {
            Directory.CreateDirectory(directory, folderMode);
        }

        SafeFolder.Require(directory);

        int type = LibC.FileType(Path);
        if (type == LibC.SocketFileType)
        {
            if (IsAnswered(Path))
            {
                throw new IOException($"another agent is listening on '{Path}'");
            }

            File.Delete(Path);
        }
        else if (type != 0)
        {
            throw new IOException($"'{Path}' exists and is not a socket; refusing to replace it");
        }

        _socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            _socket.Bind(new UnixDomainSocketEndPoint(Path));
            File.SetUnixFileMode(Path, mode == SocketMode.User
                ? UnixFileMode.UserRead | UnixFileMode.UserWrite
                : UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.OtherRead | UnixFileMode.OtherWrite);
            _socket.Listen(backlog);
        }
        catch
        {
            _socket.Dispose();
            throw;
        }
    }

    public string Path { get; }

    public SocketMode Mode { get; }

    public async Task<Socket> AcceptAsync(CancellationToken cancellationToken) => await _socket.AcceptAsync(cancellationToken).ConfigureAwait(false);

    public void Dispose()
    {
        _socket.Dispose();
        try
        {
            if (IsSocket(Path))
            {
                File.Delete(Path);
            }
        }
        catch (IOException)
        {
            // Gone already or not ours to remove.
        }
    }

    private static bool IsAnswered(string path)
    {
        using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            probe.Connect(new UnixDomainSocketEndPoint(path));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static bool IsSocket(string path) => LibC.FileType(path) == LibC.SocketFileType;
}
