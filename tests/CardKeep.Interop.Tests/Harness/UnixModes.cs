namespace CardKeep.Interop.Tests.Harness;

/// <summary>Unix permission bits for files the tools read (the interop tests run on Linux only).</summary>
internal static class UnixModes
{
    /// <summary>rwxr-xr-x: folders other users (sshd's privilege-separated child) must enter, scripts that must run.</summary>
    public const UnixFileMode Executable = (UnixFileMode)0b111_101_101;

    /// <summary>rw-r--r--.</summary>
    public const UnixFileMode Readable = (UnixFileMode)0b110_100_100;

    public static void Set(string path, UnixFileMode mode)
    {
        if (OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException("the interop tests need Linux");
        }

        File.SetUnixFileMode(path, mode);
    }
}
