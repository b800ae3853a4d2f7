namespace CardKeep.Server.Accounts;

/// <summary>A refusal the endpoints turn into a problem response (status, title without secrets, optional Retry-After).</summary>
public sealed class AccountException : Exception
{
    /// <summary>The generic sign-in failure title (unknown user, wrong secret and lockout all read the same).</summary>
    public const string SignInFailed = "sign-in failed";

    /// <summary>Creates the exception.</summary>
    public AccountException()
    {
    }

    /// <summary>Creates the exception.</summary>
    public AccountException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    public AccountException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception with an HTTP status.</summary>
    public AccountException(int status, string title, TimeSpan? retryAfter = null)
        : base(title)
    {
        Status = status;
        RetryAfter = retryAfter;
    }

    /// <summary>HTTP status.</summary>
    public int Status { get; } = 400;

    /// <summary>Retry-After, for a lockout.</summary>
    public TimeSpan? RetryAfter { get; }

    /// <summary>400 with a clear message.</summary>
    public static AccountException BadInput(string title) => new(400, title);

    /// <summary>The generic 401.</summary>
    public static AccountException Failed(TimeSpan? retryAfter = null) => new(401, SignInFailed, retryAfter);
}
