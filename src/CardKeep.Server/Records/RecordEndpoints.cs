using CardKeep.Protocol.Records;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace CardKeep.Server.Records;

/// <summary>Resolves the caller of <c>/v1/records</c> from the request (the card-scope bearer of issue 7).</summary>
public interface IRecordsAuthenticator
{
    /// <summary>The caller, or null (answered 401).</summary>
    Task<RecordsCaller?> AuthenticateAsync(HttpContext context);
}

/// <summary><c>/v1/records</c>: the encrypted personal environment (docs/environment.md).</summary>
internal static class RecordEndpoints
{
    private const string CallerKey = "cardkeep.records.caller";

    public static void Map(WebApplication app)
    {
        // The portal signs in with the password (scope "recovery") and sees metadata only; every other call needs a card.
        app.MapGet("/v1/records-summary", async (HttpContext http, RecordService service, CancellationToken ct) =>
            await Accounts.AccountAuth.AuthenticateAsync(http, null).ConfigureAwait(false) is { } principal
                ? Results.Ok(await service.SummaryAsync(principal.Username, ct).ConfigureAwait(false))
                : Results.Problem(statusCode: StatusCodes.Status401Unauthorized, title: "sign-in required"))
            .WithTags("Records").WithSummary("Metadata only (entries, sizes, sets, quota, conflicts, cards) for the portal; any account sign-in");
        var group = app.MapGroup("/v1/records").WithTags("Records");
        group.AddEndpointFilter(async (context, next) =>
        {
            var http = context.HttpContext;
            var caller = await http.RequestServices.GetRequiredService<IRecordsAuthenticator>().AuthenticateAsync(http).ConfigureAwait(false);
            if (caller is null)
            {
                return Results.Problem(statusCode: StatusCodes.Status401Unauthorized, title: "sign-in with a card required");
            }

            http.Items[CallerKey] = caller;
            return await next(context).ConfigureAwait(false);
        });

        group.MapGet("/", (HttpContext http, RecordService service, CancellationToken ct) => service.ListAsync(Caller(http), ct))
            .WithSummary("Every record and kept conflict (ciphertext and wrapped keys)");
        group.MapPut("/{id}", async (string id, RecordPutDto put, HttpContext http, RecordService service, CancellationToken ct) =>
        {
            if (RecordService.Validate(id, put) is { } bad)
            {
                return Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: bad);
            }

            var result = await service.PutAsync(Caller(http), id, put, ct).ConfigureAwait(false);
            return Answer(result);
        }).WithSummary("Create (baseRevision 0) or update a record; a stale base keeps both versions (409 conflict); a full quota answers 409 quota-full with an offer");
        group.MapDelete("/{id}", async (string id, long baseRevision, HttpContext http, RecordService service, CancellationToken ct) =>
            RecordLimits.IsRecordId(id) ? Answer(await service.DeleteAsync(Caller(http), id, baseRevision, ct).ConfigureAwait(false))
                : Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "record id must be 32 lower-case hex digits"))
            .WithSummary("Delete a record at its current revision (a stale revision deletes nothing: 409)");
        group.MapPost("/{id}/used", async (string id, long usedAt, HttpContext http, RecordService service, CancellationToken ct) =>
            await service.TouchAsync(Caller(http), id, usedAt, ct).ConfigureAwait(false) ? Results.NoContent() : Results.NotFound())
            .WithSummary("Raise a record's last-use time");
        group.MapDelete("/conflicts/{conflictId}", async (string conflictId, HttpContext http, RecordService service, CancellationToken ct) =>
            await service.DeleteConflictAsync(Caller(http), conflictId, ct).ConfigureAwait(false) ? Results.NoContent() : Results.NotFound())
            .WithSummary("Drop a kept conflicting version (the user chose)");
        group.MapGet("/quota", (HttpContext http, RecordService service, CancellationToken ct) => service.QuotaAsync(Caller(http).Username, ct))
            .WithSummary("Quota and usage");
        group.MapGet("/quota/offer", async (HttpContext http, RecordService service, CancellationToken ct) =>
            service.OfferFor(await service.QuotaAsync(Caller(http).Username, ct).ConfigureAwait(false)) is { } offer ? Results.Ok(offer) : Results.NotFound())
            .WithSummary("The larger quota on offer (404 when the server maximum is reached)");
        group.MapPost("/quota/accept", async (QuotaAcceptDto accept, HttpContext http, RecordService service, CancellationToken ct) =>
            await service.AcceptAsync(Caller(http), accept, ct).ConfigureAwait(false) is { } quota ? Results.Ok(quota)
                : Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "that quota is not on offer (above the server maximum or below the current quota)"))
            .WithSummary("Accept an offered quota");
        group.MapPost("/quota/decline", async (QuotaDeclineDto decline, HttpContext http, RecordService service, CancellationToken ct) =>
            await service.DeclineAsync(Caller(http), decline, ct).ConfigureAwait(false) is { } result ? Results.Ok(result)
                : Results.Problem(statusCode: StatusCodes.Status409Conflict, title: "the least recently used records changed; ask again and confirm the new list"))
            .WithSummary("Decline an offer: name the least recently used records to remove; with confirm and those ids, remove them");
        group.MapGet("/keys", (HttpContext http, RecordService service, CancellationToken ct) => service.KeysAsync(Caller(http), ct))
            .WithSummary("The record master key wrapped to the caller's card and under the recovery code");
        group.MapPut("/keys", async (KeysInitDto init, HttpContext http, RecordService service, CancellationToken ct) =>
            !ValidWraps(init.CardWrap, init.RecoveryWrap) ? Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "wraps must have 1 to 1024 bytes")
            : await service.InitKeysAsync(Caller(http), init, ct).ConfigureAwait(false) ? Results.NoContent()
            : Results.Problem(statusCode: StatusCodes.Status409Conflict, title: "record keys exist already; a new card re-keys with the recovery code"))
            .WithSummary("First set-up of the record keys");
        group.MapPost("/rekey", async (RekeyDto rekey, HttpContext http, RecordService service, CancellationToken ct) =>
            !ValidWraps(rekey.CardWrap, rekey.RecoveryWrap) || rekey.Rewraps is null || rekey.Rewraps.Any(w => w.WrappedDek is not { Length: > 0 and <= RecordLimits.MaxWrapBytes })
                ? Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "wraps must have 1 to 1024 bytes")
            : await service.RekeyAsync(Caller(http), rekey, ct).ConfigureAwait(false) ? Results.NoContent()
            : Results.Problem(statusCode: StatusCodes.Status409Conflict, title: "the records changed meanwhile (every record and conflict must be re-wrapped at its current revision); nothing changed, try again"))
            .WithSummary("Card replacement: a new record master key for the caller's card and every data key re-wrapped, in one transaction");
    }

    private static bool ValidWraps(byte[]? cardWrap, byte[]? recoveryWrap) =>
        cardWrap is { Length: > 0 and <= RecordLimits.MaxWrapBytes } && recoveryWrap is { Length: > 0 and <= RecordLimits.MaxWrapBytes };

    private static RecordsCaller Caller(HttpContext http) => (RecordsCaller)http.Items[CallerKey]!;

    private static IResult Answer(WriteResultDto result) =>
        result.Outcome is "conflict" or "quota-full" ? Results.Json(result, statusCode: StatusCodes.Status409Conflict) : Results.Ok(result);
}
