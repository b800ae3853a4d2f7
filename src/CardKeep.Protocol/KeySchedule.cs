namespace CardKeep.Protocol;

/// <summary>
/// Every key derivation of TRK1 in one place (spec §2.2–§2.4), so the known-answer tests pin them. Inputs are the
/// exact byte strings the spec names; outputs are fresh arrays the caller zeroes.
/// </summary>
public static class KeySchedule
{
    /// <summary>Length of the one-shot registration AEAD material: a 32-byte key followed by a 12-byte nonce.</summary>
    public const int OneShotLength = 32 + Trk1Crypto.NonceLength;

    /// <summary>REG2 suite R: <c>PRK_r = Extract(ikm = SSK1, salt = TH1)</c>; suite E: <c>Extract(ikm = es, salt = TH1)</c>.</summary>
    public static byte[] RegistrationPrk(ReadOnlySpan<byte> ssk1OrEs, ReadOnlySpan<byte> th1) => Trk1Crypto.Extract(ssk1OrEs, th1);

    /// <summary>REG2 AEAD key ‖ nonce: <c>Label(PRK_r, "reg c2s", TH2pre, 44)</c>.</summary>
    public static byte[] RegistrationClientKey(ReadOnlySpan<byte> prkR, ReadOnlySpan<byte> th2Pre) => Trk1Crypto.Label(prkR, "reg c2s", th2Pre, OneShotLength);

    /// <summary>REG3: <c>PRK3 = Extract(ikm = ee, salt = PRK_r)</c>.</summary>
    public static byte[] RegistrationPrk3(ReadOnlySpan<byte> ee, ReadOnlySpan<byte> prkR) => Trk1Crypto.Extract(ee, prkR);

    /// <summary>REG3 AEAD key ‖ nonce: <c>Label(PRK3, "reg s2c", TH3pre, 44)</c>.</summary>
    public static byte[] RegistrationServerKey(ReadOnlySpan<byte> prk3, ReadOnlySpan<byte> th3Pre) => Trk1Crypto.Label(prk3, "reg s2c", th3Pre, OneShotLength);

    /// <summary><c>SSK = Label(Extract(ikm = SSK1 ‖ SSK2 ‖ ee, salt = TH3), "ssk", "", 32)</c>.</summary>
    public static byte[] Ssk(ReadOnlySpan<byte> ssk1, ReadOnlySpan<byte> ssk2, ReadOnlySpan<byte> ee, ReadOnlySpan<byte> th3)
    {
        var ikm = Trk1Crypto.Concat(ssk1.ToArray(), ssk2.ToArray(), ee.ToArray());
        var prk = Trk1Crypto.Extract(ikm, th3);
        try
        {
            return Trk1Crypto.Label(prk, "ssk", [], 32);
        }
        finally
        {
            Trk1Crypto.Zero(ikm, prk);
        }
    }

    /// <summary>REG4: <c>fin_c = HMAC(Label(SSK, "reg fin c", "", 32), TH3)</c>.</summary>
    public static byte[] FinishedClient(ReadOnlySpan<byte> ssk, ReadOnlySpan<byte> th3) => MacWithLabel(ssk, "reg fin c", th3);

    /// <summary>REG5: <c>fin_s = HMAC(Label(SSK, "reg fin s", "", 32), TH4)</c>.</summary>
    public static byte[] FinishedServer(ReadOnlySpan<byte> ssk, ReadOnlySpan<byte> th4) => MacWithLabel(ssk, "reg fin s", th4);

    /// <summary>Sessions: <c>PSK = Label(SSK, "ses psk", server_id, 32)</c> (SSK is never used directly).</summary>
    public static byte[] SessionPsk(ReadOnlySpan<byte> ssk, ReadOnlySpan<byte> serverId) => Trk1Crypto.Label(ssk, "ses psk", serverId, 32);

    /// <summary>Sessions: <c>PRK = Extract(ikm = ee, salt = PSK)</c>; ee is 32 zero bytes in PSK_ONLY mode.</summary>
    public static byte[] SessionPrk(ReadOnlySpan<byte> ee, ReadOnlySpan<byte> psk) => Trk1Crypto.Extract(ee, psk);

    /// <summary>Sessions: <c>K_c = Label(PRK, "c auth", TH2pre, 32)</c>.</summary>
    public static byte[] ClientAuthKey(ReadOnlySpan<byte> prk, ReadOnlySpan<byte> th2Pre) => Trk1Crypto.Label(prk, "c auth", th2Pre, 32);

    /// <summary>Sessions: <c>K_s = Label(PRK, "s auth", TH2, 32)</c>.</summary>
    public static byte[] ServerAuthKey(ReadOnlySpan<byte> prk, ReadOnlySpan<byte> th2) => Trk1Crypto.Label(prk, "s auth", th2, 32);

    /// <summary>Sessions: <c>K_h = Label(Extract(ikm = ee, salt = TH1), "handle", "", 32)</c>.</summary>
    public static byte[] HandleKey(ReadOnlySpan<byte> ee, ReadOnlySpan<byte> th1)
    {
        var prk = Trk1Crypto.Extract(ee, th1);
        try
        {
            return Trk1Crypto.Label(prk, "handle", [], 32);
        }
        finally
        {
            Trk1Crypto.Zero(prk);
        }
    }

    /// <summary>SES: <c>ms = Label(PRK, "ses", TH3, 32)</c> and the per-direction record keys and IVs.</summary>
    public static SessionKeys SessionKeys(ReadOnlySpan<byte> prk, ReadOnlySpan<byte> th3)
    {
        var ms = Trk1Crypto.Label(prk, "ses", th3, 32);
        try
        {
            return new SessionKeys(
                Trk1Crypto.Label(ms, "c2s key", [], 32),
                Trk1Crypto.Label(ms, "c2s iv", [], Trk1Crypto.NonceLength),
                Trk1Crypto.Label(ms, "s2c key", [], 32),
                Trk1Crypto.Label(ms, "s2c iv", [], Trk1Crypto.NonceLength),
                th3.ToArray());
        }
        finally
        {
            Trk1Crypto.Zero(ms);
        }
    }

    private static byte[] MacWithLabel(ReadOnlySpan<byte> ssk, string label, ReadOnlySpan<byte> transcriptHash)
    {
        var key = Trk1Crypto.Label(ssk, label, [], 32);
        try
        {
            return Trk1Crypto.Hmac(key, transcriptHash);
        }
        finally
        {
            Trk1Crypto.Zero(key);
        }
    }
}

/// <summary>The record keys of an established session and TH3 (bound into every record's associated data).</summary>
public sealed class SessionKeys : IDisposable
{
    internal SessionKeys(byte[] clientToServerKey, byte[] clientToServerIv, byte[] serverToClientKey, byte[] serverToClientIv, byte[] th3)
    {
        ClientToServerKey = clientToServerKey;
        ClientToServerIv = clientToServerIv;
        ServerToClientKey = serverToClientKey;
        ServerToClientIv = serverToClientIv;
        Th3 = th3;
    }

    /// <summary>k_c2s.</summary>
    public byte[] ClientToServerKey { get; }

    /// <summary>iv_c2s.</summary>
    public byte[] ClientToServerIv { get; }

    /// <summary>k_s2c.</summary>
    public byte[] ServerToClientKey { get; }

    /// <summary>iv_s2c.</summary>
    public byte[] ServerToClientIv { get; }

    /// <summary>TH3.</summary>
    public byte[] Th3 { get; }

    /// <inheritdoc/>
    public void Dispose() => Trk1Crypto.Zero(ClientToServerKey, ClientToServerIv, ServerToClientKey, ServerToClientIv);
}
