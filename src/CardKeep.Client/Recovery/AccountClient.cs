using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace CardKeep.Client.Recovery;

/// <summary>
/// Typed calls of the server's account API (docs/recovery.md): registration, card and password sign-in, recovery,
/// access keys, machines, card replacement, cards, audit and the escrow blob. Every failure is an
/// <see cref="AccountException"/> whose message comes from the server's problem title (which never holds a secret) or
/// the client's own words; requests carry secrets only in their bodies, and nothing here logs.
/// </summary>
public sealed class AccountClient : IDisposable
{
    private static readonly JsonSerializerOptions _json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    private readonly HttpClient _http;
    private readonly bool _ownsHttp;

    /// <summary>A client for the server at <paramref name="server"/> (its base URL).</summary>
    public AccountClient(Uri server, HttpClient? http = null)
    {
        ArgumentNullException.ThrowIfNull(server);
        Server = server;
        _ownsHttp = http is null;
        _http = http ?? new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
    }

    /// <summary>The server's base URL.</summary>
    public Uri Server { get; }

    /// <summary>A fresh single-use nonce for a card proof.</summary>
    public async Task<byte[]> ChallengeAsync(string username, string cardSerial, string purpose, CancellationToken cancellationToken = default)
    {
        var answer = await SendAsync<ChallengeResponse>(HttpMethod.Post, "v1/account/challenge", null, new { username, cardSerial, purpose }, cancellationToken).ConfigureAwait(false);
        return answer.Nonce;
    }

    /// <summary>Creates the account, binds the card and the machine; the answer holds the machine's first access key.</summary>
    public Task<RegisterResponse> RegisterAsync(RegisterRequest request, CancellationToken cancellationToken = default) =>
        SendAsync<RegisterResponse>(HttpMethod.Post, "v1/account/register", null, request, cancellationToken);

    /// <summary>Card sign-in with a proof of purpose <c>login</c>: a bearer session of scope "card".</summary>
    public Task<SignIn> LoginCardAsync(string username, string cardSerial, byte[] nonce, byte[] signature, CancellationToken cancellationToken = default) =>
        SendAsync<SignIn>(HttpMethod.Post, "v1/account/login/card", null, new { username, cardSerial, nonce, signature }, cancellationToken);

    /// <summary>Password (+ answer) sign-in: a bearer session of scope "recovery".</summary>
    public Task<SignIn> LoginPasswordAsync(string username, string password, string? answer, CancellationToken cancellationToken = default) =>
        SendAsync<SignIn>(HttpMethod.Post, "v1/account/login/password", null, new { username, password, answer }, cancellationToken);

    /// <summary>Lost card, from another computer: password (+ answer) → the access key issued for <paramref name="machineId"/>.</summary>
    public Task<RecoverResponse> RecoverAsync(string username, string password, string? answer, string machineId, CancellationToken cancellationToken = default) =>
        SendAsync<RecoverResponse>(HttpMethod.Post, "v1/account/recover", null, new { username, password, answer, machineId }, cancellationToken);

    /// <summary>Checks an access key for a machine (the machine secret authenticates the machine).</summary>
    public Task<VerifyResponse> VerifyAccessKeyAsync(string username, string machineId, byte[] machineSecret, string accessKey, CancellationToken cancellationToken = default) =>
        SendAsync<VerifyResponse>(HttpMethod.Post, "v1/account/access-key/verify", null, new { username, machineId, machineSecret, accessKey }, cancellationToken);

    /// <summary>A new access key for the machine, authenticated by the machine secret (the old key is cancelled).</summary>
    public Task<MachineKey> RotateAccessKeyAsync(string username, string machineId, byte[] machineSecret, CancellationToken cancellationToken = default) =>
        SendAsync<MachineKey>(HttpMethod.Post, "v1/account/access-key/rotate", null, new { username, machineId, machineSecret }, cancellationToken);

    /// <summary>A new access key for the machine, authenticated by a bearer session.</summary>
    public Task<MachineKey> RotateAccessKeyAsync(string token, string machineId, CancellationToken cancellationToken = default) =>
        SendAsync<MachineKey>(HttpMethod.Post, "v1/account/access-key/rotate", token, new { machineId }, cancellationToken);

    /// <summary>Adds (or re-keys) a machine of the signed-in user: a new access key for it.</summary>
    public Task<MachineKey> AddMachineAsync(string token, string machineId, string machineSerial, byte[] machineSecret, CancellationToken cancellationToken = default) =>
        SendAsync<MachineKey>(HttpMethod.Post, "v1/account/machines", token, new { machineId, machineSerial, machineSecret }, cancellationToken);

    /// <summary>Replaces the user's card (or adds a temporary one) in one server transaction.</summary>
    public Task<ReplaceResponse> ReplaceCardAsync(string token, ReplaceRequest request, CancellationToken cancellationToken = default) =>
        SendAsync<ReplaceResponse>(HttpMethod.Post, "v1/account/replace-card", token, request, cancellationToken);

    /// <summary>Reports a card lost: revoked at once (sessions, TRK1 tokens, serial blocked), before any replacement.</summary>
    public Task<AccountCardInfo> RevokeCardAsync(string token, string serial, CancellationToken cancellationToken = default) =>
        SendAsync<AccountCardInfo>(HttpMethod.Post, $"v1/account/cards/{Uri.EscapeDataString(serial)}/revoke", token, null, cancellationToken);

    /// <summary>The signed-in user's profile and machines.</summary>
    public Task<JsonElement> MeAsync(string token, CancellationToken cancellationToken = default) =>
        SendAsync<JsonElement>(HttpMethod.Get, "v1/account/me", token, null, cancellationToken);

    /// <summary>The user's cards and their states.</summary>
    public Task<IReadOnlyList<AccountCardInfo>> CardsAsync(string token, CancellationToken cancellationToken = default) =>
        SendAsync<IReadOnlyList<AccountCardInfo>>(HttpMethod.Get, "v1/account/cards", token, null, cancellationToken);

    /// <summary>The user's hash-chained audit log and whether the server found the chain intact.</summary>
    public Task<AuditLog> AuditAsync(string token, CancellationToken cancellationToken = default) =>
        SendAsync<AuditLog>(HttpMethod.Get, "v1/account/audit", token, null, cancellationToken);

    /// <summary>Stores the (client-encrypted) escrow blob.</summary>
    public async Task<EscrowInfo> PutEscrowAsync(string token, byte[] blob, CancellationToken cancellationToken = default)
    {
        using var content = new ByteArrayContent(blob);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using var request = Request(HttpMethod.Put, "v1/account/escrow", token, content);
        using var response = await SendRawAsync(request, cancellationToken).ConfigureAwait(false);
        return await ReadAsync<EscrowInfo>(response, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The escrow blob, or null when the user has none.</summary>
    public async Task<byte[]?> GetEscrowAsync(string token, CancellationToken cancellationToken = default)
    {
        using var request = Request(HttpMethod.Get, "v1/account/escrow", token, null);
        using var response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }

        await ThrowIfFailedAsync(response, cancellationToken).ConfigureAwait(false);
        return await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Ends the bearer session.</summary>
    public async Task LogoutAsync(string token, CancellationToken cancellationToken = default)
    {
        using var request = Request(HttpMethod.Post, "v1/account/logout", token, null);
        using var response = await SendRawAsync(request, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_ownsHttp)
        {
            _http.Dispose();
        }
    }

    private async Task<T> SendAsync<T>(HttpMethod method, string path, string? token, object? body, CancellationToken cancellationToken)
    {
        using var content = body is null ? null : JsonContent.Create(body, body.GetType(), options: _json);
        using var request = Request(method, path, token, content);
        using var response = await SendRawAsync(request, cancellationToken).ConfigureAwait(false);
        return await ReadAsync<T>(response, cancellationToken).ConfigureAwait(false);
    }

    private HttpRequestMessage Request(HttpMethod method, string path, string? token, HttpContent? content)
    {
        var request = new HttpRequestMessage(method, new Uri(Server, path)) { Content = content };
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return request;
    }

    private async Task<HttpResponseMessage> SendRawAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        try
        {
            await ThrowIfFailedAsync(response, cancellationToken).ConfigureAwait(false);
            return response;
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }

    private static async Task<T> ReadAsync<T>(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            return await response.Content.ReadFromJsonAsync<T>(_json, cancellationToken).ConfigureAwait(false)
                ?? throw new AccountException(AccountFailure.Server, "the server sent an empty answer");
        }
        catch (JsonException e)
        {
            throw new AccountException(AccountFailure.Server, $"the server's answer to {response.RequestMessage?.RequestUri?.AbsolutePath} is not what this client understands", e);
        }
    }

    /// <summary>Turns an error status into an <see cref="AccountException"/> carrying the problem title (never a secret).</summary>
    private static async Task ThrowIfFailedAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if (response.IsSuccessStatusCode)
        {
            return;
        }

        string? title = null;
        try
        {
            var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            using var problem = JsonDocument.Parse(text);
            if (problem.RootElement.ValueKind == JsonValueKind.Object && problem.RootElement.TryGetProperty("title", out var t) && t.ValueKind == JsonValueKind.String)
            {
                title = t.GetString();
            }
        }
        catch (JsonException)
        {
            // Not a problem document: the status alone explains it.
        }

        int status = (int)response.StatusCode;
        TimeSpan? retryAfter = response.Headers.RetryAfter?.Delta
            ?? (response.Headers.RetryAfter?.Date is { } date ? date - DateTimeOffset.UtcNow : null);
        string what = title ?? response.ReasonPhrase ?? "error";
        if (retryAfter is { } wait && status is 401 or 403 or 429)
        {
            throw new AccountException(AccountFailure.Locked,
                string.Create(CultureInfo.InvariantCulture, $"{what}: too many failed attempts; locked, try again in {Math.Ceiling(wait.TotalMinutes)} min"))
            {
                LockedUntil = DateTimeOffset.UtcNow + wait,
            };
        }

        var failure = status switch
        {
            401 or 403 => AccountFailure.Refused,
            429 => AccountFailure.Locked,
            400 or 404 or 409 or 413 or 422 => AccountFailure.BadRequest,
            _ => AccountFailure.Server,
        };
        throw new AccountException(failure, string.Create(CultureInfo.InvariantCulture, $"the server refused: {what} ({status})"));
    }
}

/// <summary>Body of <c>POST /v1/account/register</c>.</summary>
public sealed record RegisterRequest(string ActivationCode, string Username, string Password, string Question, string Answer,
    string? FullName, string? Email, MachineRegistration Machine, CardRegistration Card);

/// <summary>The machine part of a registration: its id, serial and secret (≥ 32 random bytes).</summary>
public sealed record MachineRegistration(string Id, string Serial, byte[] Secret);

/// <summary>A card and its proof (<see cref="AccountCard.Prove"/>) over the server's nonce.</summary>
public sealed record CardRegistration(string Serial, byte[] PublicKey, string? TokenSerial, byte[] Nonce, byte[] Signature);

/// <summary>Answer of a registration: the access key is shown once and then only its verifier is kept.</summary>
public sealed record RegisterResponse(string Username, string CardSerial, string MachineId, string AccessKey, string? TokenActivationCode, DateTimeOffset? TokenActivationExpiresAt);

/// <summary>A bearer session.</summary>
public sealed record SignIn(string Token, string Scope, string Username, string? CardSerial, DateTimeOffset ExpiresAt);

/// <summary>Answer of a recovery: the machine's new access key and a recovery-scope session.</summary>
public sealed record RecoverResponse(string Username, string MachineId, string AccessKey, string Token, string Scope, DateTimeOffset ExpiresAt);

/// <summary>Answer of an access-key check.</summary>
public sealed record VerifyResponse(bool Valid, bool MustRotate);

/// <summary>A machine's (new) access key.</summary>
public sealed record MachineKey(string MachineId, string AccessKey);

/// <summary>Body of <c>POST /v1/account/replace-card</c>.</summary>
public sealed record ReplaceRequest(CardRegistration NewCard, string? MachineId, bool Temporary, int? Hours);

/// <summary>Answer of a replacement (or a temporary card).</summary>
public sealed record ReplaceResponse(string CardSerial, string? PreviousCardSerial, bool Temporary, DateTimeOffset? ExpiresAt, string? AccessKey, string? MachineId,
    string? TokenActivationCode, DateTimeOffset? TokenActivationExpiresAt, int RevokedTokens);

/// <summary>One of the user's cards as the server knows it.</summary>
public sealed record AccountCardInfo(string Serial, string? PublicKeySha256, string Kind, string State, DateTimeOffset? RegisteredAt, DateTimeOffset? ExpiresAt,
    DateTimeOffset? RevokedAt, string? ReplacedBy);

/// <summary>The audit log and the server's verdict on its hash chain.</summary>
public sealed record AuditLog(bool ChainValid, IReadOnlyList<AuditEntry> Entries);

/// <summary>One audit entry; <see cref="Details"/> is a small JSON object (as text) without secrets.</summary>
public sealed record AuditEntry(long Seq, DateTimeOffset Time, string Kind, string Details, string? PrevHash, string? Hash);

/// <summary>What the server says about the stored escrow blob.</summary>
public sealed record EscrowInfo(long Size, string Sha256, DateTimeOffset UpdatedAt);

internal sealed record ChallengeResponse(byte[] Nonce, DateTimeOffset ExpiresAt);
