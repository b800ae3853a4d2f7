using CardKeep.Client.PersonalEnvironment;

namespace CardKeep.Server.Tests.Records;

/// <summary><c>env apply</c>'s files: shell-safe environment lines and a Netscape bookmark file without credentials.</summary>
public sealed class EnvApplyTests
{
    private static EnvEntry Entry(EntryKind kind, string name, string? url = null, string? value = null, string? start = null) =>
        new() { Id = EnvEntry.NewId(), Kind = kind, Name = name, Url = url, Value = value, StartPage = start, Password = kind == EntryKind.Site ? "hunter2" : null };

    [Fact]
    public void EnvironmentFile_QuotesValuesForTheShell_OnlyPreferences()
    {
        string text = EnvApply.EnvironmentFile("office", [
            Entry(EntryKind.Preference, "EDITOR", value: "vim"),
            Entry(EntryKind.Preference, "PS1", value: "it's $(rm -rf /) `x`"),
            Entry(EntryKind.Site, "mail", url: "https://mail.example.org/"),
        ]);
        Assert.Contains("export EDITOR='vim'\n", text, StringComparison.Ordinal);
        Assert.Contains("export PS1='it'\\''s $(rm -rf /) `x`'\n", text, StringComparison.Ordinal);
        Assert.DoesNotContain("mail", text, StringComparison.Ordinal);
    }

    [Fact]
    public void BookmarksFile_SitesAtStartPageAndBookmarks_HtmlEscaped_NoPasswords()
    {
        string html = EnvApply.BookmarksFile("home", [
            Entry(EntryKind.Site, "Mail <work>", url: "https://mail.example.org/", start: "inbox?a=1&b=2"),
            Entry(EntryKind.Bookmark, "News", url: "https://news.example.org/"),
            Entry(EntryKind.Note, "secret note", value: "x"),
        ]);
        Assert.StartsWith("<!DOCTYPE NETSCAPE-Bookmark-file-1>", html, StringComparison.Ordinal);
        Assert.Contains("<A HREF=\"https://mail.example.org/inbox?a=1&amp;b=2\">Mail &lt;work&gt;</A>", html, StringComparison.Ordinal);
        Assert.Contains("<A HREF=\"https://news.example.org/\">News</A>", html, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", html, StringComparison.Ordinal);
        Assert.DoesNotContain("secret note", html, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("javascript:alert(1)")]
    [InlineData("not a url")]
    public void Validate_RefusesUrlsThatAreNotWebOrFile(string url) =>
        Assert.NotNull(Entry(EntryKind.Bookmark, "x", url: url).Validate());
}
