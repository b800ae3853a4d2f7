namespace CardKeep.Agent.Sessions;

/// <summary>
/// A login for <see cref="Account"/> (the caller's uid, or PAM_USER when root runs the PAM helper). The secret is the
/// card PIN or the host key store passphrase; the caller zeroes it after the call.
/// </summary>
public sealed record LoginRequest(UserAccount Account, string? Reader, string? Tty, string? RemoteHost, string? LogindSession);

/// <summary>A login that did not succeed; the message says why (never the secret).</summary>
public sealed class LoginFailedException : Exception
{
    public LoginFailedException() { }

    public LoginFailedException(string message) : base(message) { }

    public LoginFailedException(string message, Exception innerException) : base(message, innerException) { }
}
