using System.Security.Cryptography;
using System.Text;

namespace CardKeep.Protocol.Registration;

/// <summary>Server state after REG1: what it must remember (by sid) for at most 10 minutes, used once.</summary>
public sealed class RegistrationHello
{
    internal RegistrationHello(byte[] sid, Trk1Suite suite, byte[] message, DateTimeOffset expiresAt, RegistrationTemplate template)
    {
        Sid = sid;
        Suite = suite;
        Message = message;
        ExpiresAt = expiresAt;
        Template = template;
    }

    /// <summary>The session identifier.</summary>
    public byte[] Sid { get; }

    /// <summary>The suite.</summary>
    public Trk1Suite Suite { get; }

    /// <summary>REG1 as sent.</summary>
    public byte[] Message { get; }

    /// <summary>When the nonce expires.</summary>
    public DateTimeOffset ExpiresAt { get; }

    /// <summary>The template sent.</summary>
    public RegistrationTemplate Template { get; }
}

/// <summary>What REG2 carried, once opened and authenticated (S1–S3). Dispose zeroes the secrets.</summary>
public sealed class RegistrationRequest : IDisposable
{
    internal RegistrationRequest(RegistrationHello hello, byte[] reg2, byte[] ssk1, byte[] prkR, ECDiffieHellmanPublicKey clientEphemeral,
        byte[] tokenSerial, string username, string activationCode, IReadOnlyDictionary<string, string> answers)
    {
        Hello = hello;
        Reg2 = reg2;
        Ssk1 = ssk1;
        PrkR = prkR;
        ClientEphemeral = clientEphemeral;
        TokenSerial = tokenSerial;
        Username = username;
        ActivationCode = activationCode;
        Answers = answers;
    }

    /// <summary>The REG1 state this answers.</summary>
    public RegistrationHello Hello { get; }

    /// <summary>The token's serial.</summary>
    public byte[] TokenSerial { get; }

    /// <summary>The user name as sent (the caller checks it is canonical).</summary>
    public string Username { get; }

    /// <summary>The activation code as sent.</summary>
    public string ActivationCode { get; }

    /// <summary>Answers to the template's fields.</summary>
    public IReadOnlyDictionary<string, string> Answers { get; }

    internal byte[] Reg2 { get; }

    internal byte[] Ssk1 { get; }

    internal byte[] PrkR { get; }

    internal ECDiffieHellmanPublicKey ClientEphemeral { get; }

    /// <inheritdoc/>
    public void Dispose()
    {
        Trk1Crypto.Zero(Ssk1, PrkR);
        ClientEphemeral.Dispose();
    }
}

/// <summary>What the server decided for a registration (REG3's payload, except SSK2 which it draws itself).</summary>
/// <param name="UserIdCode">HMAC-SHA256(K_uid, canonical user name), 32 bytes.</param>
/// <param name="TokenHandle">Random 16-byte handle, the only identifier used later.</param>
/// <param name="AccessPath">Access-control path (≤ 512 bytes UTF-8).</param>
/// <param name="SskNotAfter">When the SSK expires.</param>
/// <param name="PolicyVersion">The user's policy version now.</param>
public sealed record RegistrationGrant(byte[] UserIdCode, byte[] TokenHandle, string AccessPath, DateTimeOffset SskNotAfter, uint PolicyVersion);

/// <summary>Server state after REG3: the SSK (not yet confirmed) and the transcript through REG3. Dispose zeroes the SSK.</summary>
public sealed class RegistrationPending : IDisposable
{
    private readonly Transcript _transcript;

    internal RegistrationPending(byte[] sid, Trk1Suite suite, RegistrationGrant grant, byte[] ssk, Transcript transcript, byte[] th3, byte[] message, DateTimeOffset expiresAt)
    {
        Sid = sid;
        Suite = suite;
        Grant = grant;
        Ssk = ssk;
        _transcript = transcript;
        Th3 = th3;
        Message = message;
        ExpiresAt = expiresAt;
    }

    /// <summary>The session identifier.</summary>
    public byte[] Sid { get; }

    /// <summary>The suite.</summary>
    public Trk1Suite Suite { get; }

    /// <summary>What REG3 granted.</summary>
    public RegistrationGrant Grant { get; }

    /// <summary>The shared secret key (to be wrapped and stored only after REG4 verifies).</summary>
    public byte[] Ssk { get; }

    /// <summary>REG3 as sent.</summary>
    public byte[] Message { get; }

    /// <summary>How long the server waits for REG4.</summary>
    public DateTimeOffset ExpiresAt { get; }

    internal byte[] Th3 { get; }

    internal Transcript Transcript => _transcript;

    /// <inheritdoc/>
    public void Dispose()
    {
        Trk1Crypto.Zero(Ssk);
        _transcript.Dispose();
    }
}

/// <summary>The server's side of registration (spec §2.2): REG1, open REG2, REG3, check REG4 and answer REG5.</summary>
public static class RegistrationServer
{
    /// <summary>Most bytes a REG2 may have (checked before the RSA or ECDH operation).</summary>
    public const int MaxRequestLength = Trk1Limits.HeaderLength + Trk1Limits.RsaCiphertextLength + Trk1Limits.PointLength + 64
        + Trk1Limits.TokenSerialLength + 2 + Trk1Limits.MaxUsernameLength + 2 + Trk1Limits.MaxActivationCodeLength + 2 + Trk1Limits.MaxAnswersLength + Trk1Limits.TagLength;

    /// <summary>How long the server waits for REG4 after REG3.</summary>
    public static readonly TimeSpan FinishLifetime = TimeSpan.FromSeconds(60);

    /// <summary>REG1: Ns(32) | expires_at(8) | n_certs(1) | lp(C_S) [| lp(intermediates)] | lp(template).</summary>
    public static RegistrationHello CreateHello(Trk1ServerKey key, RegistrationTemplate template, DateTimeOffset now, ITrk1Random random)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(template);
        ArgumentNullException.ThrowIfNull(random);
        var sid = random.Bytes(Trk1Limits.SidLength);
        var ns = random.Bytes(32);
        var expires = now + Trk1Limits.RegistrationNonceLifetime;
        var w = new MessageWriter().Raw(ns).U64(expires.ToUnixTimeMilliseconds()).U8(1 + key.Intermediates.Count).Lp(key.Certificate.RawData);
        foreach (var der in key.Intermediates)
        {
            w.Lp(der);
        }

        w.Lp(template.ToJson());
        var message = w.Finish(Trk1MessageType.RegHello, key.Suite, Trk1Mode.None, sid);
        return new RegistrationHello(sid, key.Suite, message, expires, template);
    }

    /// <summary>
    /// Opens REG2 (S2, S3; S1 — sid known and consumed — is the caller's cache). Size limits are checked before the
    /// OAEP decryption or point import. Every failure is a <see cref="Trk1Exception"/>; the caller answers with the
    /// generic error only.
    /// </summary>
    public static RegistrationRequest OpenRequest(RegistrationHello hello, Trk1ServerKey key, byte[] reg2, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(hello);
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(reg2);
        if (reg2.Length > MaxRequestLength)
        {
            throw new Trk1Exception(Trk1Failure.Malformed, "REG2 too long");
        }

        var header = Trk1Header.Parse(reg2, Trk1MessageType.RegRequest);
        if (header.Suite != hello.Suite || header.Flags != Trk1Mode.None || !header.Sid.Span.SequenceEqual(hello.Sid) || key.Suite != hello.Suite)
        {
            throw new Trk1Exception(Trk1Failure.BadHeader, "REG2 header does not match REG1");
        }

        if (now >= hello.ExpiresAt)
        {
            throw new Trk1Exception(Trk1Failure.Expired, "REG2 after the nonce expired");
        }

        bool isR = hello.Suite == Trk1Suite.R;
        int clear = (isR ? Trk1Limits.RsaCiphertextLength : 0) + Trk1Limits.PointLength;
        int minPayload = (isR ? 0 : 64) + Trk1Limits.TokenSerialLength + 2 + 1 + 2 + 2;
        if (header.BodyLength < clear + minPayload + Trk1Limits.TagLength)
        {
            throw new Trk1Exception(Trk1Failure.Malformed, "REG2 too short");
        }

        var body = reg2.AsSpan(Trk1Limits.HeaderLength);
        using var transcript = Transcript.ForRegistration().Append(hello.Message);
        var th1 = transcript.Current();
        var eCBytes = body.Slice(isR ? Trk1Limits.RsaCiphertextLength : 0, Trk1Limits.PointLength);
        var eC = Trk1Crypto.ImportPoint(eCBytes);
        byte[]? ssk1 = null;
        byte[]? prkR = null;
        byte[]? payload = null;
        byte[]? aead = null;
        try
        {
            if (isR)
            {
                ssk1 = DecryptKeyTransport(key, body[..Trk1Limits.RsaCiphertextLength], th1);
                prkR = KeySchedule.RegistrationPrk(ssk1, th1);
            }
            else
            {
                var es = Trk1Crypto.Agree(key.Ecdh ?? throw new Trk1Exception(Trk1Failure.BadHeader, "no ECDH key"), eC);
                prkR = KeySchedule.RegistrationPrk(es, th1);
                Trk1Crypto.Zero(es);
            }

            int preLength = Trk1Limits.HeaderLength + clear;
            transcript.Append(reg2.AsSpan(0, preLength));
            var th2Pre = transcript.Current();
            aead = KeySchedule.RegistrationClientKey(prkR, th2Pre);
            payload = Trk1Crypto.Open(aead.AsSpan(0, 32), aead.AsSpan(32), reg2.AsSpan(preLength), Trk1Crypto.Concat(reg2[..Trk1Limits.HeaderLength], th2Pre));
            var r = new FieldReader(payload);
            if (!isR)
            {
                ssk1 = r.Take(32).ToArray();
                r.Take(32); // Nc: bound through the transcript and the AEAD.
            }

            var serial = r.Take(Trk1Limits.TokenSerialLength).ToArray();
            string username = Utf8(r.Lp(Trk1Limits.MaxUsernameLength, 1));
            string code = Utf8(r.Lp(Trk1Limits.MaxActivationCodeLength));
            var answers = hello.Template.ReadAnswers(r.Lp(Trk1Limits.MaxAnswersLength));
            r.End();
            var request = new RegistrationRequest(hello, reg2, ssk1!, prkR, eC, serial, username, code, answers);
            ssk1 = null;
            prkR = null;
            return request;
        }
        catch
        {
            eC.Dispose();
            throw;
        }
        finally
        {
            Trk1Crypto.Zero(ssk1, prkR, payload, aead);
        }
    }

    private static byte[] DecryptKeyTransport(Trk1ServerKey key, ReadOnlySpan<byte> kt, ReadOnlySpan<byte> th1)
    {
        byte[] plain;
        try
        {
            plain = (key.Rsa ?? throw new Trk1Exception(Trk1Failure.BadHeader, "no RSA key")).Decrypt(kt.ToArray(), RSAEncryptionPadding.OaepSHA256);
        }
        catch (CryptographicException)
        {
            // The OAEP failure text ("oaep decoding error") never leaves this method (W12).
            throw new Trk1Exception(Trk1Failure.KeyTransport, "key transport does not decrypt");
        }

        try
        {
            if (plain.Length != 96 || !Trk1Crypto.FixedTimeEquals(plain.AsSpan(64, 32), th1))
            {
                throw new Trk1Exception(Trk1Failure.KeyTransport, "key transport is for another REG1");
            }

            return plain[..32];
        }
        finally
        {
            Trk1Crypto.Zero(plain);
        }
    }

    /// <summary>
    /// REG3: eS | AEAD(Label(PRK3, "reg s2c", TH3pre), user_id_code | SSK2 | token_handle | lp(access_path) |
    /// ssk_not_after | policy_version). Computes SSK from SSK1, SSK2 and ee.
    /// </summary>
    public static RegistrationPending CreateResponse(RegistrationRequest request, RegistrationGrant grant, DateTimeOffset now, ITrk1Random random)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(grant);
        ArgumentNullException.ThrowIfNull(random);
        var accessPath = Encoding.UTF8.GetBytes(grant.AccessPath);
        if (grant.UserIdCode.Length != 32 || grant.TokenHandle.Length != Trk1Limits.TokenHandleLength || accessPath.Length > Trk1Limits.MaxAccessPathLength)
        {
            throw new ArgumentException("grant fields out of range", nameof(grant));
        }

        var hello = request.Hello;
        using var eS = Trk1Crypto.CreateEphemeral(random);
        var ssk2 = random.Bytes(32);
        var ee = Trk1Crypto.Agree(eS, request.ClientEphemeral);
        var prk3 = KeySchedule.RegistrationPrk3(ee, request.PrkR);
        var payload = new MessageWriter().Raw(grant.UserIdCode).Raw(ssk2).Raw(grant.TokenHandle).Lp(accessPath)
            .U64(grant.SskNotAfter.ToUnixTimeMilliseconds()).U32(grant.PolicyVersion).Body();
        byte[]? aead = null;
        var transcript = Transcript.ForRegistration().Append(hello.Message).Append(request.Reg2);
        try
        {
            int bodyLength = Trk1Limits.PointLength + payload.Length + Trk1Limits.TagLength;
            var pre = new MessageWriter().Raw(Trk1Crypto.EncodePoint(eS)).Finish(Trk1MessageType.RegResponse, hello.Suite, Trk1Mode.None, hello.Sid, bodyLength);
            var th3Pre = transcript.Append(pre).Current();
            aead = KeySchedule.RegistrationServerKey(prk3, th3Pre);
            var sealedPayload = Trk1Crypto.Seal(aead.AsSpan(0, 32), aead.AsSpan(32), payload, Trk1Crypto.Concat(pre[..Trk1Limits.HeaderLength], th3Pre));
            var message = Trk1Crypto.Concat(pre, sealedPayload);
            var th3 = transcript.Append(sealedPayload).Current();
            var ssk = KeySchedule.Ssk(request.Ssk1, ssk2, ee, th3);
            return new RegistrationPending(hello.Sid, hello.Suite, grant, ssk, transcript, th3, message, now + FinishLifetime);
        }
        catch
        {
            transcript.Dispose();
            throw;
        }
        finally
        {
            Trk1Crypto.Zero(ssk2, ee, prk3, payload, aead);
        }
    }

    /// <summary>
    /// S6: checks REG4's fin_c in constant time (the caller stores the SSK only when this returns) and returns REG5
    /// with fin_s over TH4.
    /// </summary>
    public static byte[] Finish(RegistrationPending pending, byte[] reg4, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(pending);
        ArgumentNullException.ThrowIfNull(reg4);
        if (reg4.Length != Trk1Limits.HeaderLength + 32)
        {
            throw new Trk1Exception(Trk1Failure.Malformed, "REG4 has the wrong length");
        }

        var header = Trk1Header.Parse(reg4, Trk1MessageType.RegFinished);
        if (header.Suite != pending.Suite || header.Flags != Trk1Mode.None || !header.Sid.Span.SequenceEqual(pending.Sid))
        {
            throw new Trk1Exception(Trk1Failure.BadHeader, "REG4 header does not match");
        }

        if (now >= pending.ExpiresAt)
        {
            throw new Trk1Exception(Trk1Failure.Expired, "REG4 too late");
        }

        var expected = KeySchedule.FinishedClient(pending.Ssk, pending.Th3);
        if (!Trk1Crypto.FixedTimeEquals(expected, reg4.AsSpan(Trk1Limits.HeaderLength)))
        {
            throw new Trk1Exception(Trk1Failure.Authentication, "fin_c does not verify");
        }

        var th4 = pending.Transcript.Append(reg4).Current();
        var finS = KeySchedule.FinishedServer(pending.Ssk, th4);
        return new MessageWriter().Raw(finS).Finish(Trk1MessageType.RegAck, pending.Suite, Trk1Mode.None, pending.Sid);
    }

    private static string Utf8(ReadOnlySpan<byte> bytes)
    {
        try
        {
            return new UTF8Encoding(false, true).GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            throw new Trk1Exception(Trk1Failure.Malformed, "text is not UTF-8");
        }
    }
}
