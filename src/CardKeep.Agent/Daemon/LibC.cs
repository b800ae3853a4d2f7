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
    public static (int Mode, uint Uid)? Status(string path) => VirtualCard.Store.LibC.Status(path);

    [LibraryImport("libc", EntryPoint = "getuid")]
    public static partial uint GetUid();

    [LibraryImport("libc", EntryPoint = "getgid")]
    public static partial uint GetGid();

    [LibraryImport("libc", EntryPoint = "geteuid")]
    public static partial uint GetEuid();
}
