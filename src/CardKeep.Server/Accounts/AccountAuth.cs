using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace CardKeep.Server.Accounts;

/// <summary>
/// Account authentication for any slice: <c>Authorization: Bearer ckb_…</c> → the principal (user, card, scope), or null
/// when the token is missing, unknown, expired or revoked, its card is no longer active, or its scope is not
/// <c>requiredScope</c> (null: any scope). Issue 8's records use scope <see cref="AccountScopes.Card"/>.
/// </summary>
public static class AccountAuth
{
    private static readonly object PrincipalKey = new();

    /// <summary>
    /// The principal of the request's bearer token, or null. Looked up once per request (the relocation middleware and
    /// the endpoint both ask); the scope is checked on every call.
    /// </summary>
    public static async Task<AccountPrincipal?> AuthenticateAsync(HttpContext context, string? requiredScope)
    {
        ArgumentNullException.ThrowIfNull(context);
        AccountPrincipal? principal;
        if (context.Items.TryGetValue(PrincipalKey, out object? cached))
        {
            principal = (AccountPrincipal?)cached;
        }
        else
        {
            principal = await context.RequestServices.GetRequiredService<AccountService>().AuthenticateAsync(Bearer(context), null, context.RequestAborted).ConfigureAwait(false);
            context.Items[PrincipalKey] = principal;
        }

        return principal is not null && (requiredScope is null || principal.Scope == requiredScope) ? principal : null;
    }

    /// <summary>The bearer token of the request, or null.</summary>
    public static string? Bearer(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        string? header = context.Request.Headers.Authorization;
        return header is not null && header.StartsWith("Bearer ", StringComparison.Ordinal) ? header["Bearer ".Length..].Trim() : null;
    }
}
