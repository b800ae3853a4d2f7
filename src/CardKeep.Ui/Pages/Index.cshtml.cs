using CardKeep.Ui.Services;

namespace CardKeep.Ui.Pages;

/// <summary>Readers and VSCs in one list; <c>assets/app.js</c> keeps it current from <c>/events</c>.</summary>
public sealed class IndexModel(LiveCardList list) : UiPageModel
{
    public IReadOnlyList<CardRow> Cards { get; private set; } = [];

    public string? PcscProblem { get; private set; }

    public void OnGet()
    {
        Cards = [.. list.Current.Select(CardRow.From)];
        PcscProblem = list.PcscProblem;
    }
}
