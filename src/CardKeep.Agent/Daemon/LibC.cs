using System.Runtime.InteropServices;

namespace CardKeep.Agent.Daemon;

/// <summary>The uid/gid calls .NET does not offer (Linux).</summary>
internal static partial class LibC
{
    /// <summary>S_IFSOCK.</summary>
    public const int SocketFileType = 0xC000;

    /// <summary>The S_IFMT bits of <paramref name="path"/> without following a symlink (lstat), or 0 when it does not exist.</summary>
    public static int FileType(string path)
    {
        Span<byte> stat = stackalloc byte[256];
        if (LStat(path, stat) != 0)
        {
            return 0;
        }

        // struct stat: st_mode follows dev, ino (x86_64 also nlink) — offset 24 on x86_64, 16 on arm64.
        int offset = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 24 : 16;
        return (int)(System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(stat[offset..]) & 0xF000);
    }

    [LibraryImport("libc", EntryPoint = "lstat", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int LStat(string path, Span<byte> stat);

    [LibraryImport("libc", EntryPoint = "getuid")]
    public static partial uint GetUid();

    [LibraryImport("libc", EntryPoint = "getgid")]
    public static partial uint GetGid();

    [LibraryImport("libc", EntryPoint = "geteuid")]
    public static partial uint GetEuid();
}
