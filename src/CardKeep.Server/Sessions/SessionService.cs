using System.Threading.Channels;
using CardKeep.Protocol;
using CardKeep.Protocol.Configuration;
using CardKeep.Protocol.Sessions;
using CardKeep.Server.Entitlements;
using CardKeep.Server.Hosting;
using CardKeep.Server.Registration;
using CardKeep.Server.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace CardKeep.Server.Sessions;

/// <summary>An established session: who, and the server end of the record layer. Ends after the idle timeout.</summary>
public sealed class ActiveSession : IDisposable
{
    internal ActiveSession(byte[] sid, string username, byte[] tokenHandle, RecordChannel channel)
    {
        Sid = sid;
        Username = username;
        TokenHandle = tokenHandle;
        Channel = channel;
    }

    /// <summary>Session identifier.</summary>
    public byte[] Sid { get; }

    /// <summary>The authenticated user.</summary>
    public string Username { get; }

    /// <summary>The token used.</summary>
    public byte[] TokenHandle { get; }

    /// <summary>Record layer (server end).</summary>
    public RecordChannel Channel { get; }

    /// <summary>What the client said about its system in S4 (null before).</summary>
    public UserInfo? Info { get; set; }

    /// <summary>Serialises records of this session (they must be processed in sequence order).</summary>
    public SemaphoreSlim Gate { get; } = new(1, 1);

    /// <summary>Zeroes the record keys. The gate is left alone: a request may still be releasing it (it holds no OS handle).</summary>
    public void Dispose() => Channel.Dispose();
}

/// <summary>Server side of S1–S5 (spec §2.3, §2.4): challenges, authentication, session keys and the configuration exchange.</summary>
public sealed class SessionService : IDisposable
{
    private static readonly byte[] _dummyHandle = new byte[Trk1Limits.TokenHandleLength];
    private static readonly byte[] _dummyServerId = new byte[32];
    private readonly IServerStore _store;
    private readonly ServerKeys _keys;
    private readonly ServerSecrets _secrets;
    private readonly ServerOptions _options;
    private readonly UserRateLimits _limits;
    private readonly TimeProvider _clock;
    private readonly ITrk1Random _random;
    private readonly EntitlementService _entitlements;
    private readonly FailureRecorder _failures;
    private readonly ILogger<SessionService> _logger;
    private readonly PendingCache<SessionChallenge> _challenges;
    private readonly PendingCache<ActiveSession> _sessions;
    private readonly byte[] _dummyWrapped;

    /// <summary>Creates the service.</summary>
    public SessionService(IServerStore store, ServerKeys keys, ServerSecrets secrets, ServerOptions options, UserRateLimits limits, TimeProvider clock,
        ITrk1Random random, EntitlementService entitlements, FailureRecorder failures, ILogger<SessionService> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(secrets);
        _store = store;
        _keys = keys;
        _secrets = secrets;
        _options = options;
        _limits = limits;
        _clock = clock;
        _random = random;
        _entitlements = entitlements;
        _failures = failures;
        _logger = logger;
        _challenges = new PendingCache<SessionChallenge>(clock, options.Sessions.MaxPending);
        _sessions = new PendingCache<ActiveSession>(clock, options.Sessions.MaxPending);
        // An unknown handle unwraps this instead, so it costs the same work as a known one (S8).
        _dummyWrapped = SskWrap.Wrap(secrets.WrapKey, random.Bytes(32), _dummyHandle, _dummyServerId, random);
    }

    /// <summary>Established sessions held.</summary>
    public int ActiveCount => _sessions.Count;

    /// <summary>S1 for a token registered under <paramref name="suite"/>.</summary>
    public byte[] Challenge(Trk1Suite suite)
    {
        var key = _keys.For(suite) ?? throw new Trk1Exception(Trk1Failure.BadHeader, "no server key for this suite");
        var mode = _options.Sessions.PskOnly ? Trk1Mode.PskOnly : Trk1Mode.None;
        var challenge = SessionServer.CreateChallenge(key.ServerId, suite, mode, _clock.GetUtcNow(), _random);
        if (!_challenges.TryAdd(challenge.Sid, challenge, challenge.ExpiresAt))
        {
            challenge.Dispose();
            throw new Trk1Exception(Trk1Failure.RateLimited, "too many challenges pending");
        }

        return challenge.Message;
    }

    /// <summary>S2 → S3, or S4 (UserInfo) → S5 (Config), by the message type.</summary>
    public Task<byte[]> HandleAsync(byte[] message, CancellationToken cancellationToken) => Trk1Header.PeekType(message) switch
    {
        Trk1MessageType.Response => RespondAsync(message, cancellationToken),
        Trk1MessageType.UserInfo => ConfigureAsync(message, cancellationToken),
        _ => throw new Trk1Exception(Trk1Failure.BadHeader, "not a session message"),
    };

    /// <summary>The established session a record names, for the gateway (null when none).</summary>
    public ActiveSession? Find(byte[] message) => _sessions.Peek(Trk1Header.PeekSid(message));

    /// <summary>Ends a session (after a failed record).</summary>
    public void End(ActiveSession session)
    {
        ArgumentNullException.ThrowIfNull(session);
        _sessions.Remove(session.Sid);
    }

    /// <summary>Keeps a session alive after a good record.</summary>
    public void Touch(ActiveSession session)
    {
        ArgumentNullException.ThrowIfNull(session);
        _sessions.Touch(session.Sid, _clock.GetUtcNow().AddMinutes(_options.Sessions.IdleMinutes));
    }

    private async Task<byte[]> RespondAsync(byte[] s2, CancellationToken cancellationToken)
    {
        // S7: known, unexpired, consumed now.
        using var challenge = _challenges.TryTake(Trk1Header.PeekSid(s2)) ?? throw new Trk1Exception(Trk1Failure.UnknownSession, "S2 for an unknown, used or expired sid");
        var now = _clock.GetUtcNow();
        using var response = SessionServer.OpenResponse(challenge, s2, now);

        // S8: an unknown, inactive, expired or foreign handle takes the same path with a dummy SSK and fails the same way.
        var token = await _store.GetTokenAsync(response.TokenHandle, cancellationToken).ConfigureAwait(false);
        bool usable = token is not null && token.Status == TokenStatus.Active && token.SskNotAfter > now.ToUnixTimeMilliseconds()
            && token.Suite == ((char)challenge.Suite).ToString() && Trk1Crypto.FixedTimeEquals(token.ServerId, challenge.ServerId);

        // An account card that was revoked (replaced) or a temporary card past its expiry: its tokens are refused too.
        usable = usable && !await _store.IsCardTokenRefusedAsync(token!.TokenSerial, now.ToUnixTimeMilliseconds(), cancellationToken).ConfigureAwait(false);
        var ssk = usable
            ? SskWrap.Unwrap(_secrets.WrapKey, token!.SskWrapped, token.TokenHandle, token.ServerId)
            : SskWrap.Unwrap(_secrets.WrapKey, _dummyWrapped, _dummyHandle, _dummyServerId);
        try
        {
            if (usable && !_limits.TrySession(token!.Username))
            {
                throw new Trk1Exception(Trk1Failure.RateLimited, "session limit for this user");
            }

            SessionEstablished established;
            try
            {
                established = SessionServer.Verify(response, ssk); // S9
            }
            catch (Trk1Exception) when (usable)
            {
                _failures.Enqueue(token!.TokenHandle);
                throw;
            }

            if (!usable)
            {
                // Unreachable in practice (a dummy SSK cannot produce mac_c); kept so an unusable token can never pass.
                established.Keys.Dispose();
                throw new Trk1Exception(Trk1Failure.NotAuthorized, "token not usable");
            }

            if (token!.FailCount > 0)
            {
                await _store.ResetTokenFailuresAsync(token.TokenHandle, cancellationToken).ConfigureAwait(false);
            }

            var session = new ActiveSession(challenge.Sid, token.Username, token.TokenHandle,
                RecordChannel.ForServer(established.Keys, challenge.Sid, challenge.Suite, challenge.Mode));
            if (!_sessions.TryAdd(session.Sid, session, now.AddMinutes(_options.Sessions.IdleMinutes)))
            {
                session.Dispose();
                throw new Trk1Exception(Trk1Failure.RateLimited, "too many sessions");
            }

            Log.SessionEstablished(_logger, token.Username, Convert.ToHexString(token.TokenHandle, 0, 4), challenge.Mode == Trk1Mode.PskOnly ? "psk-only" : "forward-secret");
            return established.ServerFinished;
        }
        finally
        {
            Trk1Crypto.Zero(ssk);
        }
    }

    private async Task<byte[]> ConfigureAsync(byte[] s4, CancellationToken cancellationToken)
    {
        var session = Find(s4) ?? throw new Trk1Exception(Trk1Failure.UnknownSession, "UserInfo for no established session");
        await session.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            byte[] json;
            try
            {
                json = session.Channel.Open(s4, Trk1MessageType.UserInfo, Trk1Limits.MaxUserInfoLength);
            }
            catch (Trk1Exception)
            {
                End(session);
                throw;
            }

            session.Info = ConfigSchema.ParseUserInfo(json);
            var config = await _entitlements.BuildConfigAsync(session.Username, session.Info, cancellationToken).ConfigureAwait(false);
            Touch(session);
            return session.Channel.Seal(Trk1MessageType.Config, ConfigSchema.Serialize(config));
        }
        finally
        {
            session.Gate.Release();
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _challenges.Dispose();
        _sessions.Dispose();
    }
}

/// <summary>
/// Counts failed session attempts off the request path, so a wrong MAC for a known token answers as fast as an
/// unknown token (S8); locks the token after the configured number (S9).
/// </summary>
public sealed class FailureRecorder : BackgroundService
{
    private readonly Channel<byte[]> _queue = Channel.CreateBounded<byte[]>(new BoundedChannelOptions(10_000) { FullMode = BoundedChannelFullMode.DropOldest });
    private readonly IServerStore _store;
    private readonly ServerOptions _options;
    private readonly ILogger<FailureRecorder> _logger;

    /// <summary>Creates the recorder.</summary>
    public FailureRecorder(IServerStore store, ServerOptions options, ILogger<FailureRecorder> logger)
    {
        _store = store;
        _options = options;
        _logger = logger;
    }

    /// <summary>Queues one failure for <paramref name="tokenHandle"/>.</summary>
    public void Enqueue(byte[] tokenHandle) => _queue.Writer.TryWrite(tokenHandle);

    /// <inheritdoc/>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await foreach (var handle in _queue.Reader.ReadAllAsync(stoppingToken).ConfigureAwait(false))
        {
            try
            {
                int count = await _store.RecordTokenFailureAsync(handle, _options.Sessions.LockAfterFailures, stoppingToken).ConfigureAwait(false);
                Log.SessionFailure(_logger, Convert.ToHexString(handle, 0, 4), count);
            }
            catch (System.Data.Common.DbException e)
            {
                Log.InternalError(_logger, "failure count", e);
            }
        }
    }
}
