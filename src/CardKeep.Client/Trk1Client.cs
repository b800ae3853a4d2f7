using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using CardKeep.Client.Tokens;
using CardKeep.Protocol;
using CardKeep.Protocol.Configuration;
using CardKeep.Protocol.Gateway;
using CardKeep.Protocol.Registration;
using CardKeep.Protocol.Sessions;

namespace CardKeep.Client;

/// <summary>
/// The TRK1 client over HTTP: registration (REG1–REG5, storing the SSK in the token only after fin_s verifies),
/// sessions (S1–S3), configuration (S4–S5) and gateway requests. Protocol failures are <see cref="Trk1Exception"/>;
/// the server's answer to any failure is the one generic error (<see cref="Trk1Failure.PeerError"/>).
/// </summary>
public sealed class Trk1Client : IDisposable
{
    private readonly HttpClient _http;
    private readonly bool _ownsHttp;
    private readonly TimeProvider _clock;
    private readonly ITrk1Random _random;

    /// <summary>Creates a client for <paramref name="server"/>.</summary>
    public Trk1Client(Uri server, HttpClient? http = null, TimeProvider? clock = null, ITrk1Random? random = null)
    {
        ArgumentNullException.ThrowIfNull(server);
        Server = server;
        _ownsHttp = http is null;
        _http = http ?? new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
        _clock = clock ?? TimeProvider.System;
        _random = random ?? SystemTrk1Random.Instance;
    }

    /// <summary>The server's base URL.</summary>
    public Uri Server { get; }

    /// <summary>
    /// Registers <paramref name="token"/> for <paramref name="username"/>: checks the PIN first (reading the token's
    /// registrations), runs REG1–REG5, and stores the new registration (SSK wrapped under the PIN) in the token.
    /// </summary>
    public async Task<TokenRegistration> RegisterAsync(ITokenStore token, byte[] pin, Trk1Suite suite, string username, string activationCode,
        IReadOnlyDictionary<string, string>? answers = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(token);
        ArgumentNullException.ThrowIfNull(pin);
        var identity = token.ReadIdentity();
        var existing = token.ReadRegistrations(pin);
        using var result = await RegisterRawAsync(identity, suite, username, activationCode, answers, cancellationToken).ConfigureAwait(false);
        var registration = ToRecord(result, pin, username);
        token.WriteRegistrations(TokenRecords.Replace(existing, registration), pin);
        return registration;
    }

    /// <summary>REG1–REG5 for a token identity; the caller stores (and disposes) the result.</summary>
    public async Task<RegistrationResult> RegisterRawAsync(TokenIdentity identity, Trk1Suite suite, string username, string activationCode,
        IReadOnlyDictionary<string, string>? answers = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(identity);
        using var client = new RegistrationClient(identity.IssuerCertificate, _clock, _random);
        var reg1 = await PostAsync($"trk1/registration/hello?suite={(char)suite}", [], cancellationToken).ConfigureAwait(false);
        var hello = client.ProcessHello(reg1);
        if (hello.Suite != suite)
        {
            throw new Trk1Exception(Trk1Failure.BadHeader, "server answered with another suite");
        }

        var reg2 = client.CreateRequest(new RegistrationIdentity(identity.Serial, username, activationCode, answers ?? new Dictionary<string, string>()));
        var reg3 = await PostAsync("trk1/registration", reg2, cancellationToken).ConfigureAwait(false);
        var reg4 = client.ProcessResponse(reg3);
        var reg5 = await PostAsync("trk1/registration", reg4, cancellationToken).ConfigureAwait(false);
        return client.ProcessAck(reg5);
    }

    /// <summary>The token record for a confirmed registration, its SSK wrapped under <paramref name="pin"/>.</summary>
    public TokenRegistration ToRecord(RegistrationResult result, ReadOnlySpan<byte> pin, string username, int iterations = TokenRecords.Iterations)
    {
        ArgumentNullException.ThrowIfNull(result);
        return new TokenRegistration(TokenRecords.NormalizeUrl(Server.ToString()), result.ServerId, ((char)result.Suite).ToString(), username, result.TokenHandle,
            result.UserIdCode, result.AccessPath, result.SskNotAfter.ToUnixTimeMilliseconds(), result.PolicyVersion,
            TokenRecords.Wrap(pin, result.Ssk, result.ServerId, result.TokenHandle, iterations));
    }

    /// <summary>Opens a session with this server's registration in <paramref name="token"/>.</summary>
    public async Task<ClientSession> OpenSessionAsync(ITokenStore token, byte[] pin, bool allowPskOnly = false, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(token);
        var registration = TokenRecords.ForServer(token.ReadRegistrations(pin), Server.ToString());
        var ssk = TokenRecords.Unwrap(pin, registration);
        try
        {
            return await OpenSessionAsync(new TokenCredential(registration.ServerId, registration.TokenHandle, ssk, registration.ProtocolSuite), registration.User, allowPskOnly, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(ssk);
        }
    }

    /// <summary>S1–S3 with a credential (the SSK is copied and zeroed when the handshake ends).</summary>
    public async Task<ClientSession> OpenSessionAsync(TokenCredential credential, string user, bool allowPskOnly = false, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(credential);
        using var client = new SessionClient(credential, allowPskOnly, _clock, _random);
        var s1 = await PostAsync($"trk1/session/challenge?suite={(char)credential.Suite}", [], cancellationToken).ConfigureAwait(false);
        var s2 = client.ProcessChallenge(s1);
        var s3 = await PostAsync("trk1/session", s2, cancellationToken).ConfigureAwait(false);
        var keys = client.ProcessServerFinished(s3);
        return new ClientSession(this, RecordChannel.ForClient(keys, client.Sid.Span, credential.Suite, client.Mode), user, credential.ServerId, client.Mode);
    }

    internal async Task<byte[]> PostAsync(string path, byte[] body, CancellationToken cancellationToken)
    {
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using var response = await _http.PostAsync(new Uri(Server, path), content, cancellationToken).ConfigureAwait(false);
        var answer = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.ServiceUnavailable)
        {
            throw new HttpRequestException("the server is unavailable (503: its database is unreachable or a read-only standby); try again later or another server",
                null, HttpStatusCode.ServiceUnavailable);
        }

        if (response.StatusCode == HttpStatusCode.TooManyRequests)
        {
            throw new Trk1Exception(Trk1Failure.RateLimited, "the server's rate limit refused the request; try again later");
        }

        if (!response.IsSuccessStatusCode || Trk1Wire.IsError(answer))
        {
            throw new Trk1Exception(Trk1Failure.PeerError, "the server refused the message");
        }

        return answer;
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

/// <summary>An established session: configuration exchange and gateway requests over the record layer.</summary>
public sealed class ClientSession : IDisposable
{
    private readonly Trk1Client _client;
    private readonly RecordChannel _channel;

    internal ClientSession(Trk1Client client, RecordChannel channel, string user, byte[] serverId, Trk1Mode mode)
    {
        _client = client;
        _channel = channel;
        User = user;
        ServerId = serverId;
        Mode = mode;
    }

    /// <summary>The user the token is registered for.</summary>
    public string User { get; }

    /// <summary>The server's id.</summary>
    public byte[] ServerId { get; }

    /// <summary>Session mode (PskOnly means no forward secrecy).</summary>
    public Trk1Mode Mode { get; }

    /// <summary>S4 → S5: sends <paramref name="info"/>, checks the configuration (C11) against <paramref name="appliedPolicyVersion"/>.</summary>
    public async Task<ConfigDocument> ExchangeConfigAsync(UserInfo info, long appliedPolicyVersion, TimeProvider? clock = null, CancellationToken cancellationToken = default)
    {
        var s4 = _channel.Seal(Trk1MessageType.UserInfo, ConfigSchema.Serialize(info));
        var s5 = await _client.PostAsync("trk1/session", s4, cancellationToken).ConfigureAwait(false);
        var json = _channel.Open(s5, Trk1MessageType.Config, Trk1Limits.MaxConfigLength);
        return ConfigSchema.ParseConfig(json, appliedPolicyVersion, (clock ?? TimeProvider.System).GetUtcNow());
    }

    /// <summary>Sends a request for application <paramref name="app"/> through the gateway.</summary>
    public async Task<GatewayResponse> RequestAsync(string app, string method, string path, byte[]? body = null, string? contentType = null, CancellationToken cancellationToken = default)
    {
        var request = new GatewayRequest { App = app, Method = method, Path = path, Body = body is null ? null : Convert.ToBase64String(body), ContentType = contentType };
        var record = _channel.Seal(Trk1MessageType.GatewayRequest, GatewayMessages.Serialize(request));
        var answer = await _client.PostAsync("trk1/gateway", record, cancellationToken).ConfigureAwait(false);
        return GatewayMessages.ParseResponse(_channel.Open(answer, Trk1MessageType.GatewayResponse, Trk1Limits.MaxGatewayPayloadLength));
    }

    /// <inheritdoc/>
    public void Dispose() => _channel.Dispose();
}
