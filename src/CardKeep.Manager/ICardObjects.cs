namespace CardKeep.Manager;

/// <summary>
/// The data objects of one card, however it is reached: PIV commands to a card in a reader
/// (<see cref="PivCardObjects"/>), or the VSC file directly for a VSC in the store (<see cref="VscCardObjects"/>).
/// </summary>
public interface ICardObjects : IDisposable
{
    /// <summary>What the user sees: the reader name or <c>vsc:ID</c>.</summary>
    string Name { get; }

    /// <summary>True once private objects may be read (the PIN was verified).</summary>
    bool PrivateUnlocked { get; }

    /// <summary>Tags of every object present on the card (public, and private when unlocked).</summary>
    IReadOnlyList<uint> ListTags();

    /// <summary>The object's content, or null when absent. Private objects need <see cref="Unlock"/> first.</summary>
    byte[]? Read(uint tag);

    /// <summary>Writes (or with empty content deletes) an object. Reader cards need <see cref="AuthorizeWrites"/> first.</summary>
    void Write(uint tag, ReadOnlySpan<byte> content);

    /// <summary>Verifies the PIN. Throws <see cref="PinException"/> with the tries left when it is wrong.</summary>
    void Unlock(ReadOnlySpan<byte> pin);

    /// <summary>Authorizes writes (PIV management key) where the card needs it.</summary>
    void AuthorizeWrites(ReadOnlySpan<byte> managementKey);
}

/// <summary>Wrong or blocked PIN: <see cref="RetriesLeft"/> says how many tries remain (0 = blocked).</summary>
public sealed class PinException : ManagerException
{
    public PinException() { }

    public PinException(string message) : base(message) { }

    public PinException(string message, Exception innerException) : base(message, innerException) { }

    public PinException(int? retriesLeft)
        : base(retriesLeft == 0 ? "the PIN is blocked; unblock it with the PUK" : $"wrong PIN{(retriesLeft is int n ? $", {n} {(n == 1 ? "try" : "tries")} left" : string.Empty)}") =>
        RetriesLeft = retriesLeft;

    public int? RetriesLeft { get; }
}
