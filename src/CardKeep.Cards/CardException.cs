namespace CardKeep.Cards;

/// <summary>Base of every error raised by the card layer. Messages never carry secrets.</summary>
public class CardException : Exception
{
    public CardException() { }

    public CardException(string message) : base(message) { }

    public CardException(string message, Exception innerException) : base(message, innerException) { }
}

/// <summary>Bytes that do not form a valid structure (APDU, TLV, …). Says what is wrong and at which offset.</summary>
public class CardFormatException : CardException
{
    public CardFormatException() { }

    public CardFormatException(string message) : base(message) { }

    public CardFormatException(string message, Exception innerException) : base(message, innerException) { }

    public CardFormatException(string what, int offset, string problem)
        : base($"{what}: {problem} (at byte offset {offset})")
    {
        Offset = offset;
    }

    /// <summary>Byte offset in the input where the problem was found, or -1 when not tied to a position.</summary>
    public int Offset { get; } = -1;
}

/// <summary>A card answered with a status word that the caller treats as failure.</summary>
public class CardStatusException : CardException
{
    public CardStatusException() { }

    public CardStatusException(string message) : base(message) { }

    public CardStatusException(string message, Exception innerException) : base(message, innerException) { }

    public CardStatusException(string operation, Iso7816.StatusWord statusWord)
        : base($"{operation} failed: {statusWord}")
    {
        StatusWord = statusWord;
    }

    public Iso7816.StatusWord StatusWord { get; }
}
