using System.Security.Cryptography;

namespace CardKeep.Protocol.Sessions;

/// <summary>What a token holds for one server (the SSK is a copy the client zeroes on dispose).</summary>
/// <param name="ServerId">server_id of the registration.</param>
/// <param name="TokenHandle">token_handle.</param>
/// <param name="Ssk">The shared secret key.</param>
/// <param name="Suite">Suite of the registration.</param>
public sealed record TokenCredential(byte[] ServerId, byte[] TokenHandle, byte[] Ssk, Trk1Suite Suite);

/// <summary>The client side of session establishment: C8/C9 on S1 → S2, C10 on S3 → record keys.</summary>
public sealed class SessionClient : IDisposable
{
    private readonly TokenCredential _credential;
    private readonly bool _allowPskOnly;
    private readonly TimeProvider _clock;
    private readonly ITrk1Random _random;
    private Transcript? _transcript;
    private byte[]? _prk;
    private byte[]? _th2;
    private byte[] _sid = [];
    private Trk1Mode _flags;
    private int _step;

    /// <summary>Creates the client; PSK_ONLY challenges (no forward secrecy) are refused unless <paramref name="allowPskOnly"/>.</summary>
    public SessionClient(TokenCredential credential, bool allowPskOnly, TimeProvider clock, ITrk1Random random)
    {
        ArgumentNullException.ThrowIfNull(credential);
        _credential = credential with { Ssk = (byte[])credential.Ssk.Clone() };
        _allowPskOnly = allowPskOnly;
        _clock = clock ?? throw new ArgumentNullException(nameof(clock));
        _random = random ?? throw new ArgumentNullException(nameof(random));
    }

    /// <summary>The session identifier (after S1).</summary>
    public ReadOnlyMemory<byte> Sid => _sid;

    /// <summary>The session's flags (after S1).</summary>
    public Trk1Mode Mode => _flags;

    /// <summary>S2: R2 | eC | AEAD(K_h, token_handle) | mac_c.</summary>
    public byte[] ProcessChallenge(byte[] s1)
    {
        ArgumentNullException.ThrowIfNull(s1);
        if (_step != 0)
        {
            throw new InvalidOperationException("steps out of order");
        }

        var header = Trk1Header.Parse(s1, Trk1MessageType.Challenge);
        bool pskOnly = header.Flags.HasFlag(Trk1Mode.PskOnly);
        if ((header.Flags & ~Trk1Mode.PskOnly) != 0 || header.Suite != _credential.Suite || (pskOnly && !_allowPskOnly))
        {
            throw new Trk1Exception(Trk1Failure.BadHeader, "S1 suite or flags not acceptable");
        }

        int expectedLength = Trk1Limits.HeaderLength + 32 + (pskOnly ? 0 : Trk1Limits.PointLength) + 32 + 8;
        if (s1.Length != expectedLength)
        {
            throw new Trk1Exception(Trk1Failure.Malformed, "S1 has the wrong length");
        }

        var r = new FieldReader(s1.AsSpan(Trk1Limits.HeaderLength));
        r.Take(32);
        var eSBytes = pskOnly ? default : r.Take(Trk1Limits.PointLength);
        var serverId = r.Take(32);
        long expires = r.U64();
        var now = _clock.GetUtcNow().ToUnixTimeMilliseconds();
        if (expires <= now - (long)Trk1Limits.ClockSkew.TotalMilliseconds || expires > now + (long)(Trk1Limits.ChallengeLifetime + Trk1Limits.ClockSkew).TotalMilliseconds)
        {
            throw new Trk1Exception(Trk1Failure.Expired, "S1 is stale");
        }

        if (!Trk1Crypto.FixedTimeEquals(serverId, _credential.ServerId))
        {
            throw new Trk1Exception(Trk1Failure.UnknownServer, "S1 names a server this token is not registered with");
        }

        _sid = header.Sid.ToArray();
        _flags = header.Flags;
        _transcript = Transcript.ForSession().Append(s1);
        var th1 = _transcript.Current();
        var r2 = _random.Bytes(32);
        byte[] ee;
        byte[] eCBytes = [];
        if (pskOnly)
        {
            ee = new byte[32];
        }
        else
        {
            using var eC = Trk1Crypto.CreateEphemeral(_random);
            using var eS = Trk1Crypto.ImportPoint(eSBytes);
            ee = Trk1Crypto.Agree(eC, eS);
            eCBytes = Trk1Crypto.EncodePoint(eC);
        }

        var kh = KeySchedule.HandleKey(ee, th1);
        var psk = KeySchedule.SessionPsk(_credential.Ssk, _credential.ServerId);
        byte[]? kc = null;
        try
        {
            _prk = KeySchedule.SessionPrk(ee, psk);
            int bodyLength = 32 + eCBytes.Length + Trk1Limits.TokenHandleLength + Trk1Limits.TagLength + 32;
            var headerBytes = new MessageWriter().Finish(Trk1MessageType.Response, header.Suite, header.Flags, _sid, bodyLength);
            var sealedHandle = Trk1Crypto.Seal(kh, stackalloc byte[Trk1Crypto.NonceLength], _credential.TokenHandle, Trk1Crypto.Concat(headerBytes, th1));
            var pre = Trk1Crypto.Concat(headerBytes, r2, eCBytes, sealedHandle);
            var th2Pre = _transcript.Append(pre).Current();
            kc = KeySchedule.ClientAuthKey(_prk, th2Pre);
            var macC = Trk1Crypto.Hmac(kc, th2Pre);
            _th2 = _transcript.Append(macC).Current();
            _step = 1;
            return Trk1Crypto.Concat(pre, macC);
        }
        finally
        {
            Trk1Crypto.Zero(ee, kh, psk, kc);
        }
    }

    /// <summary>C10: mac_s verifies → server authenticated; returns the record keys (the caller disposes them).</summary>
    public SessionKeys ProcessServerFinished(byte[] s3)
    {
        ArgumentNullException.ThrowIfNull(s3);
        if (_step != 1)
        {
            throw new InvalidOperationException("steps out of order");
        }

        if (s3.Length != Trk1Limits.HeaderLength + 32)
        {
            throw new Trk1Exception(Trk1Failure.Malformed, "S3 has the wrong length");
        }

        var header = Trk1Header.Parse(s3, Trk1MessageType.ServerFinished);
        if (header.Suite != _credential.Suite || header.Flags != _flags || !header.Sid.Span.SequenceEqual(_sid))
        {
            throw new Trk1Exception(Trk1Failure.BadHeader, "S3 header does not match");
        }

        var ks = KeySchedule.ServerAuthKey(_prk!, _th2!);
        try
        {
            if (!Trk1Crypto.FixedTimeEquals(Trk1Crypto.Hmac(ks, _th2!), s3.AsSpan(Trk1Limits.HeaderLength)))
            {
                throw new Trk1Exception(Trk1Failure.Authentication, "mac_s does not verify");
            }

            var th3 = _transcript!.Append(s3).Current();
            _step = 2;
            return KeySchedule.SessionKeys(_prk!, th3);
        }
        finally
        {
            Trk1Crypto.Zero(ks);
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        CryptographicOperations.ZeroMemory(_credential.Ssk);
        Trk1Crypto.Zero(_prk);
        _transcript?.Dispose();
    }
}
