using System.Security.Cryptography;
using System.Text;
using CardKeep.Protocol.Records;
using CardKeep.Server.Accounts;
using CardKeep.Server.Hosting;
using CardKeep.Server.Records;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace CardKeep.Server.Portal;

/// <summary>
/// The card holder's portal under /portal: server-rendered pages over <see cref="AccountService"/> (no script). Sign in
/// with the recovery password (a recovery-scoped bearer session kept in an HttpOnly, SameSite=Strict cookie), see cards
/// and their states, report a card lost, get a new access key for a machine, see how to finish a replacement, read the
/// hash-chained audit log. Every form carries a token bound to the session (CSRF); every page is no-store with a strict
/// Content-Security-Policy.
/// </summary>
internal static class PortalEndpoints
{
    public const string CookieName = "ck_portal";

    public static void Map(WebApplication app)
    {
        var portal = app.MapGroup("/portal").WithTags("Portal").ExcludeFromDescription().RequireRateLimiting(ServerHost.SessionPolicy);
        portal.AddEndpointFilter(async (context, next) =>
        {
            var headers = context.HttpContext.Response.Headers;
            headers.CacheControl = "no-store";
            headers.ContentSecurityPolicy = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
            headers.XContentTypeOptions = "nosniff";
            headers["Referrer-Policy"] = "no-referrer";
            var request = context.HttpContext.Request;
            if (!HttpMethods.IsGet(request.Method) && request.Headers["Sec-Fetch-Site"].ToString() is { Length: > 0 } site && site is not ("same-origin" or "none"))
            {
                // A form posted from another site (login CSRF, clickjacking helpers): browsers say so in Sec-Fetch-Site.
                return Page(PortalPages.Message("Refused", "This form did not come from the portal."), StatusCodes.Status403Forbidden);
            }

            return await next(context).ConfigureAwait(false);
        });

        portal.MapGet("/portal.css", () => Results.Text(PortalPages.Css, "text/css; charset=utf-8"));
        portal.MapGet("/", async (HttpContext http, AccountService service) =>
            await SignedInAsync(http, service).ConfigureAwait(false) is null ? Page(PortalPages.SignIn(null, null)) : Results.Redirect("/portal/account"));
        portal.MapPost("/sign-in", SignInAsync);
        portal.MapPost("/sign-out", (HttpContext http, AccountService service) => WithSessionAsync(http, service, async (p, _) =>
        {
            await service.LogoutAsync(p, http.RequestAborted).ConfigureAwait(false);
            http.Response.Cookies.Delete(CookieName, CookieOptions(http));
            return Page(PortalPages.SignIn(null, "You are signed out."));
        }));
        portal.MapGet("/account", (HttpContext http, AccountService service) => WithSessionAsync(http, service, (p, csrf) => AccountPageAsync(http, service, p, csrf, null)));
        portal.MapPost("/access-key", (HttpContext http, AccountService service) => WithSessionAsync(http, service, async (p, csrf) =>
        {
            string? machineId = (await http.Request.ReadFormAsync(http.RequestAborted).ConfigureAwait(false))["machineId"];
            try
            {
                var issued = await service.RotateKeyAsync(new RotateKeyRequest(null, machineId, null), p, Remote(http), http.RequestAborted).ConfigureAwait(false);
                return Page(PortalPages.AccessKey(issued.MachineId, issued.AccessKey, csrf));
            }
            catch (AccountException e)
            {
                return await AccountPageAsync(http, service, p, csrf, e.Message).ConfigureAwait(false);
            }
        }));
        portal.MapPost("/quota", (HttpContext http, AccountService service, RecordService records) => WithSessionAsync(http, service, async (p, csrf) =>
        {
            var form = await http.Request.ReadFormAsync(http.RequestAborted).ConfigureAwait(false);
            if (!long.TryParse(form["maxBytes"], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out long bytes)
                || !long.TryParse(form["maxEntries"], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out long entries))
            {
                return await AccountPageAsync(http, service, p, csrf, "The quota offer in this form is not a number: open the portal again.").ConfigureAwait(false);
            }

            // The server checks the offer again: within its maximum and not below the current quota.
            return await records.AcceptAsync(new RecordsCaller(p.Username, p.CardSerial ?? ""), new QuotaAcceptDto(bytes, entries), http.RequestAborted).ConfigureAwait(false) is { } quota
                ? await AccountPageAsync(http, service, p, csrf, null, $"Your quota is now {quota.MaxEntries} entries and {quota.MaxBytes} bytes.").ConfigureAwait(false)
                : await AccountPageAsync(http, service, p, csrf, "That quota is no longer on offer.").ConfigureAwait(false);
        }));
        portal.MapPost("/report-lost", (HttpContext http, AccountService service) => WithSessionAsync(http, service, async (p, csrf) =>
        {
            var form = await http.Request.ReadFormAsync(http.RequestAborted).ConfigureAwait(false);
            if (form["confirm"] != "yes")
            {
                return await AccountPageAsync(http, service, p, csrf, "Tick the box to confirm that the card is lost: a card reported lost cannot be used again.").ConfigureAwait(false);
            }

            try
            {
                await service.RevokeCardAsync(form["serial"].ToString(), p, http.RequestAborted).ConfigureAwait(false);
                return await AccountPageAsync(http, service, p, csrf, null, $"Card {form["serial"]} is revoked. Finish the replacement with your new card (below).").ConfigureAwait(false);
            }
            catch (AccountException e)
            {
                return await AccountPageAsync(http, service, p, csrf, e.Message).ConfigureAwait(false);
            }
        }));
    }

    private static async Task<IResult> SignInAsync(HttpContext http, AccountService service)
    {
        var form = await http.Request.ReadFormAsync(http.RequestAborted).ConfigureAwait(false);
        string? username = form["username"];
        string? answer = form["answer"];
        try
        {
            var session = await service.PasswordLoginAsync(
                new PasswordLoginRequest(username, form["password"], string.IsNullOrWhiteSpace(answer) ? null : answer), Remote(http), http.RequestAborted).ConfigureAwait(false);
            var options = CookieOptions(http);
            options.Expires = session.ExpiresAt;
            http.Response.Cookies.Append(CookieName, session.Token, options);
            return Results.Redirect("/portal/account", permanent: false, preserveMethod: false);
        }
        catch (AccountException e)
        {
            string message = e.RetryAfter is { } wait
                ? $"Sign-in failed. Too many attempts: try again in {Math.Max(1, (int)Math.Ceiling(wait.TotalMinutes))} minutes."
                : e.Status == StatusCodes.Status401Unauthorized ? "Sign-in failed: check the user name, the recovery password and the answer." : e.Message;
            if (e.RetryAfter is { } retry)
            {
                http.Response.Headers.RetryAfter = ((int)Math.Ceiling(retry.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
            }

            return Page(PortalPages.SignIn(username, message), e.Status);
        }
    }

    private static async Task<IResult> AccountPageAsync(HttpContext http, AccountService service, AccountPrincipal principal, string csrf, string? error, string? notice = null)
    {
        var me = await service.MeAsync(principal, http.RequestAborted).ConfigureAwait(false);
        var cards = await service.CardsAsync(principal.Username, http.RequestAborted).ConfigureAwait(false);
        var audit = await service.AuditAsync(principal.Username, http.RequestAborted).ConfigureAwait(false);
        var records = http.RequestServices.GetRequiredService<RecordService>();
        var environment = await records.SummaryAsync(principal.Username, http.RequestAborted).ConfigureAwait(false);
        var offer = records.OfferFor(environment.Quota);
        string server = $"{http.Request.Scheme}://{http.Request.Host}";
        return Page(PortalPages.Account(me, cards, audit, environment, offer, csrf, server, error, notice), error is null ? StatusCodes.Status200OK : StatusCodes.Status400BadRequest);
    }

    /// <summary>Runs <paramref name="action"/> for a signed-in user; a POST must carry the session's form token.</summary>
    private static async Task<IResult> WithSessionAsync(HttpContext http, AccountService service, Func<AccountPrincipal, string, Task<IResult>> action)
    {
        var principal = await SignedInAsync(http, service).ConfigureAwait(false);
        if (principal is null)
        {
            http.Response.Cookies.Delete(CookieName, CookieOptions(http));
            return HttpMethods.IsGet(http.Request.Method)
                ? Results.Redirect("/portal/")
                : Page(PortalPages.SignIn(null, "Your session has ended: sign in again."), StatusCodes.Status401Unauthorized);
        }

        string csrf = FormToken(principal);
        if (!HttpMethods.IsGet(http.Request.Method))
        {
            var form = await http.Request.ReadFormAsync(http.RequestAborted).ConfigureAwait(false);
            if (!FixedEquals(form["csrf"], csrf))
            {
                return Page(PortalPages.Message("Refused", "This form did not come from your portal page. Open the portal again and retry."), StatusCodes.Status403Forbidden);
            }
        }

        return await action(principal, csrf).ConfigureAwait(false);
    }

    private static Task<AccountPrincipal?> SignedInAsync(HttpContext http, AccountService service) =>
        http.Request.Cookies.TryGetValue(CookieName, out string? token) ? service.AuthenticateAsync(token, null, http.RequestAborted) : Task.FromResult<AccountPrincipal?>(null);

    /// <summary>The form token: a hash of the session's token hash, so it is per session and useless without the cookie.</summary>
    private static string FormToken(AccountPrincipal principal) =>
        Convert.ToBase64String(SHA256.HashData([.. Encoding.ASCII.GetBytes("CardKeep portal form v1"), .. principal.TokenHash]));

    private static bool FixedEquals(string? presented, string expected) =>
        presented is not null && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(presented), Encoding.ASCII.GetBytes(expected));

    private static CookieOptions CookieOptions(HttpContext http) => new()
    {
        HttpOnly = true,
        SameSite = SameSiteMode.Strict,
        Secure = http.Request.IsHttps,
        Path = "/portal",
        IsEssential = true,
    };

    private static string? Remote(HttpContext http) => http.Connection.RemoteIpAddress?.ToString();

    private static IResult Page(string html, int status = StatusCodes.Status200OK) => Results.Content(html, "text/html; charset=utf-8", Encoding.UTF8, status);
}
