using System.Net.Http.Headers;
using CardKeep.Protocol;
using CardKeep.Protocol.Gateway;
using CardKeep.Server.Entitlements;
using CardKeep.Server.Hosting;
using CardKeep.Server.Sessions;
using Microsoft.Extensions.Logging;

namespace CardKeep.Server.Gateway;

/// <summary>
/// Forwards an established session's requests to the application servers the user's entitlements allow now (looked
/// up per request, so a revocation takes effect at once), at the location the client reported in S4, and refuses the
/// rest with 403 inside the encrypted record. The upstream sees X-CardKeep-User and X-CardKeep-Roles.
/// </summary>
public sealed class GatewayService
{
    /// <summary>Name of the HttpClient used for upstreams.</summary>
    public const string HttpClientName = "cardkeep-gateway";

    /// <summary>Largest upstream body relayed.</summary>
    public const int MaxBody = 128 * 1024;

    private static readonly HashSet<string> _methods = new(StringComparer.Ordinal) { "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE" };

    private readonly SessionService _sessions;
    private readonly EntitlementService _entitlements;
    private readonly ServerOptions _options;
    private readonly IHttpClientFactory _http;
    private readonly ILogger<GatewayService> _logger;

    /// <summary>Creates the service.</summary>
    public GatewayService(SessionService sessions, EntitlementService entitlements, ServerOptions options, IHttpClientFactory http, ILogger<GatewayService> logger)
    {
        _sessions = sessions;
        _entitlements = entitlements;
        _options = options;
        _http = http;
        _logger = logger;
    }

    /// <summary>GatewayRequest record → GatewayResponse record.</summary>
    public async Task<byte[]> HandleAsync(byte[] message, CancellationToken cancellationToken)
    {
        var session = _sessions.Find(message) ?? throw new Trk1Exception(Trk1Failure.UnknownSession, "gateway record for no established session");
        await session.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            byte[] payload;
            try
            {
                payload = session.Channel.Open(message, Trk1MessageType.GatewayRequest, Trk1Limits.MaxGatewayPayloadLength);
            }
            catch (Trk1Exception)
            {
                _sessions.End(session);
                throw;
            }

            _sessions.Touch(session);
            var response = await ForwardAsync(session, payload, cancellationToken).ConfigureAwait(false);
            return session.Channel.Seal(Trk1MessageType.GatewayResponse, GatewayMessages.Serialize(response));
        }
        finally
        {
            session.Gate.Release();
        }
    }

    private async Task<GatewayResponse> ForwardAsync(ActiveSession session, byte[] payload, CancellationToken cancellationToken)
    {
        var request = GatewayMessages.ParseRequest(payload);

        if (request is null || !_methods.Contains(request.Method) || !IsSafePath(request.Path))
        {
            return Refuse(session, request?.App ?? "?", 400, "malformed gateway request");
        }

        var (entitlement, reason) = await _entitlements.AuthorizeAsync(session.Username, request.App, session.Info?.Location, cancellationToken).ConfigureAwait(false);
        if (entitlement is null || !Uri.TryCreate(_options.Applications[request.App].Upstream, UriKind.Absolute, out var upstream) || upstream.Scheme is not ("http" or "https"))
        {
            return Refuse(session, request.App, 403, entitlement is null ? reason : "application has no upstream");
        }

        var target = new Uri(upstream.GetLeftPart(UriPartial.Path).TrimEnd('/') + request.Path, UriKind.Absolute);
        using var upstreamRequest = new HttpRequestMessage(new HttpMethod(request.Method), target);
        upstreamRequest.Headers.Add("X-CardKeep-User", session.Username);
        upstreamRequest.Headers.Add("X-CardKeep-Roles", string.Join(',', entitlement.Roles));
        if (request.Body is not null)
        {
            var body = new byte[request.Body.Length];
            if (!Convert.TryFromBase64String(request.Body, body, out int bodyLength))
            {
                return Refuse(session, request.App, 400, "body is not base64");
            }

            upstreamRequest.Content = new ByteArrayContent(body, 0, bodyLength);
            if (request.ContentType is not null && MediaTypeHeaderValue.TryParse(request.ContentType, out var mediaType))
            {
                upstreamRequest.Content.Headers.ContentType = mediaType;
            }
        }

        try
        {
            using var answer = await _http.CreateClient(HttpClientName).SendAsync(upstreamRequest, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
            var body = await ReadLimitedAsync(answer.Content, cancellationToken).ConfigureAwait(false);
            Log.Forwarded(_logger, session.Username, request.Method, request.App, request.Path, (int)answer.StatusCode);
            return new GatewayResponse
            {
                Status = (int)answer.StatusCode,
                ContentType = answer.Content.Headers.ContentType?.ToString(),
                Body = body is null ? null : Convert.ToBase64String(body),
                Error = body is null ? "application server answer too large" : null,
            };
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            Log.GatewayRefused(_logger, session.Username, request.App, "application server unreachable");
            return new GatewayResponse { Status = 502, Error = "application server unreachable" };
        }
    }

    private GatewayResponse Refuse(ActiveSession session, string app, int status, string reason)
    {
        Log.GatewayRefused(_logger, session.Username, app, reason);
        return new GatewayResponse { Status = status, Error = reason };
    }

    /// <summary>A relative path the upstream base cannot be escaped from: '/…', no '//' start, no '..' segment, no backslash or control character.</summary>
    public static bool IsSafePath(string? path) =>
        path is { Length: > 0 and <= 2048 } && path[0] == '/' && !path.StartsWith("//", StringComparison.Ordinal) && !path.Contains('\\', StringComparison.Ordinal)
        && !path.Any(char.IsControl) && !path.Split('?')[0].Split('/').Any(segment => segment is ".." or "." || segment.Contains("%2e", StringComparison.OrdinalIgnoreCase) || segment.Contains("%2f", StringComparison.OrdinalIgnoreCase));

    private static async Task<byte[]?> ReadLimitedAsync(HttpContent content, CancellationToken cancellationToken)
    {
        await using var stream = await content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        using var buffer = new MemoryStream();
        var chunk = new byte[8192];
        int read;
        while ((read = await stream.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > MaxBody)
            {
                return null;
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }
}
