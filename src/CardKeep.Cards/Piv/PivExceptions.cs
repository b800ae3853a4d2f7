using CardKeep.Cards.Iso7816;

namespace CardKeep.Cards.Piv;

/// <summary>
/// A PIN or PUK was refused: wrong value (63Cx, 6300) or blocked (6983). Carries the tries left when the card said.
/// </summary>
public class PivPinException : CardStatusException
{
    /// <summary>Creates the exception.</summary>
    public PivPinException() { }

    /// <summary>Creates the exception.</summary>
    public PivPinException(string message) : base(message) { }

    /// <summary>Creates the exception.</summary>
    public PivPinException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>Creates the exception for <paramref name="operation"/> (e.g. "PIN verification") and the card's status word.</summary>
    public PivPinException(string operation, StatusWord statusWord) : base(operation, statusWord)
    {
        RetriesLeft = statusWord.RetriesLeft;
        Blocked = statusWord == StatusWord.AuthenticationMethodBlocked || RetriesLeft == 0;
    }

    /// <summary>Tries left before the PIN/PUK blocks (0 when blocked), or null when the card did not say (6300).</summary>
    public int? RetriesLeft { get; }

    /// <summary>True when the PIN/PUK is blocked.</summary>
    public bool Blocked { get; }
}

/// <summary>
/// Management-key authentication failed: the card refused the key (usually 6982), or the card's answer to the
/// host challenge was wrong (then <see cref="CardStatusException.StatusWord"/> is 0000: the card does not hold the same key).
/// </summary>
public class PivAuthenticationException : CardStatusException
{
    /// <summary>Creates the exception.</summary>
    public PivAuthenticationException() { }

    /// <summary>Creates the exception.</summary>
    public PivAuthenticationException(string message) : base(message) { }

    /// <summary>Creates the exception.</summary>
    public PivAuthenticationException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>Creates the exception for the card's status word.</summary>
    public PivAuthenticationException(StatusWord statusWord) : base("management key authentication", statusWord) { }

    /// <summary>Creates the exception for an operation and the card's status word.</summary>
    public PivAuthenticationException(string operation, StatusWord statusWord) : base(operation, statusWord) { }
}

/// <summary>
/// Input that a card-side PIV operation cannot accept (wrong length, value out of range, point not on the curve).
/// An emulator answers with <see cref="StatusWord"/> (6A80 unless stated otherwise).
/// </summary>
public class PivInvalidInputException : CardException
{
    /// <summary>Creates the exception.</summary>
    public PivInvalidInputException() { }

    /// <summary>Creates the exception with status 6A80.</summary>
    public PivInvalidInputException(string message) : base(message) { }

    /// <summary>Creates the exception with status 6A80.</summary>
    public PivInvalidInputException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>Creates the exception with the status word a card answers.</summary>
    public PivInvalidInputException(string message, StatusWord statusWord) : base(message)
    {
        StatusWord = statusWord;
    }

    /// <summary>The status word a card answers for this input.</summary>
    public StatusWord StatusWord { get; } = StatusWord.IncorrectDataField;
}
