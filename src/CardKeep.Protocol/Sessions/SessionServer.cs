using System.Security.Cryptography;

namespace CardKeep.Protocol.Sessions;

/// <summary>Server state after S1 (kept by sid for 60 s, used once). Dispose releases the ephemeral key.</summary>
public sealed class SessionChallenge : IDisposable
{
    internal SessionChallenge(byte[] sid, Trk1Suite suite, Trk1Mode flags, byte[] serverId, byte[] message, DateTimeOffset expiresAt, ECDiffieHellman? ephemeral)
    {
        Sid = sid;
        Suite = suite;
        Mode = flags;
        ServerId = serverId;
        Message = message;
        ExpiresAt = expiresAt;
        Ephemeral = ephemeral;
    }

    /// <summary>Session identifier.</summary>
    public byte[] Sid { get; }

    /// <summary>The suite of the registration this session uses.</summary>
    public Trk1Suite Suite { get; }

    /// <summary>Flags (PSK_ONLY).</summary>
    public Trk1Mode Mode { get; }

    /// <summary>server_id sent in S1.</summary>
    public byte[] ServerId { get; }

    /// <summary>S1 as sent.</summary>
    public byte[] Message { get; }

    /// <summary>When the challenge expires.</summary>
    public DateTimeOffset ExpiresAt { get; }

    internal ECDiffieHellman? Ephemeral { get; }

    /// <inheritdoc/>
    public void Dispose() => Ephemeral?.Dispose();
}

/// <summary>An opened S2: the token handle it names (S8), before the MAC is checked. Dispose zeroes the secrets.</summary>
public sealed class SessionResponse : IDisposable
{
    internal SessionResponse(SessionChallenge challenge, byte[] s2, byte[] tokenHandle, byte[] ee)
    {
        Challenge = challenge;
        S2 = s2;
        TokenHandle = tokenHandle;
        Ee = ee;
    }

    /// <summary>The challenge answered.</summary>
    public SessionChallenge Challenge { get; }

    /// <summary>The token handle the client named.</summary>
    public byte[] TokenHandle { get; }

    internal byte[] S2 { get; }

    internal byte[] Ee { get; }

    /// <inheritdoc/>
    public void Dispose() => Trk1Crypto.Zero(Ee);
}

/// <summary>An authenticated session: S3 to send and the record keys.</summary>
/// <param name="ServerFinished">S3.</param>
/// <param name="Keys">Record keys and TH3.</param>
public sealed record SessionEstablished(byte[] ServerFinished, SessionKeys Keys);

/// <summary>The server's side of session establishment (spec §2.3): S1, open S2, verify mac_c and answer S3.</summary>
public static class SessionServer
{
    /// <summary>S2's length: R2 | eC | sealed handle | mac_c (no eC in PSK_ONLY mode).</summary>
    public static int ResponseLength(Trk1Mode flags) =>
        Trk1Limits.HeaderLength + 32 + (flags.HasFlag(Trk1Mode.PskOnly) ? 0 : Trk1Limits.PointLength) + Trk1Limits.TokenHandleLength + Trk1Limits.TagLength + 32;

    /// <summary>S1: R1(32) | eS(65, omitted when PSK_ONLY) | server_id(32) | expires_at(8).</summary>
    public static SessionChallenge CreateChallenge(byte[] serverId, Trk1Suite suite, Trk1Mode flags, DateTimeOffset now, ITrk1Random random)
    {
        ArgumentNullException.ThrowIfNull(serverId);
        ArgumentNullException.ThrowIfNull(random);
        if ((flags & ~Trk1Mode.PskOnly) != 0 || suite is not (Trk1Suite.R or Trk1Suite.E) || serverId.Length != 32)
        {
            throw new ArgumentException("unsupported flags, suite or server id");
        }

        var sid = random.Bytes(Trk1Limits.SidLength);
        var r1 = random.Bytes(32);
        var expires = now + Trk1Limits.ChallengeLifetime;
        var w = new MessageWriter().Raw(r1);
        ECDiffieHellman? eS = null;
        if (!flags.HasFlag(Trk1Mode.PskOnly))
        {
            eS = Trk1Crypto.CreateEphemeral(random);
            w.Raw(Trk1Crypto.EncodePoint(eS));
        }

        var message = w.Raw(serverId).U64(expires.ToUnixTimeMilliseconds()).Finish(Trk1MessageType.Challenge, suite, flags, sid);
        return new SessionChallenge(sid, suite, flags, serverId, message, expires, eS);
    }

    /// <summary>
    /// S7 (expiry; known and consumed is the caller's cache) and S8's first half: decrypts the token handle under K_h.
    /// </summary>
    public static SessionResponse OpenResponse(SessionChallenge challenge, byte[] s2, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(challenge);
        ArgumentNullException.ThrowIfNull(s2);
        if (s2.Length != ResponseLength(challenge.Mode))
        {
            throw new Trk1Exception(Trk1Failure.Malformed, "S2 has the wrong length");
        }

        var header = Trk1Header.Parse(s2, Trk1MessageType.Response);
        if (header.Suite != challenge.Suite || header.Flags != challenge.Mode || !header.Sid.Span.SequenceEqual(challenge.Sid))
        {
            throw new Trk1Exception(Trk1Failure.BadHeader, "S2 header does not match S1");
        }

        if (now >= challenge.ExpiresAt)
        {
            throw new Trk1Exception(Trk1Failure.Expired, "S2 after the challenge expired");
        }

        var r = new FieldReader(s2.AsSpan(Trk1Limits.HeaderLength));
        r.Take(32);
        byte[] ee;
        if (challenge.Ephemeral is { } eS)
        {
            using var eC = Trk1Crypto.ImportPoint(r.Take(Trk1Limits.PointLength));
            ee = Trk1Crypto.Agree(eS, eC);
        }
        else
        {
            ee = new byte[32];
        }

        var sealedHandle = r.Take(Trk1Limits.TokenHandleLength + Trk1Limits.TagLength);
        using var transcript = Transcript.ForSession().Append(challenge.Message);
        var th1 = transcript.Current();
        var kh = KeySchedule.HandleKey(ee, th1);
        try
        {
            var handle = Trk1Crypto.Open(kh, stackalloc byte[Trk1Crypto.NonceLength], sealedHandle, Trk1Crypto.Concat(s2[..Trk1Limits.HeaderLength], th1));
            return new SessionResponse(challenge, s2, handle, ee);
        }
        catch
        {
            Trk1Crypto.Zero(ee);
            throw;
        }
        finally
        {
            Trk1Crypto.Zero(kh);
        }
    }

    /// <summary>
    /// S9: mac_c under K_c in constant time → client authenticated; returns S3 (mac_s under K_s) and the record keys.
    /// For an unknown handle call this with a random SSK: the same work is done and the same failure raised.
    /// </summary>
    public static SessionEstablished Verify(SessionResponse response, ReadOnlySpan<byte> ssk)
    {
        ArgumentNullException.ThrowIfNull(response);
        var challenge = response.Challenge;
        var s2 = response.S2;
        int preLength = s2.Length - 32;
        var psk = KeySchedule.SessionPsk(ssk, challenge.ServerId);
        var prk = KeySchedule.SessionPrk(response.Ee, psk);
        using var transcript = Transcript.ForSession().Append(challenge.Message);
        var th2Pre = transcript.Append(s2.AsSpan(0, preLength)).Current();
        var kc = KeySchedule.ClientAuthKey(prk, th2Pre);
        byte[]? ks = null;
        try
        {
            var expected = Trk1Crypto.Hmac(kc, th2Pre);
            if (!Trk1Crypto.FixedTimeEquals(expected, s2.AsSpan(preLength)))
            {
                throw new Trk1Exception(Trk1Failure.Authentication, "mac_c does not verify");
            }

            var th2 = transcript.Append(s2.AsSpan(preLength)).Current();
            ks = KeySchedule.ServerAuthKey(prk, th2);
            var s3 = new MessageWriter().Raw(Trk1Crypto.Hmac(ks, th2)).Finish(Trk1MessageType.ServerFinished, challenge.Suite, challenge.Mode, challenge.Sid);
            var th3 = transcript.Append(s3).Current();
            return new SessionEstablished(s3, KeySchedule.SessionKeys(prk, th3));
        }
        finally
        {
            Trk1Crypto.Zero(psk, prk, kc, ks);
        }
    }
}
