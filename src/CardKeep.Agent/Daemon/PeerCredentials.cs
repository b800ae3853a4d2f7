using System.Buffers.Binary;
using System.Net.Sockets;

namespace CardKeep.Agent.Daemon;

/// <summary>
/// Who is at the other end of a Unix socket, as the kernel recorded it at connect() (SO_PEERCRED, Linux
/// <c>struct ucred { pid_t pid; uid_t uid; gid_t gid; }</c>). Never taken from a request.
/// </summary>
public readonly record struct PeerCredentials(int Pid, uint Uid, uint Gid)
{
    private const int SolSocket = 1;
    private const int SoPeerCred = 17;

    /// <summary>Reads SO_PEERCRED of an accepted Unix-socket connection.</summary>
    public static PeerCredentials Of(Socket socket)
    {
        ArgumentNullException.ThrowIfNull(socket);
        Span<byte> ucred = stackalloc byte[12];
        int length = socket.GetRawSocketOption(SolSocket, SoPeerCred, ucred);
        if (length != 12)
        {
            throw new SocketException((int)SocketError.ProtocolNotSupported);
        }

        return new PeerCredentials(
            BinaryPrimitives.ReadInt32LittleEndian(ucred),
            BinaryPrimitives.ReadUInt32LittleEndian(ucred[4..]),
            BinaryPrimitives.ReadUInt32LittleEndian(ucred[8..]));
    }

    /// <summary>The calling process's own credentials (tests, in-process use).</summary>
    public static PeerCredentials Self() => new(Environment.ProcessId, LibC.GetUid(), LibC.GetGid());
}
