using CardKeep.Cards.PcSc;

namespace CardKeep.Agent.Routing;

/// <summary>How the agent reaches cards: PC/SC in production; tests may put in-process cards behind it.</summary>
public interface ICardAccess
{
    /// <summary>Readers that hold a card now.</summary>
    IReadOnlyList<string> ReadersWithCard();

    /// <summary>Resolves a reader as <c>--reader</c> does (exact name, index or unique substring).</summary>
    string ResolveReader(string selector);

    CardConnection Open(string reader);
}

/// <summary>Cards through pcscd.</summary>
public sealed class PcscCardAccess : ICardAccess
{
    public IReadOnlyList<string> ReadersWithCard()
    {
        using var context = PcscContext.Establish();
        return [.. context.GetReaderStatuses().Where(s => s.CardPresent).Select(s => s.Name)];
    }

    public string ResolveReader(string selector)
    {
        using var context = PcscContext.Establish();
        return context.ResolveReader(selector);
    }

    public CardConnection Open(string reader) => CardConnection.Open(reader);
}
