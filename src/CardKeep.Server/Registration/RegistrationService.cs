using System.Security.Cryptography;
using System.Text;
using CardKeep.Protocol;
using CardKeep.Protocol.Registration;
using CardKeep.Server.Hosting;
using CardKeep.Server.Storage;
using Microsoft.Extensions.Logging;

namespace CardKeep.Server.Registration;

/// <summary>Server side of REG1–REG5 (spec §2.2) with activation codes (W9), per-user limits and the storage commit after fin_c.</summary>
public sealed class RegistrationService : IDisposable
{
    private readonly IServerStore _store;
    private readonly ServerKeys _keys;
    private readonly ServerSecrets _secrets;
    private readonly ServerOptions _options;
    private readonly UserRateLimits _limits;
    private readonly TimeProvider _clock;
    private readonly ITrk1Random _random;
    private readonly ILogger<RegistrationService> _logger;
    private readonly PendingCache<RegistrationHello> _hellos;
    private readonly PendingCache<PendingRegistration> _pending;
    private readonly RegistrationTemplate _template;

    /// <summary>Creates the service.</summary>
    public RegistrationService(IServerStore store, ServerKeys keys, ServerSecrets secrets, ServerOptions options, UserRateLimits limits, TimeProvider clock, ITrk1Random random, ILogger<RegistrationService> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _store = store;
        _keys = keys;
        _secrets = secrets;
        _options = options;
        _limits = limits;
        _clock = clock;
        _random = random;
        _logger = logger;
        _hellos = new PendingCache<RegistrationHello>(clock, options.Registration.MaxPending);
        _pending = new PendingCache<PendingRegistration>(clock, options.Registration.MaxPending);
        var fields = options.Registration.TemplateFields.Count == 0 ? ["host"] : options.Registration.TemplateFields.Distinct(StringComparer.Ordinal).ToList();
        _template = new RegistrationTemplate(fields, options.Registration.RequireActivationCode);
    }

    /// <summary>REG1 for <paramref name="suite"/>.</summary>
    public byte[] Hello(Trk1Suite suite)
    {
        var key = _keys.For(suite) ?? throw new Trk1Exception(Trk1Failure.BadHeader, "no server key for this suite");
        var hello = RegistrationServer.CreateHello(key, _template, _clock.GetUtcNow(), _random);
        if (!_hellos.TryAdd(hello.Sid, hello, hello.ExpiresAt))
        {
            throw new Trk1Exception(Trk1Failure.RateLimited, "too many registrations pending");
        }

        return hello.Message;
    }

    /// <summary>REG2 → REG3, or REG4 → REG5, by the message type.</summary>
    public Task<byte[]> HandleAsync(byte[] message, CancellationToken cancellationToken) => Trk1Header.PeekType(message) switch
    {
        Trk1MessageType.RegRequest => RequestAsync(message, cancellationToken),
        Trk1MessageType.RegFinished => FinishAsync(message, cancellationToken),
        _ => throw new Trk1Exception(Trk1Failure.BadHeader, "not a registration message"),
    };

    private async Task<byte[]> RequestAsync(byte[] reg2, CancellationToken cancellationToken)
    {
        // S1: the sid must be known and unexpired, and is consumed now, whatever happens next.
        var hello = _hellos.TryTake(Trk1Header.PeekSid(reg2)) ?? throw new Trk1Exception(Trk1Failure.UnknownSession, "REG2 for an unknown, used or expired sid");
        var key = _keys.For(hello.Suite) ?? throw new Trk1Exception(Trk1Failure.BadHeader, "no server key for this suite");
        var now = _clock.GetUtcNow();
        using var request = RegistrationServer.OpenRequest(hello, key, reg2, now);

        // S4: canonical, allowed name; activation code valid, unused, bound to that name; serial not blocked. S5: per-user limit.
        string username = request.Username;
        if (!Trk1Names.IsCanonicalUsername(username))
        {
            throw new Trk1Exception(Trk1Failure.NotAuthorized, "user name not canonical");
        }

        if (!_limits.TryRegistration(username))
        {
            throw new Trk1Exception(Trk1Failure.RateLimited, "registration limit for this user");
        }

        byte[]? codeHash = null;
        if (_template.ActivationCodeRequired || request.ActivationCode.Length > 0)
        {
            codeHash = ActivationCodes.Hash(_secrets.ActivationKey, request.ActivationCode);
            var code = await _store.FindActivationCodeAsync(codeHash, cancellationToken).ConfigureAwait(false);
            bool valid = code is not null && code.UsedAt is null && code.ExpiresAt > now.ToUnixTimeMilliseconds()
                && CryptographicOperations.FixedTimeEquals(code.CodeHash, codeHash)
                && string.Equals(code.Username, username, StringComparison.Ordinal);
            if (!valid)
            {
                throw new Trk1Exception(Trk1Failure.NotAuthorized, "activation code not valid for this user");
            }
        }

        if (await _store.IsSerialBlockedAsync(request.TokenSerial, cancellationToken).ConfigureAwait(false))
        {
            throw new Trk1Exception(Trk1Failure.NotAuthorized, "token serial blocked");
        }

        var user = await _store.GetUserAsync(username, cancellationToken).ConfigureAwait(false);
        var grant = new RegistrationGrant(
            UserIdCode(username),
            _random.Bytes(Trk1Limits.TokenHandleLength),
            _options.Registration.AccessPath.Replace("{user}", username, StringComparison.Ordinal),
            now.AddDays(_options.Registration.SskLifetimeDays),
            (uint)Math.Clamp(user?.PolicyVersion ?? 1, 0, uint.MaxValue));
        var pending = RegistrationServer.CreateResponse(request, grant, now, _random);
        var entry = new PendingRegistration(pending, username, request.TokenSerial, codeHash, key.ServerId);
        if (!_pending.TryAdd(pending.Sid, entry, pending.ExpiresAt))
        {
            entry.Dispose();
            throw new Trk1Exception(Trk1Failure.RateLimited, "too many registrations pending");
        }

        return pending.Message;
    }

    private async Task<byte[]> FinishAsync(byte[] reg4, CancellationToken cancellationToken)
    {
        using var entry = _pending.TryTake(Trk1Header.PeekSid(reg4)) ?? throw new Trk1Exception(Trk1Failure.UnknownSession, "REG4 for an unknown, used or expired sid");
        var now = _clock.GetUtcNow();
        var pending = entry.Protocol;
        var reg5 = RegistrationServer.Finish(pending, reg4, now); // S6: fin_c verified before anything is stored.
        var grant = pending.Grant;
        var token = new TokenRecord(
            grant.TokenHandle, entry.TokenSerial, entry.ServerId, ((char)pending.Suite).ToString(), entry.Username, grant.UserIdCode,
            SskWrap.Wrap(_secrets.WrapKey, pending.Ssk, grant.TokenHandle, entry.ServerId, _random), grant.AccessPath, TokenStatus.Active, 0,
            now.ToUnixTimeMilliseconds(), grant.SskNotAfter.ToUnixTimeMilliseconds());
        if (!await _store.CompleteRegistrationAsync(token, entry.CodeHash, now.ToUnixTimeMilliseconds(), cancellationToken).ConfigureAwait(false))
        {
            throw new Trk1Exception(Trk1Failure.NotAuthorized, "activation code used by another registration meanwhile");
        }

        Log.Registered(_logger, entry.Username, Convert.ToHexString(grant.TokenHandle, 0, 4), (char)pending.Suite);
        return reg5;
    }

    /// <summary>user_id_code = HMAC-SHA256(K_uid, canonical user name).</summary>
    public byte[] UserIdCode(string username) => HMACSHA256.HashData(_secrets.UserIdKey, Encoding.UTF8.GetBytes(username));

    /// <summary>Issues a one-time activation code for <paramref name="username"/>; only its HMAC is stored.</summary>
    public async Task<(string Code, DateTimeOffset ExpiresAt)> IssueActivationCodeAsync(string username, TimeSpan? lifetime, CancellationToken cancellationToken)
    {
        var now = _clock.GetUtcNow();
        var expires = now + (lifetime ?? TimeSpan.FromHours(_options.Registration.ActivationCodeHours));
        string code = ActivationCodes.Generate(_random);
        await _store.AddActivationCodeAsync(new ActivationCodeRecord(ActivationCodes.Hash(_secrets.ActivationKey, code), username,
            now.ToUnixTimeMilliseconds(), expires.ToUnixTimeMilliseconds(), null), cancellationToken).ConfigureAwait(false);
        Log.ActivationCodeIssued(_logger, username, expires);
        return (code, expires);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _hellos.Dispose();
        _pending.Dispose();
    }

    private sealed class PendingRegistration(RegistrationPending protocol, string username, byte[] tokenSerial, byte[]? codeHash, byte[] serverId) : IDisposable
    {
        public RegistrationPending Protocol { get; } = protocol;

        public string Username { get; } = username;

        public byte[] TokenSerial { get; } = tokenSerial;

        public byte[]? CodeHash { get; } = codeHash;

        public byte[] ServerId { get; } = serverId;

        public void Dispose() => Protocol.Dispose();
    }
}

/// <summary>
/// Activation codes: 120 random bits as 24 base32 characters in groups of four (e.g. <c>K7QM-2XHD-…</c>); compared as
/// HMAC(K_act, code without dashes and spaces, upper case).
/// </summary>
public static class ActivationCodes
{
    private const string Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

    /// <summary>A new code.</summary>
    public static string Generate(ITrk1Random random)
    {
        var bytes = random.Bytes(15);
        var text = new StringBuilder(29);
        int buffer = 0;
        int bits = 0;
        foreach (byte b in bytes)
        {
            buffer = (buffer << 8) | b;
            bits += 8;
            while (bits >= 5)
            {
                if (text.Length % 5 == 4)
                {
                    text.Append('-');
                }

                text.Append(Alphabet[(buffer >> (bits - 5)) & 31]);
                bits -= 5;
            }
        }

        CryptographicOperations.ZeroMemory(bytes);
        return text.ToString();
    }

    /// <summary>HMAC of the normalised code.</summary>
    public static byte[] Hash(byte[] key, string code)
    {
        ArgumentNullException.ThrowIfNull(code);
        var normalised = new string(code.Where(c => c is not ('-' or ' ')).Select(char.ToUpperInvariant).ToArray());
        return HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(normalised));
    }
}

/// <summary>Stored SSKs: nonce(12) ‖ AES-256-GCM(master KEK, SSK, AD = token_handle ‖ server_id) (spec §2.1 server record).</summary>
public static class SskWrap
{
    /// <summary>Wraps.</summary>
    public static byte[] Wrap(byte[] kek, byte[] ssk, byte[] handle, byte[] serverId, ITrk1Random random)
    {
        var nonce = random.Bytes(Trk1Crypto.NonceLength);
        return Trk1Crypto.Concat(nonce, Trk1Crypto.Seal(kek, nonce, ssk, Trk1Crypto.Concat(handle, serverId)));
    }

    /// <summary>Unwraps (the caller zeroes the result); a damaged record is a <see cref="Trk1Exception"/>.</summary>
    public static byte[] Unwrap(byte[] kek, byte[] wrapped, byte[] handle, byte[] serverId)
    {
        ArgumentNullException.ThrowIfNull(wrapped);
        if (wrapped.Length < Trk1Crypto.NonceLength + Trk1Limits.TagLength)
        {
            throw new Trk1Exception(Trk1Failure.Authentication, "stored SSK damaged");
        }

        return Trk1Crypto.Open(kek, wrapped.AsSpan(0, Trk1Crypto.NonceLength), wrapped.AsSpan(Trk1Crypto.NonceLength), Trk1Crypto.Concat(handle, serverId));
    }
}
