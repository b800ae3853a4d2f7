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
    /// <summary>The principal of the request's bearer token, or null.</summary>
    public static Task<AccountPrincipal?> AuthenticateAsync(HttpContext context, string? requiredScope)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.RequestServices.GetRequiredService<AccountService>().AuthenticateAsync(Bearer(context), requiredScope, context.RequestAborted);
    }

    /// <summary>The bearer token of the request, or null.</summary>
    public static string? Bearer(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        string? header = context.Request.Headers.Authorization;
        return header is not null && header.StartsWith("Bearer ", StringComparison.Ordinal) ? header["Bearer ".Length..].Trim() : null;
    }
}
