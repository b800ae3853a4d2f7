using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;

namespace CardKeep.Ui.Security;

/// <summary>What <see cref="LaunchGuard.Check"/> decided for one request.</summary>
public enum GuardVerdict
{
    /// <summary>Serve it: the session cookie is there and the request comes from the UI itself.</summary>
    Allow,

    /// <summary>The launch secret was right: set the session cookie and redirect to the URL without it.</summary>
    SetCookieAndRedirect,

    /// <summary>The browser already has the session: just drop the secret from the URL.</summary>
    Redirect,

    /// <summary>Refuse with 403: no session, a wrong or spent secret, another origin, or another host name.</summary>
    Forbid,
}

/// <summary>
/// Who may drive the UI. A per-launch secret (256 random bits, base64url) is printed in the URL; the first request that
/// carries it gets a session cookie (HttpOnly, SameSite=Strict, Path=/, another 256 random bits) and the secret is spent.
/// Every later request needs that cookie. Requests whose Host is not <c>127.0.0.1:PORT</c> (DNS rebinding) or whose
/// Origin or Referer is another origin (a page of another site) are refused, with or without the cookie.
/// </summary>
public sealed class LaunchGuard
{
    public const string CookieName = "cardkeep-ui";
    public const string SecretParameter = "k";
    private readonly byte[] _secret;
    private readonly byte[] _session;
    private int _secretSpent;

    public LaunchGuard(int port)
    {
        Port = port;
        _secret = RandomNumberGenerator.GetBytes(32);
        _session = RandomNumberGenerator.GetBytes(32);
        Secret = WebEncoders.Base64UrlEncode(_secret);
        SessionToken = WebEncoders.Base64UrlEncode(_session);
    }

    public int Port { get; }

    /// <summary>The one origin the UI answers: <c>http://127.0.0.1:PORT</c>.</summary>
    public string Origin => string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{Port}");

    /// <summary>The URL to open: the UI's origin with the launch secret.</summary>
    public string LaunchUrl => $"{Origin}/?{SecretParameter}={Secret}";

    internal string Secret { get; }

    internal string SessionToken { get; }

    /// <summary>Decides about one request from its host, Origin and Referer headers, query secret and cookie.</summary>
    public GuardVerdict Check(string? host, string? origin, string? referer, string? secret, string? cookie)
    {
        if (!string.Equals(host, string.Create(CultureInfo.InvariantCulture, $"127.0.0.1:{Port}"), StringComparison.Ordinal))
        {
            return GuardVerdict.Forbid;
        }

        if (origin is not null && !string.Equals(origin, Origin, StringComparison.Ordinal))
        {
            return GuardVerdict.Forbid;
        }

        if (referer is not null && !IsOwnUrl(referer))
        {
            return GuardVerdict.Forbid;
        }

        bool session = cookie is not null && Matches(cookie, _session);
        if (secret is not null)
        {
            // Single use: a secret read from a process list or a browser history after that is worth nothing.
            if (Matches(secret, _secret) && Interlocked.Exchange(ref _secretSpent, 1) == 0)
            {
                return GuardVerdict.SetCookieAndRedirect;
            }

            return session ? GuardVerdict.Redirect : GuardVerdict.Forbid;
        }

        return session ? GuardVerdict.Allow : GuardVerdict.Forbid;
    }

    /// <summary>The middleware: runs <see cref="Check"/> before anything else answers.</summary>
    public async Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(next);
        var request = context.Request;
        string? secret = request.Query.TryGetValue(SecretParameter, out var k) ? k.ToString() : null;
        var verdict = Check(Single(request.Headers.Host), Single(request.Headers.Origin), Single(request.Headers.Referer), secret, request.Cookies[CookieName]);
        switch (verdict)
        {
            case GuardVerdict.Allow:
                await next(context).ConfigureAwait(false);
                return;
            case GuardVerdict.SetCookieAndRedirect:
                context.Response.Cookies.Append(CookieName, SessionToken, new CookieOptions
                {
                    HttpOnly = true,
                    SameSite = SameSiteMode.Strict,
                    Path = "/",
                    IsEssential = true,
                });
                context.Response.Headers.CacheControl = "no-store";
                context.Response.Redirect(WithoutSecret(request));
                return;
            case GuardVerdict.Redirect:
                context.Response.Redirect(WithoutSecret(request));
                return;
            default:
                context.Response.StatusCode = StatusCodes.Status403Forbidden;
                context.Response.ContentType = "text/plain; charset=utf-8";
                await context.Response.WriteAsync(
                    "403: this CardKeep UI answers only the browser that opened the link 'cardkeep ui' printed (the link works once).\n",
                    context.RequestAborted).ConfigureAwait(false);
                return;
        }
    }

    /// <summary>The request's path and query without the launch secret (other parameters stay).</summary>
    internal static string WithoutSecret(HttpRequest request)
    {
        var rest = request.Query.Where(p => p.Key != SecretParameter).ToList();
        var path = new StringBuilder(request.PathBase.Add(request.Path).Value is { Length: > 0 } p ? p : "/");
        for (int i = 0; i < rest.Count; i++)
        {
            foreach (string? value in rest[i].Value)
            {
                path.Append(path.ToString().Contains('?', StringComparison.Ordinal) ? '&' : '?')
                    .Append(Uri.EscapeDataString(rest[i].Key)).Append('=').Append(Uri.EscapeDataString(value ?? string.Empty));
            }
        }

        return path.ToString();
    }

    private bool IsOwnUrl(string referer) =>
        Uri.TryCreate(referer, UriKind.Absolute, out var uri)
        && string.Equals(uri.GetLeftPart(UriPartial.Authority), Origin, StringComparison.Ordinal);

    private static string? Single(Microsoft.Extensions.Primitives.StringValues values) => values.Count == 0 ? null : values.Count == 1 ? values[0] : string.Join(",", values.ToArray());

    private static bool Matches(string given, byte[] expected)
    {
        byte[] bytes;
        try
        {
            bytes = WebEncoders.Base64UrlDecode(given);
        }
        catch (FormatException)
        {
            return false;
        }

        return bytes.Length == expected.Length && CryptographicOperations.FixedTimeEquals(bytes, expected);
    }
}
