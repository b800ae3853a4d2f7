namespace CardKeep.Protocol;

/// <summary>Why a TRK1 message was refused. Logged on the side that refused it; never sent to the peer.</summary>
public enum Trk1Failure
{
    /// <summary>Length, count or layout out of range (checked before any public-key operation).</summary>
    Malformed,

    /// <summary>Wrong version, type, suite or flags in the header.</summary>
    BadHeader,

    /// <summary>Unknown, expired or already used session identifier.</summary>
    UnknownSession,

    /// <summary>Expired or out-of-window timestamp.</summary>
    Expired,

    /// <summary>The server certificate chain or key failed the client's checks.</summary>
    BadCertificate,

    /// <summary>The template asked for something not whitelisted.</summary>
    BadTemplate,

    /// <summary>Key transport failed (OAEP decoding, point import, inner transcript mismatch).</summary>
    KeyTransport,

    /// <summary>An AEAD tag or a MAC did not verify.</summary>
    Authentication,

    /// <summary>The user name, activation code or token was not accepted.</summary>
    NotAuthorized,

    /// <summary>Too many requests.</summary>
    RateLimited,

    /// <summary>Configuration rejected (schema, rollback, expiry, unknown instruction).</summary>
    BadConfiguration,

    /// <summary>The peer answered with the generic TRK1 error.</summary>
    PeerError,

    /// <summary>The server id is not the one this token registered with.</summary>
    UnknownServer,
}

/// <summary>
/// A refused TRK1 message. The message text names only the <see cref="Failure"/> kind and a fixed description; it
/// carries no secret and no exception text from the cryptographic layer (W12). The peer only ever sees
/// <see cref="Trk1Wire.ErrorMessage"/>.
/// </summary>
public sealed class Trk1Exception : Exception
{
    /// <summary>Creates the exception.</summary>
    public Trk1Exception()
        : this(Trk1Failure.Malformed, "malformed message")
    {
    }

    /// <summary>Creates the exception.</summary>
    public Trk1Exception(string message)
        : this(Trk1Failure.Malformed, message)
    {
    }

    /// <summary>Creates the exception.</summary>
    public Trk1Exception(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception with a failure kind and a fixed description (no secrets).</summary>
    public Trk1Exception(Trk1Failure failure, string detail)
        : base($"TRK1 {failure}: {detail}")
    {
        Failure = failure;
        Detail = detail;
    }

    /// <summary>The kind of failure.</summary>
    public Trk1Failure Failure { get; }

    /// <summary>A fixed, secret-free description.</summary>
    public string Detail { get; } = string.Empty;
}
