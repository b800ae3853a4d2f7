using System.Security.Cryptography;

namespace CardKeep.VirtualCard.Store;

/// <summary>
/// Crash-safe file replacement: write <c>&lt;file&gt;.tmp-&lt;random&gt;</c> in the same folder (mode 0600), flush it
/// to disk, rename it over the target, then fsync the folder. A crash at any point leaves the old file or the new
/// one, never a mix; at worst a stray temporary file, which <see cref="VscStore"/> ignores and cleans.
/// </summary>
internal static class AtomicFile
{
    /// <summary>Marks temporary files; anything named <c>*.vsc.tmp-*</c> is a leftover of an interrupted save.</summary>
    public const string TempMarker = ".tmp-";

    public const UnixFileMode FileMode0600 = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    public const UnixFileMode DirectoryMode0700 = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <summary>
    /// Replaces (or, with <paramref name="overwrite"/> false, creates) <paramref name="path"/> with
    /// <paramref name="bytes"/>. <paramref name="beforeRename"/> is a fault-injection point for tests: it runs after the
    /// temporary file is on disk and before the rename.
    /// </summary>
    public static void Write(string path, ReadOnlySpan<byte> bytes, bool overwrite, Action<string>? beforeRename = null)
    {
        string fullPath = Path.GetFullPath(path);
        string directory = Path.GetDirectoryName(fullPath) ?? throw new ArgumentException("path has no directory", nameof(path));
        string temp = fullPath + TempMarker + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        try
        {
            var options = new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.Write,
                Share = FileShare.None,
            };
            if (!OperatingSystem.IsWindows())
            {
                options.UnixCreateMode = FileMode0600;
            }

            using (var stream = new FileStream(temp, options))
            {
                stream.Write(bytes);
                stream.Flush(flushToDisk: true);
            }

            beforeRename?.Invoke(temp);
            File.Move(temp, fullPath, overwrite);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }

        if (OperatingSystem.IsLinux())
        {
            LibC.FsyncDirectory(directory);
        }
    }

    /// <summary>Deletes <paramref name="path"/> and makes the removal durable.</summary>
    public static void Delete(string path)
    {
        string fullPath = Path.GetFullPath(path);
        File.Delete(fullPath);
        if (OperatingSystem.IsLinux() && Path.GetDirectoryName(fullPath) is { } directory)
        {
            LibC.FsyncDirectory(directory);
        }
    }

    /// <summary>Deletes a file if it can; a failure is ignored (used for clean-up only).</summary>
    public static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // Clean-up only: a file that cannot be deleted now is cleaned next time.
        }
        catch (UnauthorizedAccessException)
        {
            // Same as above.
        }
    }

    /// <summary>Leftover temporary files of <paramref name="path"/> (from saves that were interrupted by a crash).</summary>
    public static IEnumerable<string> StrayTemporaries(string path)
    {
        string fullPath = Path.GetFullPath(path);
        string? directory = Path.GetDirectoryName(fullPath);
        if (directory is null || !Directory.Exists(directory))
        {
            return [];
        }

        return Directory.EnumerateFiles(directory, Path.GetFileName(fullPath) + TempMarker + "*")
            .Where(f => Path.GetFileName(f).StartsWith(Path.GetFileName(fullPath) + TempMarker, StringComparison.Ordinal));
    }
}
