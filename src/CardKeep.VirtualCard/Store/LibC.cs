using System.Runtime.InteropServices;

namespace CardKeep.VirtualCard.Store;

/// <summary>
/// The few libc calls .NET does not offer: fsync of a directory (so a rename survives a power cut), reading a
/// file that another process holds with flock (the .NET file APIs take a shared flock themselves and would fail), and
/// the owner and mode of a path (the agent's folders and the machine store refuse ones another user could change).
/// Linux only; callers check <see cref="OperatingSystem.IsLinux"/>.
/// </summary>
internal static partial class LibC
{
    private const string Library = "libc";
    private const int OpenReadOnly = 0;
    private const int OpenCloseOnExec = 0x80000;

    /// <summary>Opens <paramref name="directory"/>, fsyncs it and closes it; throws <see cref="IOException"/> on failure.</summary>
    public static void FsyncDirectory(string directory)
    {
        int fd = Open(directory, OpenReadOnly | OpenDirectory | OpenCloseOnExec);
        if (fd < 0)
        {
            throw new IOException($"cannot open directory '{directory}' to sync it (errno {Marshal.GetLastPInvokeError()})");
        }

        try
        {
            if (Fsync(fd) != 0)
            {
                throw new IOException($"fsync of directory '{directory}' failed (errno {Marshal.GetLastPInvokeError()})");
            }
        }
        finally
        {
            _ = Close(fd);
        }
    }

    /// <summary>Up to <paramref name="maxBytes"/> bytes from the start of a file, ignoring flock; null when it cannot be read.</summary>
    public static byte[]? ReadHead(string path, int maxBytes)
    {
        int fd = Open(path, OpenReadOnly | OpenCloseOnExec);
        if (fd < 0)
        {
            return null;
        }

        try
        {
            var buffer = new byte[maxBytes];
            nint read = Read(fd, buffer, (nuint)buffer.Length);
            return read < 0 ? null : buffer.AsSpan(0, (int)read).ToArray();
        }
        finally
        {
            _ = Close(fd);
        }
    }

    /// <summary>lstat's st_mode and st_uid (the link itself, not its target), or null when the path does not exist.</summary>
    public static (int Mode, uint Uid)? Status(string path)
    {
        Span<byte> stat = stackalloc byte[256];
        if (LStat(path, stat) != 0)
        {
            return null;
        }

        // struct stat: x86_64 has dev, ino, nlink (8 each), then mode, uid; arm64 has dev, ino (8 each), mode, nlink (4 each), uid.
        bool x64 = RuntimeInformation.ProcessArchitecture == Architecture.X64;
        int mode = (int)System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(stat[(x64 ? 24 : 16)..]);
        uint uid = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(stat[(x64 ? 28 : 24)..]);
        return (mode, uid);
    }

    /// <summary>The effective uid of this process.</summary>
    [LibraryImport(Library, EntryPoint = "geteuid")]
    public static partial uint GetEuid();

    /// <summary>O_DIRECTORY differs between architectures: 0200000 on x86/x64, 040000 on ARM.</summary>
    private static int OpenDirectory =>
        RuntimeInformation.ProcessArchitecture is Architecture.Arm or Architecture.Arm64 ? 0x4000 : 0x10000;

    [LibraryImport(Library, EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport(Library, EntryPoint = "lstat", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int LStat(string path, Span<byte> stat);

    [LibraryImport(Library, EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    [LibraryImport(Library, EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);

    [LibraryImport(Library, EntryPoint = "read", SetLastError = true)]
    private static partial nint Read(int fd, Span<byte> buffer, nuint count);
}
