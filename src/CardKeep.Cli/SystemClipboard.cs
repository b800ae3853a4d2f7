using System.Diagnostics;

namespace CardKeep.Cli;

/// <summary>
/// The desktop clipboard through wl-copy (Wayland), xclip or xsel (X11). A copied secret is cleared after a timeout by
/// a detached helper that empties the clipboard (it does not outlive a logout). No clipboard tool → a clear error
/// suggesting <c>--show</c>.
/// </summary>
internal static class SystemClipboard
{
    public static void Copy(string text, TimeSpan clearAfter)
    {
        var (tool, args) = Tool() ?? throw new UsageException("no clipboard tool found (wl-copy, xclip or xsel, with a desktop session): use --show to print it instead");
        var info = new ProcessStartInfo(tool) { RedirectStandardInput = true, UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in args)
        {
            info.ArgumentList.Add(a);
        }

        using (var process = Process.Start(info) ?? throw new InvalidOperationException($"cannot start {tool}"))
        {
            process.StandardInput.Write(text);
            process.StandardInput.Close();
            if (!process.WaitForExit(5000))
            {
                // xclip stays to serve the selection; that is expected.
            }
        }

        // Clear later: "sleep N; <tool> < /dev/null", detached from this process.
        var clear = new ProcessStartInfo("setsid") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        clear.ArgumentList.Add("sh");
        clear.ArgumentList.Add("-c");
        clear.ArgumentList.Add($"sleep {(int)clearAfter.TotalSeconds}; \"$0\" \"$@\" < /dev/null");
        clear.ArgumentList.Add(tool);
        foreach (string a in args)
        {
            clear.ArgumentList.Add(a);
        }

        using var _ = Process.Start(clear);
    }

    private static (string Tool, string[] Args)? Tool()
    {
        if (Environment.GetEnvironmentVariable("WAYLAND_DISPLAY") is { Length: > 0 } && Find("wl-copy") is { } wl)
        {
            return (wl, []);
        }

        if (Environment.GetEnvironmentVariable("DISPLAY") is { Length: > 0 })
        {
            if (Find("xclip") is { } xclip)
            {
                return (xclip, ["-selection", "clipboard"]);
            }

            if (Find("xsel") is { } xsel)
            {
                return (xsel, ["--clipboard", "--input"]);
            }
        }

        return null;
    }

    private static string? Find(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(':').Select(d => Path.Combine(d, name)).FirstOrDefault(File.Exists);
}
