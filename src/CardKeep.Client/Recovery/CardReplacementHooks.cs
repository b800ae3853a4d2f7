namespace CardKeep.Client.Recovery;

/// <summary>What a client-side replacement step gets: who, which cards, and the bearer session of the replacement.</summary>
/// <param name="Server">The account server.</param>
/// <param name="Username">The account.</param>
/// <param name="PreviousCardSerial">The replaced card (null when the account had none active).</param>
/// <param name="NewCard">The new card, PIN verified (its 9A key can sign and decrypt for the step).</param>
/// <param name="BearerToken">The session the replacement ran under (still valid).</param>
/// <param name="Temporary">True for a time-boxed temporary card: the original card stays valid.</param>
public sealed record CardReplacedContext(Uri Server, string Username, string? PreviousCardSerial, AccountCard NewCard, string BearerToken, bool Temporary);

/// <summary>
/// A step that runs on the client after a card replacement's server transaction and morph, e.g. re-wrapping the
/// personal environment's record keys for the new card (issue 8). A failing step is reported; the replacement itself
/// stands (the server transaction is done) and the step can run again.
/// </summary>
public interface ICardReplacementStep
{
    /// <summary>A short name for the report.</summary>
    string Name { get; }

    /// <summary>Runs the step; returns a one-line summary for the user.</summary>
    Task<string> RunAsync(CardReplacedContext context, CancellationToken cancellationToken);
}

/// <summary>The client-side replacement steps, in registration order (a program registers its own at start-up).</summary>
public static class CardReplacementSteps
{
    private static readonly List<ICardReplacementStep> _steps = [];
    private static readonly Lock _lock = new();

    /// <summary>Adds a step run by every later replacement.</summary>
    public static void Register(ICardReplacementStep step)
    {
        ArgumentNullException.ThrowIfNull(step);
        lock (_lock)
        {
            _steps.Add(step);
        }
    }

    /// <summary>The registered steps.</summary>
    public static IReadOnlyList<ICardReplacementStep> All
    {
        get
        {
            lock (_lock)
            {
                return [.. _steps];
            }
        }
    }
}
