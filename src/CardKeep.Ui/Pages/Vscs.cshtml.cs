using CardKeep.Manager;
using CardKeep.Ui.Services;
using CardKeep.VirtualCard.Store;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;

namespace CardKeep.Ui.Pages;

/// <summary>The VSC manager: new from a card's serial, import, export, disable (with a confirmation step), enable.</summary>
public sealed class VscsModel(VscActions actions, LiveCardList list, CardDirectory directory) : UiPageModel
{
    public IReadOnlyList<VscListing> Vscs { get; private set; } = [];

    /// <summary>Cards with a serial that a new VSC can be named after.</summary>
    public IReadOnlyList<CardEntry> Sources { get; private set; } = [];

    /// <summary>The VSC whose disabling waits for confirmation, or null.</summary>
    public string? ConfirmDisable { get; private set; }

    public string StoreFolder => directory.Store.DirectoryPath;

    public void OnGet() => Load();

    public void OnPostNew(string? card, string? pin, string? pinAgain, string? puk, string? pukAgain)
    {
        if (string.IsNullOrEmpty(card) || string.IsNullOrEmpty(pin) || string.IsNullOrEmpty(puk))
        {
            Result = Outcome.Failure("Choose a card and give the new VSC's PIN and PUK.");
        }
        else if (pin != pinAgain || puk != pukAgain)
        {
            Result = Outcome.Failure("The two entries of the PIN or of the PUK differ.");
        }
        else
        {
            Run(() => actions.NewFromCard(card, SecretBytes(pin), SecretBytes(puk)));
        }

        Load();
    }

    public async Task OnPostImportAsync(IFormFile? file, bool replace)
    {
        if (file is null || file.Length == 0)
        {
            Result = Outcome.Failure("Choose a VSC file to import.");
        }
        else
        {
            var upload = file.OpenReadStream();
            await using (upload.ConfigureAwait(false))
            {
                await RunAsync(() => actions.ImportAsync(upload, replace, HttpContext.RequestAborted)).ConfigureAwait(false);
            }
        }

        Load();
    }

    public IActionResult OnGetExport(string? id)
    {
        byte[]? content = null;
        Run(() =>
        {
            content = actions.Export(id ?? string.Empty);
            return Outcome.Success("Exported.");
        });
        if (content is not null)
        {
            return File(content, "application/octet-stream", id + VscStore.FileExtension);
        }

        Load();
        return Page();
    }

    /// <summary>First step of disabling: asks for confirmation, changes nothing.</summary>
    public void OnPostDisable(string? id)
    {
        ConfirmDisable = id;
        Load();
    }

    public void OnPostDisableConfirmed(string? id)
    {
        Run(() => actions.SetState(id ?? string.Empty, VscState.Disabled));
        Load();
    }

    public void OnPostEnable(string? id)
    {
        Run(() => actions.SetState(id ?? string.Empty, VscState.Enabled));
        Load();
    }

    private void Load()
    {
        try
        {
            Vscs = actions.List();
        }
        catch (IOException e)
        {
            Result ??= Outcome.Failure(e.Message);
        }

        Sources = [.. list.Current.Where(c => c.Kind == CardKind.ReaderCard && c.Serial is not null)];
    }
}
