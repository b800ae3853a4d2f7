namespace CardKeep.Manager;

/// <summary>
/// CardKeep's per-user folders. Data: <c>$CARDKEEP_HOME</c>, else <c>$XDG_DATA_HOME/cardkeep</c>, else
/// <c>~/.local/share/cardkeep</c>. Runtime (gone at logout or reboot): <c>$XDG_RUNTIME_DIR/cardkeep</c>, else a 0700
/// folder under the data folder.
/// </summary>
public static class DataPaths
{
    public static string DataDirectory()
    {
        string dir = Environment.GetEnvironmentVariable("CARDKEEP_HOME") is { Length: > 0 } home
            ? home
            : Environment.GetEnvironmentVariable("XDG_DATA_HOME") is { Length: > 0 } xdg && Path.IsPathRooted(xdg)
                ? Path.Combine(xdg, "cardkeep")
                : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "share", "cardkeep");
        return EnsurePrivate(dir);
    }

    public static string RuntimeDirectory() =>
        EnsurePrivate(Environment.GetEnvironmentVariable("XDG_RUNTIME_DIR") is { Length: > 0 } runtime && Path.IsPathRooted(runtime)
            ? Path.Combine(runtime, "cardkeep")
            : Path.Combine(DataDirectory(), "run"));

    private static string EnsurePrivate(string dir)
    {
        Directory.CreateDirectory(dir);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        return dir;
    }
}
