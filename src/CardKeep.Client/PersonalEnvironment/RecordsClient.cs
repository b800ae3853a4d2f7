using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using CardKeep.Protocol.Records;

namespace CardKeep.Client.PersonalEnvironment;

/// <summary>The server refused a records call (not a conflict or a full quota, which are answers).</summary>
public sealed class RecordsServerException : Exception
{
    /// <summary>Creates the exception.</summary>
    public RecordsServerException()
    {
    }

    /// <summary>Creates the exception.</summary>
    public RecordsServerException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    public RecordsServerException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>HTTP status (0 when the server was not reached).</summary>
    public int Status { get; init; }
}

/// <summary><c>/v1/records</c> over HTTP with a card-scope bearer token (issue 7 card sign-in).</summary>
public sealed class RecordsClient : IDisposable
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly HttpClient _http;
    private readonly bool _ownsHttp;

    /// <summary>Creates a client for <paramref name="server"/> using <paramref name="bearerToken"/>.</summary>
    public RecordsClient(Uri server, string bearerToken, HttpClient? http = null)
    {
        ArgumentNullException.ThrowIfNull(server);
        _ownsHttp = http is null;
        _http = http ?? new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
        Base = new Uri(server, "/v1/records/");
        Token = bearerToken;
    }

    /// <summary>Base URL of the records API.</summary>
    public Uri Base { get; }

    private string Token { get; }

    /// <summary>Every record and conflict.</summary>
    public Task<RecordListDto> ListAsync(CancellationToken cancellationToken = default) => SendAsync<RecordListDto>(HttpMethod.Get, string.Empty, null, cancellationToken);

    /// <summary>Uploads; conflict and quota-full come back as results (HTTP 409 with the same body).</summary>
    public Task<WriteResultDto> PutAsync(string id, RecordPutDto put, CancellationToken cancellationToken = default) =>
        SendAsync<WriteResultDto>(HttpMethod.Put, id, put, cancellationToken, acceptConflict: true);

    /// <summary>Deletes at a base revision.</summary>
    public Task<WriteResultDto> DeleteAsync(string id, long baseRevision, CancellationToken cancellationToken = default) =>
        SendAsync<WriteResultDto>(HttpMethod.Delete, $"{id}?baseRevision={baseRevision}", null, cancellationToken, acceptConflict: true);

    /// <summary>Raises a record's last-use time.</summary>
    public Task TouchAsync(string id, long usedAt, CancellationToken cancellationToken = default) =>
        SendAsync<object>(HttpMethod.Post, $"{id}/used?usedAt={usedAt}", null, cancellationToken, acceptNotFound: true);

    /// <summary>Drops a kept conflict.</summary>
    public Task DeleteConflictAsync(string conflictId, CancellationToken cancellationToken = default) =>
        SendAsync<object>(HttpMethod.Delete, $"conflicts/{conflictId}", null, cancellationToken, acceptNotFound: true);

    /// <summary>Quota and usage.</summary>
    public Task<QuotaDto> QuotaAsync(CancellationToken cancellationToken = default) => SendAsync<QuotaDto>(HttpMethod.Get, "quota", null, cancellationToken);

    /// <summary>The quota on offer, or null when the server maximum is reached.</summary>
    public Task<QuotaDto?> OfferAsync(CancellationToken cancellationToken = default) => SendAsync<QuotaDto?>(HttpMethod.Get, "quota/offer", null, cancellationToken, acceptNotFound: true);

    /// <summary>Accepts an offer.</summary>
    public Task<QuotaDto> AcceptQuotaAsync(QuotaAcceptDto accept, CancellationToken cancellationToken = default) =>
        SendAsync<QuotaDto>(HttpMethod.Post, "quota/accept", accept, cancellationToken);

    /// <summary>Declines an offer (names, or with confirm removes, the least recently used records).</summary>
    public Task<QuotaDeclineResultDto> DeclineQuotaAsync(QuotaDeclineDto decline, CancellationToken cancellationToken = default) =>
        SendAsync<QuotaDeclineResultDto>(HttpMethod.Post, "quota/decline", decline, cancellationToken);

    /// <summary>The caller's record key wraps.</summary>
    public Task<KeysDto> KeysAsync(CancellationToken cancellationToken = default) => SendAsync<KeysDto>(HttpMethod.Get, "keys", null, cancellationToken);

    /// <summary>First set-up of the record keys.</summary>
    public Task InitKeysAsync(KeysInitDto init, CancellationToken cancellationToken = default) => SendAsync<object>(HttpMethod.Put, "keys", init, cancellationToken);

    /// <summary>Card replacement re-key.</summary>
    public Task RekeyAsync(RekeyDto rekey, CancellationToken cancellationToken = default) => SendAsync<object>(HttpMethod.Post, "rekey", rekey, cancellationToken);

    /// <summary>Metadata summary.</summary>
    public Task<RecordSummaryDto> SummaryAsync(CancellationToken cancellationToken = default) => SendAsync<RecordSummaryDto>(HttpMethod.Get, "../records-summary", null, cancellationToken);

    private async Task<T> SendAsync<T>(HttpMethod method, string path, object? body, CancellationToken cancellationToken, bool acceptConflict = false, bool acceptNotFound = false)
    {
        using var request = new HttpRequestMessage(method, new Uri(Base, path));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        if (body is not null)
        {
            request.Content = JsonContent.Create(body, body.GetType(), options: Json);
        }

        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            throw new RecordsServerException($"the server at {Base.GetLeftPart(UriPartial.Authority)} does not answer: {e.Message}", e);
        }

        using (response)
        {
            if (response.IsSuccessStatusCode || (acceptConflict && response.StatusCode == HttpStatusCode.Conflict))
            {
                if (response.StatusCode == HttpStatusCode.NoContent || typeof(T) == typeof(object))
                {
                    return default!;
                }

                return await response.Content.ReadFromJsonAsync<T>(Json, cancellationToken).ConfigureAwait(false)
                    ?? throw new RecordsServerException("the server sent an empty answer") { Status = (int)response.StatusCode };
            }

            if (acceptNotFound && response.StatusCode == HttpStatusCode.NotFound)
            {
                return default!;
            }

            string title = response.ReasonPhrase ?? "error";
            try
            {
                using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false));
                if (problem.RootElement.TryGetProperty("title", out var t) && t.GetString() is { } text)
                {
                    title = text;
                }
            }
            catch (JsonException)
            {
                // Not a problem document: the reason phrase will do.
            }

            throw new RecordsServerException($"the server refused {method} {path.Split('?')[0]}: {(int)response.StatusCode} {title}") { Status = (int)response.StatusCode };
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_ownsHttp)
        {
            _http.Dispose();
        }
    }
}
