using CardKeep.Ui.Security;

namespace CardKeep.Interop.Tests.Ui;

/// <summary>The UI's request guard on its own: launch secret, session cookie, host, origin and referer.</summary>
public sealed class LaunchGuardTests
{
    private const string Host = "127.0.0.1:4321";

    private static (LaunchGuard Guard, string Cookie) Opened()
    {
        var guard = new LaunchGuard(4321);
        Assert.Equal(GuardVerdict.SetCookieAndRedirect, guard.Check(Host, null, null, guard.Secret, null));
        return (guard, guard.SessionToken);
    }

    [Fact]
    public void Check_SecretTwice_SecondTimeForbidden()
    {
        var guard = new LaunchGuard(4321);
        Assert.Equal(GuardVerdict.SetCookieAndRedirect, guard.Check(Host, null, null, guard.Secret, null));
        Assert.Equal(GuardVerdict.Forbid, guard.Check(Host, null, null, guard.Secret, null));
    }

    [Fact]
    public void Check_SecretAgainWithSession_RedirectsWithoutNewCookie()
    {
        var (guard, cookie) = Opened();
        Assert.Equal(GuardVerdict.Redirect, guard.Check(Host, null, null, guard.Secret, cookie));
    }

    [Theory]
    [InlineData("")]
    [InlineData("not base64url!")]
    [InlineData("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    public void Check_WrongSecret_ForbiddenAndSecretStillValid(string secret)
    {
        var guard = new LaunchGuard(4321);
        Assert.Equal(GuardVerdict.Forbid, guard.Check(Host, null, null, secret, null));
        Assert.Equal(GuardVerdict.SetCookieAndRedirect, guard.Check(Host, null, null, guard.Secret, null));
    }

    [Theory]
    [InlineData(null, GuardVerdict.Forbid)]
    [InlineData("", GuardVerdict.Forbid)]
    [InlineData("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", GuardVerdict.Forbid)]
    public void Check_NoOrWrongCookie_Forbidden(string? cookie, GuardVerdict expected)
    {
        var (guard, _) = Opened();
        Assert.Equal(expected, guard.Check(Host, null, null, null, cookie));
    }

    [Theory]
    [InlineData("localhost:4321")]
    [InlineData("127.0.0.1")]
    [InlineData("127.0.0.1:4322")]
    [InlineData("evil.example:4321")]
    [InlineData(null)]
    public void Check_OtherHost_ForbiddenEvenWithSession(string? host)
    {
        var (guard, cookie) = Opened();
        Assert.Equal(GuardVerdict.Forbid, guard.Check(host, null, null, null, cookie));
    }

    [Theory]
    [InlineData("http://evil.example", null)]
    [InlineData("null", null)]
    [InlineData("http://127.0.0.1:4322", null)]
    [InlineData("https://127.0.0.1:4321", null)]
    [InlineData(null, "http://evil.example/page")]
    [InlineData(null, "http://127.0.0.1:4322/")]
    [InlineData(null, "not a url")]
    public void Check_OtherOriginOrReferer_ForbiddenEvenWithSession(string? origin, string? referer)
    {
        var (guard, cookie) = Opened();
        Assert.Equal(GuardVerdict.Forbid, guard.Check(Host, origin, referer, null, cookie));
    }

    [Fact]
    public void Check_OwnOriginAndReferer_Allowed()
    {
        var (guard, cookie) = Opened();
        Assert.Equal(GuardVerdict.Allow, guard.Check(Host, "http://127.0.0.1:4321", "http://127.0.0.1:4321/card?c=vsc%3Ax", null, cookie));
    }

    [Fact]
    public void LaunchUrl_Always_Carries256BitBase64UrlSecretOnLoopback()
    {
        var guard = new LaunchGuard(4321);
        Assert.StartsWith("http://127.0.0.1:4321/?k=", guard.LaunchUrl, StringComparison.Ordinal);
        Assert.Equal(32, Microsoft.AspNetCore.WebUtilities.WebEncoders.Base64UrlDecode(guard.Secret).Length);
        Assert.NotEqual(guard.Secret, new LaunchGuard(4321).Secret);
    }
}
