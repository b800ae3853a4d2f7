using CardKeep.Manager;
using CardKeep.Ui.Services;
using Microsoft.AspNetCore.Mvc;

namespace CardKeep.Ui.Pages;

/// <summary>A card's details and objects, its private area, copy and paste through the clipboard, and saving objects.</summary>
public sealed class CardModel(CardActions actions) : UiPageModel
{
    [BindProperty(SupportsGet = true, Name = "c")]
    public string Address { get; set; } = string.Empty;

    public CardView? View { get; private set; }

    public ClipboardView? Clipboard { get; private set; }

    public void OnGet() => Load();

    public void OnPostUnlock(string? pin)
    {
        Run(() => actions.Unlock(Address, SecretBytes(pin)));
        Load();
    }

    public void OnPostLock()
    {
        Run(() => actions.Lock(Address));
        Load();
    }

    public void OnPostCopy(string[]? tags)
    {
        if (tags is not { Length: > 0 })
        {
            Result = Outcome.Failure("Select the objects to copy first (or use Copy all).");
        }
        else
        {
            Run(() => actions.Copy(Address, [.. tags.Select(t => CardObject.ParseTag(t))]));
        }

        Load();
    }

    public void OnPostCopyAll()
    {
        Run(() => actions.Copy(Address, null));
        Load();
    }

    public void OnPostPaste(string? managementKey, string? pastePin, ObjectArea? area)
    {
        Run(() => actions.Paste(Address, area, managementKey, string.IsNullOrEmpty(pastePin) ? null : SecretBytes(pastePin)));
        Load();
    }

    public void OnPostClearClipboard()
    {
        Run(actions.ClearClipboard);
        Load();
    }

    /// <summary>Downloads one object: a certificate as DER (.crt), the business card as .vcf, URLs as text, others as they are.</summary>
    public IActionResult OnGetSave(string? tag)
    {
        (string FileName, byte[] Content)? saved = null;
        Run(() =>
        {
            saved = actions.Save(Address, CardObject.ParseTag(tag ?? string.Empty));
            return saved is null ? Outcome.Failure("The card does not hold that object.") : Outcome.Success("Saved.");
        });
        if (saved is { } file)
        {
            return File(file.Content, "application/octet-stream", file.FileName);
        }

        Load();
        return Page();
    }

    private void Load()
    {
        try
        {
            View = actions.Show(Address);
        }
        catch (Exception e) when (IsExpected(e))
        {
            View = null;
            Result ??= Outcome.Failure($"{Address} cannot be opened: {e.Message}");
        }

        try
        {
            Clipboard = actions.Clipboard();
        }
        catch (ManagerException e)
        {
            Clipboard = null;
            Result ??= Outcome.Failure(e.Message);
        }
    }
}
