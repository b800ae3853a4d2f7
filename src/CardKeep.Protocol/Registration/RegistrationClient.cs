using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace CardKeep.Protocol.Registration;

/// <summary>What the client learned from a checked REG1.</summary>
/// <param name="Suite">The suite.</param>
/// <param name="ServerId">SHA-256 of the server certificate's SPKI.</param>
/// <param name="ServerSubject">The server certificate's subject.</param>
/// <param name="Template">The template (whitelisted fields only).</param>
public sealed record RegistrationHelloInfo(Trk1Suite Suite, byte[] ServerId, string ServerSubject, RegistrationTemplate Template);

/// <summary>What the user sends in REG2.</summary>
/// <param name="TokenSerial">The token's 16-byte serial.</param>
/// <param name="Username">User name (must be canonical, see <see cref="Trk1Names"/>).</param>
/// <param name="ActivationCode">The one-time activation code from the administrator.</param>
/// <param name="Answers">Values for template fields (only the fields the template asks for are sent).</param>
public sealed record RegistrationIdentity(byte[] TokenSerial, string Username, string ActivationCode, IReadOnlyDictionary<string, string> Answers);

/// <summary>A confirmed registration: everything the token stores. Dispose zeroes the SSK.</summary>
public sealed class RegistrationResult : IDisposable
{
    internal RegistrationResult(Trk1Suite suite, byte[] serverId, byte[] ssk, byte[] userIdCode, byte[] tokenHandle, string accessPath, DateTimeOffset sskNotAfter, uint policyVersion)
    {
        Suite = suite;
        ServerId = serverId;
        Ssk = ssk;
        UserIdCode = userIdCode;
        TokenHandle = tokenHandle;
        AccessPath = accessPath;
        SskNotAfter = sskNotAfter;
        PolicyVersion = policyVersion;
    }

    /// <summary>The suite registered with.</summary>
    public Trk1Suite Suite { get; }

    /// <summary>server_id.</summary>
    public byte[] ServerId { get; }

    /// <summary>The shared secret key.</summary>
    public byte[] Ssk { get; }

    /// <summary>user_id_code.</summary>
    public byte[] UserIdCode { get; }

    /// <summary>token_handle.</summary>
    public byte[] TokenHandle { get; }

    /// <summary>Access-control path.</summary>
    public string AccessPath { get; }

    /// <summary>When the SSK expires.</summary>
    public DateTimeOffset SskNotAfter { get; }

    /// <summary>Policy version at registration.</summary>
    public uint PolicyVersion { get; }

    /// <inheritdoc/>
    public void Dispose() => Trk1Crypto.Zero(Ssk);
}

/// <summary>
/// The client (token) side of registration, one object per attempt: C1–C5 on REG1, REG2, C6 on REG3 → REG4, C7 on
/// REG5. The SSK is handed out only after fin_s verifies.
/// </summary>
public sealed class RegistrationClient : IDisposable
{
    private readonly byte[] _anchor;
    private readonly TimeProvider _clock;
    private readonly ITrk1Random _random;
    private Transcript? _transcript;
    private X509Certificate2? _serverCertificate;
    private RegistrationHelloInfo? _hello;
    private byte[] _sid = [];
    private ECDiffieHellman? _eC;
    private byte[]? _ssk1;
    private byte[]? _prkR;
    private byte[]? _ssk;
    private byte[]? _th3;
    private byte[]? _th4;
    private RegistrationResult? _pending;
    private int _step;

    /// <summary>Creates a client trusting only <paramref name="issuerCertificateDer"/> (Pi, embedded in the token).</summary>
    public RegistrationClient(byte[] issuerCertificateDer, TimeProvider clock, ITrk1Random random)
    {
        ArgumentNullException.ThrowIfNull(issuerCertificateDer);
        _anchor = issuerCertificateDer;
        _clock = clock ?? throw new ArgumentNullException(nameof(clock));
        _random = random ?? throw new ArgumentNullException(nameof(random));
    }

    /// <summary>C1–C5: limits, chain to Pi with id-trk-server, leaf key and usage, expires_at window, template whitelist.</summary>
    public RegistrationHelloInfo ProcessHello(byte[] reg1)
    {
        ArgumentNullException.ThrowIfNull(reg1);
        Step(0);
        if (reg1.Length > Trk1Limits.MaxHandshakeMessageLength)
        {
            throw new Trk1Exception(Trk1Failure.Malformed, "REG1 too long");
        }

        var header = Trk1Header.Parse(reg1, Trk1MessageType.RegHello);
        if (header.Suite is not (Trk1Suite.R or Trk1Suite.E) || header.Flags != Trk1Mode.None)
        {
            throw new Trk1Exception(Trk1Failure.BadHeader, "unsupported suite or flags");
        }

        var r = new FieldReader(reg1.AsSpan(Trk1Limits.HeaderLength));
        r.Take(32);
        var expires = DateTimeOffset.FromUnixTimeMilliseconds(Math.Clamp(r.U64(), 0, 253402300799999));
        int count = r.U8();
        if (count is < 1 or > Trk1Limits.MaxCertificates)
        {
            throw new Trk1Exception(Trk1Failure.Malformed, "certificate count out of range");
        }

        var leaf = r.Lp(Trk1Limits.MaxCertificateLength, 1).ToArray();
        var intermediates = new List<byte[]>();
        for (int i = 1; i < count; i++)
        {
            intermediates.Add(r.Lp(Trk1Limits.MaxCertificateLength, 1).ToArray());
        }

        var templateJson = r.Lp(Trk1Limits.MaxTemplateLength).ToArray();
        r.End();

        var now = _clock.GetUtcNow();
        if (expires <= now - Trk1Limits.ClockSkew || expires > now + Trk1Limits.RegistrationNonceLifetime + Trk1Limits.ClockSkew)
        {
            throw new Trk1Exception(Trk1Failure.Expired, "REG1 expires_at outside the accepted window");
        }

        var template = RegistrationTemplate.Parse(templateJson);
        _serverCertificate = Trk1Certificates.ValidateServerCertificate(leaf, intermediates, _anchor, header.Suite, now);
        _sid = header.Sid.ToArray();
        _transcript = Transcript.ForRegistration().Append(reg1);
        _hello = new RegistrationHelloInfo(header.Suite, Trk1Certificates.ServerId(_serverCertificate), _serverCertificate.Subject, template);
        _step = 1;
        return _hello;
    }

    /// <summary>REG2 for <paramref name="identity"/>.</summary>
    public byte[] CreateRequest(RegistrationIdentity identity)
    {
        ArgumentNullException.ThrowIfNull(identity);
        Step(1);
        var hello = _hello!;
        var username = Encoding.UTF8.GetBytes(identity.Username);
        var code = Encoding.UTF8.GetBytes(identity.ActivationCode);
        if (identity.TokenSerial.Length != Trk1Limits.TokenSerialLength || username.Length is 0 or > Trk1Limits.MaxUsernameLength || code.Length > Trk1Limits.MaxActivationCodeLength)
        {
            throw new ArgumentException("token serial, user name or activation code out of range", nameof(identity));
        }

        if (hello.Template.ActivationCodeRequired && code.Length == 0)
        {
            throw new ArgumentException("this server requires an activation code", nameof(identity));
        }

        bool isR = hello.Suite == Trk1Suite.R;
        var th1 = _transcript!.Current();
        _ssk1 = _random.Bytes(32);
        var nc = _random.Bytes(32);
        _eC = Trk1Crypto.CreateEphemeral(_random);
        byte[]? kt = null;
        byte[]? payload = null;
        byte[]? aead = null;
        try
        {
            if (isR)
            {
                using var rsa = _serverCertificate!.GetRSAPublicKey()!;
                var inner = Trk1Crypto.Concat(_ssk1, nc, th1);
                kt = rsa.Encrypt(inner, RSAEncryptionPadding.OaepSHA256);
                Trk1Crypto.Zero(inner);
                _prkR = KeySchedule.RegistrationPrk(_ssk1, th1);
            }
            else
            {
                using var serverKey = _serverCertificate!.GetECDiffieHellmanPublicKey()!;
                using var serverPublic = serverKey.PublicKey;
                var es = Trk1Crypto.Agree(_eC, serverPublic);
                _prkR = KeySchedule.RegistrationPrk(es, th1);
                Trk1Crypto.Zero(es);
            }

            var p = new MessageWriter();
            if (!isR)
            {
                p.Raw(_ssk1).Raw(nc);
            }

            payload = p.Raw(identity.TokenSerial).Lp(username).Lp(code).Lp(hello.Template.Answer(identity.Answers)).Body();
            int bodyLength = (isR ? Trk1Limits.RsaCiphertextLength : 0) + Trk1Limits.PointLength + payload.Length + Trk1Limits.TagLength;
            var pw = new MessageWriter();
            if (isR)
            {
                pw.Raw(kt);
            }

            var pre = pw.Raw(Trk1Crypto.EncodePoint(_eC)).Finish(Trk1MessageType.RegRequest, hello.Suite, Trk1Mode.None, _sid, bodyLength);
            var th2Pre = _transcript.Append(pre).Current();
            aead = KeySchedule.RegistrationClientKey(_prkR, th2Pre);
            var sealedPayload = Trk1Crypto.Seal(aead.AsSpan(0, 32), aead.AsSpan(32), payload, Trk1Crypto.Concat(pre[..Trk1Limits.HeaderLength], th2Pre));
            _transcript.Append(sealedPayload);
            _step = 2;
            return Trk1Crypto.Concat(pre, sealedPayload);
        }
        finally
        {
            Trk1Crypto.Zero(nc, payload, aead);
        }
    }

    /// <summary>C6: REG3's AEAD verifies (only the holder of the server key can derive PRK_r) and its fields are in range → REG4.</summary>
    public byte[] ProcessResponse(byte[] reg3)
    {
        ArgumentNullException.ThrowIfNull(reg3);
        Step(2);
        var hello = _hello!;
        const int payloadMin = 32 + 32 + Trk1Limits.TokenHandleLength + 2 + 8 + 4;
        if (reg3.Length > Trk1Limits.HeaderLength + Trk1Limits.PointLength + payloadMin + Trk1Limits.MaxAccessPathLength + Trk1Limits.TagLength)
        {
            throw new Trk1Exception(Trk1Failure.Malformed, "REG3 too long");
        }

        var header = Trk1Header.Parse(reg3, Trk1MessageType.RegResponse);
        if (header.Suite != hello.Suite || header.Flags != Trk1Mode.None || !header.Sid.Span.SequenceEqual(_sid))
        {
            throw new Trk1Exception(Trk1Failure.BadHeader, "REG3 header does not match");
        }

        if (header.BodyLength < Trk1Limits.PointLength + payloadMin + Trk1Limits.TagLength)
        {
            throw new Trk1Exception(Trk1Failure.Malformed, "REG3 too short");
        }

        int preLength = Trk1Limits.HeaderLength + Trk1Limits.PointLength;
        using var eS = Trk1Crypto.ImportPoint(reg3.AsSpan(Trk1Limits.HeaderLength, Trk1Limits.PointLength));
        var ee = Trk1Crypto.Agree(_eC!, eS);
        var prk3 = KeySchedule.RegistrationPrk3(ee, _prkR!);
        var th3Pre = _transcript!.Append(reg3.AsSpan(0, preLength)).Current();
        var aead = KeySchedule.RegistrationServerKey(prk3, th3Pre);
        byte[]? payload = null;
        byte[]? ssk2 = null;
        try
        {
            payload = Trk1Crypto.Open(aead.AsSpan(0, 32), aead.AsSpan(32), reg3.AsSpan(preLength), Trk1Crypto.Concat(reg3[..Trk1Limits.HeaderLength], th3Pre));
            var r = new FieldReader(payload);
            var userIdCode = r.Take(32).ToArray();
            ssk2 = r.Take(32).ToArray();
            var handle = r.Take(Trk1Limits.TokenHandleLength).ToArray();
            string accessPath = Encoding.UTF8.GetString(r.Lp(Trk1Limits.MaxAccessPathLength));
            long notAfter = r.U64();
            uint policyVersion = r.U32();
            r.End();
            var now = _clock.GetUtcNow();
            if (notAfter <= now.ToUnixTimeMilliseconds())
            {
                throw new Trk1Exception(Trk1Failure.Expired, "SSK would already be expired");
            }

            _th3 = _transcript.Append(reg3.AsSpan(preLength)).Current();
            _ssk = KeySchedule.Ssk(_ssk1!, ssk2, ee, _th3);
            var finC = KeySchedule.FinishedClient(_ssk, _th3);
            var reg4 = new MessageWriter().Raw(finC).Finish(Trk1MessageType.RegFinished, hello.Suite, Trk1Mode.None, _sid);
            _th4 = _transcript.Append(reg4).Current();
            _pending = new RegistrationResult(hello.Suite, hello.ServerId, (byte[])_ssk.Clone(), userIdCode, handle, accessPath,
                DateTimeOffset.FromUnixTimeMilliseconds(notAfter), policyVersion);
            _step = 3;
            return reg4;
        }
        finally
        {
            Trk1Crypto.Zero(ee, prk3, aead, payload, ssk2);
        }
    }

    /// <summary>C7: fin_s verifies; only then is the registration (with its SSK) handed out for storing in the token.</summary>
    public RegistrationResult ProcessAck(byte[] reg5)
    {
        ArgumentNullException.ThrowIfNull(reg5);
        Step(3);
        if (reg5.Length != Trk1Limits.HeaderLength + 32)
        {
            throw new Trk1Exception(Trk1Failure.Malformed, "REG5 has the wrong length");
        }

        var header = Trk1Header.Parse(reg5, Trk1MessageType.RegAck);
        if (header.Suite != _hello!.Suite || header.Flags != Trk1Mode.None || !header.Sid.Span.SequenceEqual(_sid))
        {
            throw new Trk1Exception(Trk1Failure.BadHeader, "REG5 header does not match");
        }

        var expected = KeySchedule.FinishedServer(_ssk!, _th4!);
        if (!Trk1Crypto.FixedTimeEquals(expected, reg5.AsSpan(Trk1Limits.HeaderLength)))
        {
            throw new Trk1Exception(Trk1Failure.Authentication, "fin_s does not verify");
        }

        var result = _pending!;
        _pending = null;
        _step = 4;
        return result;
    }

    private void Step(int expected)
    {
        if (_step != expected)
        {
            throw new InvalidOperationException("registration steps out of order");
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        Trk1Crypto.Zero(_ssk1, _prkR, _ssk);
        _eC?.Dispose();
        _transcript?.Dispose();
        _serverCertificate?.Dispose();
        _pending?.Dispose();
    }
}
