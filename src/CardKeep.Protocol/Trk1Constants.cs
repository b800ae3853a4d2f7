namespace CardKeep.Protocol;

/// <summary>Key-transport suite of a TRK1 exchange (header byte 3). The values are the ASCII letters.</summary>
public enum Trk1Suite : byte
{
    /// <summary>No suite (only in the generic error message).</summary>
    None = 0,

    /// <summary>Suite E: ECDH-ES with the server's static P-256 key.</summary>
    E = (byte)'E',

    /// <summary>Suite H: P-256 + ML-KEM-768 hybrid; reserved, refused (ML-KEM is not available with OpenSSL 3.0).</summary>
    H = (byte)'H',

    /// <summary>Suite R: RSA-3072 OAEP-SHA256 key transport.</summary>
    R = (byte)'R',
}

/// <summary>TRK1 message types (header byte 2).</summary>
public enum Trk1MessageType : byte
{
    /// <summary>REG1 server → client: certificate chain, template and server nonce.</summary>
    RegHello = 0x11,

    /// <summary>REG2 client → server: SSK1, user name and activation code under the server's key.</summary>
    RegRequest = 0x12,

    /// <summary>REG3 server → client: SSK2, user identification code, token handle and access path.</summary>
    RegResponse = 0x13,

    /// <summary>REG4 client → server: key confirmation fin_c.</summary>
    RegFinished = 0x14,

    /// <summary>REG5 server → client: key confirmation fin_s.</summary>
    RegAck = 0x15,

    /// <summary>S1 server → client: R1, ephemeral key, server id.</summary>
    Challenge = 0x21,

    /// <summary>S2 client → server: R2, ephemeral key, hidden token handle, mac_c.</summary>
    Response = 0x22,

    /// <summary>S3 server → client: mac_s.</summary>
    ServerFinished = 0x23,

    /// <summary>S4 client → server: user and system information (record).</summary>
    UserInfo = 0x31,

    /// <summary>S5 server → client: configuration (record).</summary>
    Config = 0x32,

    /// <summary>Client → server: a request for an application server (record; CardKeep addition).</summary>
    GatewayRequest = 0x41,

    /// <summary>Server → client: the application server's answer (record; CardKeep addition).</summary>
    GatewayResponse = 0x42,

    /// <summary>The one opaque error for every protocol failure.</summary>
    Error = 0xFF,
}

/// <summary>Header flags byte (header byte 4): the session mode.</summary>
[Flags]
public enum Trk1Mode : byte
{
    /// <summary>No flag.</summary>
    None = 0,

    /// <summary>Session without the ephemeral exchange: no forward secrecy (ee = 32 zero bytes).</summary>
    PskOnly = 0x01,

    /// <summary>KCI-hardened mode with a server signature; reserved, refused by this version.</summary>
    KciHardened = 0x02,
}

/// <summary>Sizes and limits of TRK1 version 1. Every limit is checked before any public-key operation.</summary>
public static class Trk1Limits
{
    /// <summary>The protocol version this library speaks.</summary>
    public const byte Version = 1;

    /// <summary>Header length.</summary>
    public const int HeaderLength = 24;

    /// <summary>Session identifier length.</summary>
    public const int SidLength = 16;

    /// <summary>Uncompressed P-256 point length.</summary>
    public const int PointLength = 65;

    /// <summary>AES-GCM tag length.</summary>
    public const int TagLength = 16;

    /// <summary>RSA-3072 OAEP ciphertext length.</summary>
    public const int RsaCiphertextLength = 384;

    /// <summary>Token handle length.</summary>
    public const int TokenHandleLength = 16;

    /// <summary>Token serial length.</summary>
    public const int TokenSerialLength = 16;

    /// <summary>Largest certificate in REG1.</summary>
    public const int MaxCertificateLength = 4096;

    /// <summary>Most certificates in REG1 (leaf + intermediates).</summary>
    public const int MaxCertificates = 3;

    /// <summary>Largest registration template (UTF-8 JSON).</summary>
    public const int MaxTemplateLength = 2048;

    /// <summary>Largest user name (NFC UTF-8).</summary>
    public const int MaxUsernameLength = 64;

    /// <summary>Largest activation code.</summary>
    public const int MaxActivationCodeLength = 32;

    /// <summary>Largest template answer document (UTF-8 JSON).</summary>
    public const int MaxAnswersLength = 1024;

    /// <summary>Largest access path.</summary>
    public const int MaxAccessPathLength = 512;

    /// <summary>Largest UserInfo JSON (S4).</summary>
    public const int MaxUserInfoLength = 4 * 1024;

    /// <summary>Largest Config JSON (S5).</summary>
    public const int MaxConfigLength = 16 * 1024;

    /// <summary>Largest gateway request or response payload.</summary>
    public const int MaxGatewayPayloadLength = 256 * 1024;

    /// <summary>Largest registration or session message of any kind (REG1 with three certificates is the largest).</summary>
    public const int MaxHandshakeMessageLength = HeaderLength + 32 + 8 + 1 + (MaxCertificates * (2 + MaxCertificateLength)) + 2 + MaxTemplateLength;

    /// <summary>Largest record message (gateway payload + sequence number + tag).</summary>
    public const int MaxRecordMessageLength = HeaderLength + 8 + MaxGatewayPayloadLength + TagLength;

    /// <summary>How long REG1's nonce may live (and the most a client accepts).</summary>
    public static readonly TimeSpan RegistrationNonceLifetime = TimeSpan.FromMinutes(10);

    /// <summary>How long S1's challenge lives.</summary>
    public static readonly TimeSpan ChallengeLifetime = TimeSpan.FromSeconds(60);

    /// <summary>Clock skew allowed on coarse expiry checks.</summary>
    public static readonly TimeSpan ClockSkew = TimeSpan.FromMinutes(2);
}
