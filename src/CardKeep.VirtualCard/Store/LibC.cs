using System.Runtime.InteropServices;

namespace CardKeep.VirtualCard.Store;

/// <summary>
/// The few libc calls .NET does not offer: fsync of a directory (so a rename survives a power cut) and reading a
/// file that another process holds with flock (the .NET file APIs take a shared flock themselves and would fail).
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

    /// <summary>O_DIRECTORY differs between architectures: 0200000 on x86/x64, 040000 on ARM.</summary>
    private static int OpenDirectory =>
        RuntimeInformation.ProcessArchitecture is Architecture.Arm or Architecture.Arm64 ? 0x4000 : 0x10000;

    [LibraryImport(Library, EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport(Library, EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    [LibraryImport(Library, EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);

    [LibraryImport(Library, EntryPoint = "read", SetLastError = true)]
    private static partial nint Read(int fd, Span<byte> buffer, nuint count);
}
