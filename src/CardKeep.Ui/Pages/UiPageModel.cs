using System.Text;
using CardKeep.Cards;
using CardKeep.Manager;
using CardKeep.Ui.Services;
using CardKeep.VirtualCard.Store;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace CardKeep.Ui.Pages;

/// <summary>What every page shares: the outcome of the last action, shown in the page's aria-live status region.</summary>
public abstract class UiPageModel : PageModel
{
    public Outcome? Result { get; protected set; }

    /// <summary>
    /// Runs an action and keeps its outcome. The failures people can act on (a card error, a damaged or busy VSC, bad
    /// input) become a message; their texts never hold a PIN or key.
    /// </summary>
    protected Outcome Run(Func<Outcome> action)
    {
        ArgumentNullException.ThrowIfNull(action);
        try
        {
            Result = action();
        }
        catch (Exception e) when (IsExpected(e))
        {
            Result = Outcome.Failure(Sentence(e.Message));
        }

        return Result;
    }

    protected async Task<Outcome> RunAsync(Func<Task<Outcome>> action)
    {
        ArgumentNullException.ThrowIfNull(action);
        try
        {
            Result = await action().ConfigureAwait(false);
        }
        catch (Exception e) when (IsExpected(e))
        {
            Result = Outcome.Failure(Sentence(e.Message));
        }

        return Result;
    }

    protected static bool IsExpected(Exception e) =>
        e is ManagerException or CardException or VscException or IOException or UnauthorizedAccessException or ArgumentException;

    /// <summary>A secret typed into a form, as the bytes the card libraries take (the caller zeroes them).</summary>
    protected static byte[] SecretBytes(string? text) => Encoding.UTF8.GetBytes(text ?? string.Empty);

    private static string Sentence(string message) =>
        message.Length == 0 ? "Failed." : char.ToUpperInvariant(message[0]) + message[1..] + (message.EndsWith('.') ? string.Empty : ".");
}
