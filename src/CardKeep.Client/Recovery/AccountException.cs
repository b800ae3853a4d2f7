namespace CardKeep.Client.Recovery;

/// <summary>Why an account operation failed, so the command line can pick an exit code and a plain message.</summary>
public enum AccountFailure
{
    /// <summary>The server refused (wrong password, unknown account, used or wrong access key: it does not say which).</summary>
    Refused,

    /// <summary>Too many failures: the account or this source is locked for a while.</summary>
    Locked,

    /// <summary>The request was malformed or named something that does not exist (the server's 400/404/409).</summary>
    BadRequest,

    /// <summary>The server answered something this client does not understand, or an error status it did not explain.</summary>
    Server,

    /// <summary>The card's PIN was wrong or is blocked.</summary>
    WrongPin,

    /// <summary>The card cannot serve as an account card (no 9A key, no serial).</summary>
    CardUnusable,

    /// <summary>The escrowed backup could not be opened (wrong password, damaged, or for another user).</summary>
    Escrow,

    /// <summary>A local step (machine store, agent, card write) failed.</summary>
    Local,
}

/// <summary>
/// A failed account operation. The message is meant for the user and never contains a secret (password, answer,
/// access key, PIN, activation code): the client builds it from the server's error code and its own words.
/// </summary>
public sealed class AccountException : Exception
{
    public AccountException() : this(AccountFailure.Server, "the account operation failed") { }

    public AccountException(string message) : this(AccountFailure.Server, message) { }

    public AccountException(string message, Exception innerException) : this(AccountFailure.Server, message, innerException) { }

    public AccountException(AccountFailure failure, string message, Exception? innerException = null)
        : base(message, innerException) => Failure = failure;

    /// <summary>What kind of failure this is.</summary>
    public AccountFailure Failure { get; }

    /// <summary>When the server said how long a lockout lasts: the time it ends.</summary>
    public DateTimeOffset? LockedUntil { get; init; }
}
