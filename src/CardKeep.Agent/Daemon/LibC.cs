using System.Runtime.InteropServices;

namespace CardKeep.Agent.Daemon;

/// <summary>The uid/gid calls .NET does not offer (Linux).</summary>
internal static partial class LibC
{
    /// <summary>S_IFSOCK.</summary>
    public const int SocketFileType = 0xC000;

    /// <summary>The S_IFMT bits of <paramref name="path"/> without following a symlink (lstat), or 0 when it does not exist.</summary>
    public static int FileType(string path) => Status(path) is { } s ? s.Mode & 0xF000 : 0;

    /// <summary>lstat's st_mode and st_uid, or null when the path does not exist.</summary>
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

    [LibraryImport("libc", EntryPoint = "lstat", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int LStat(string path, Span<byte> stat);

    [LibraryImport("libc", EntryPoint = "getuid")]
    public static partial uint GetUid();

    [LibraryImport("libc", EntryPoint = "getgid")]
    public static partial uint GetGid();

    [LibraryImport("libc", EntryPoint = "geteuid")]
    public static partial uint GetEuid();
}
