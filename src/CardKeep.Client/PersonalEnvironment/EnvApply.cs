using System.Net;
using System.Text;

namespace CardKeep.Client.PersonalEnvironment;

/// <summary>
/// <c>cardkeep env apply SET</c>: the set's preferences as a POSIX shell environment file (<c>export NAME='value'</c>,
/// for <c>. FILE</c> from a shell profile or systemd's <c>EnvironmentFile=</c> after stripping <c>export</c>) and its
/// sites and bookmarks as a Netscape bookmark file (what Firefox and Chromium import). Files are written mode 0600.
/// </summary>
public static class EnvApply
{
    /// <summary>Default environment file: <c>~/.config/cardkeep/env/SET.env</c> (or under <c>$XDG_CONFIG_HOME</c>).</summary>
    public static string DefaultEnvironmentFile(string set) => Path.Combine(ConfigHome(), "cardkeep", "env", set + ".env");

    /// <summary>Default bookmarks file: <c>~/.config/cardkeep/env/SET-bookmarks.html</c>.</summary>
    public static string DefaultBookmarksFile(string set) => Path.Combine(ConfigHome(), "cardkeep", "env", set + "-bookmarks.html");

    /// <summary>The environment file's text for the preferences among <paramref name="entries"/>.</summary>
    public static string EnvironmentFile(string set, IEnumerable<EnvEntry> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        var text = new StringBuilder($"# CardKeep personal environment, set '{set}' (cardkeep env apply {set}); source it from your shell profile\n");
        foreach (var e in entries.Where(e => e.Kind == EntryKind.Preference && EnvEntry.IsPreferenceName(e.Name)).OrderBy(e => e.Name, StringComparer.Ordinal))
        {
            text.Append("export ").Append(e.Name).Append("='").Append((e.Value ?? string.Empty).Replace("'", "'\\''", StringComparison.Ordinal)).Append("'\n");
        }

        return text.ToString();
    }

    /// <summary>The Netscape bookmark file for the sites (their start pages) and bookmarks among <paramref name="entries"/>; no credentials.</summary>
    public static string BookmarksFile(string set, IEnumerable<EnvEntry> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        var text = new StringBuilder("""
            <!DOCTYPE NETSCAPE-Bookmark-file-1>
            <!-- This is an automatically generated file. It will be read and overwritten. DO NOT EDIT! -->
            <META HTTP-EQUIV="Content-Type" CONTENT="text/html; charset=UTF-8">
            <TITLE>Bookmarks</TITLE>
            <H1>Bookmarks</H1>
            <DL><p>

            """);
        text.Append("    <DT><H3>CardKeep ").Append(WebUtility.HtmlEncode(set)).Append("</H3>\n    <DL><p>\n");
        foreach (var e in entries.Where(e => e.Kind is EntryKind.Site or EntryKind.Bookmark && e.OpenUrl() is not null).OrderBy(e => e.Name, StringComparer.OrdinalIgnoreCase))
        {
            text.Append("        <DT><A HREF=\"").Append(WebUtility.HtmlEncode(e.OpenUrl())).Append("\">").Append(WebUtility.HtmlEncode(e.Name)).Append("</A>\n");
        }

        return text.Append("    </DL><p>\n</DL><p>\n").ToString();
    }

    /// <summary>Writes <paramref name="content"/> to <paramref name="path"/> (mode 0600, folders 0700, replaced atomically).</summary>
    public static void Write(string path, string content)
    {
        string full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        string temp = full + ".tmp";
        using (var stream = new FileStream(temp, new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite }))
        {
            stream.Write(Encoding.UTF8.GetBytes(content));
        }

        File.Move(temp, full, overwrite: true);
    }

    private static string ConfigHome() => Environment.GetEnvironmentVariable("XDG_CONFIG_HOME") is { Length: > 0 } xdg ? xdg
        : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".config");
}
