using System.Globalization;
using System.Security.Cryptography;
using CardKeep.Cards.Piv;
using CardKeep.Manager;
using CardKeep.VirtualCard.Store;

namespace CardKeep.Ui.Services;

/// <summary>One object as the card page shows it.</summary>
public sealed record ObjectRow(string TagHex, string Name, ObjectArea Area, int Size, string? Summary);

/// <summary>A card's page: its objects (private ones once the private area is open).</summary>
public sealed record CardView(string Address, string Name, CardKind Kind, string? Serial, bool PrivateOpen, IReadOnlyList<ObjectRow> Objects, IReadOnlyList<string> Keys);

/// <summary>What the clipboard holds, as the card page shows it.</summary>
public sealed record ClipboardView(string Source, DateTimeOffset Copied, IReadOnlyList<ObjectRow> Objects)
{
    public bool HasPrivate => Objects.Any(o => o.Area == ObjectArea.Private);
}

/// <summary>An action's outcome in words, and whether it failed.</summary>
public sealed record Outcome(bool Ok, string Message, IReadOnlyList<string> Details)
{
    public static Outcome Success(string message, IReadOnlyList<string>? details = null) => new(true, message, details ?? []);

    public static Outcome Failure(string message, IReadOnlyList<string>? details = null) => new(false, message, details ?? []);
}

/// <summary>
/// The card page's actions, done exactly as the command line does them: objects read and written through
/// <see cref="ICardObjects"/>, copied with <see cref="Transfer.ReadAll"/> into the same <see cref="Clipboard"/>, pasted with
/// <see cref="Transfer.WriteAll"/> (verified by reading back, rolled back on failure).
/// </summary>
public sealed class CardActions(CardSessions sessions, Func<Clipboard> clipboard)
{
    public CardView Show(string address) => sessions.Use(address, card =>
    {
        var objects = card.ListTags()
            .Select(tag => new CardObject(tag, CardObject.AreaOf(tag), card.Read(tag) ?? []))
            .Select(Row)
            .ToList();
        var kind = card is VscCardObjects ? CardKind.Vsc : CardKind.ReaderCard;
        return new CardView(address, card.Name, kind, CardBackup.SerialOf(card), card.PrivateUnlocked, objects, Keys(card));
    });

    /// <summary>Opens the private area. A wrong PIN fails with the tries left.</summary>
    public Outcome Unlock(string address, byte[] pin)
    {
        ArgumentNullException.ThrowIfNull(pin);
        try
        {
            sessions.Unlock(address, pin);
            return Outcome.Success("PIN verified: the private area is open.");
        }
        catch (PinException e)
        {
            return Outcome.Failure(e.RetriesLeft switch
            {
                0 => "The PIN is blocked: unblock it with the PUK.",
                1 => "Wrong PIN: 1 try left before the PIN blocks.",
                int n => string.Create(CultureInfo.InvariantCulture, $"Wrong PIN: {n} tries left."),
                null => "Wrong PIN.",
            });
        }
        finally
        {
            CryptographicOperations.ZeroMemory(pin);
        }
    }

    public Outcome Lock(string address)
    {
        sessions.Close(address);
        return Outcome.Success("The private area is closed.");
    }

    /// <summary>Copies the objects with <paramref name="tags"/> (or every object, when null) to the clipboard.</summary>
    public Outcome Copy(string address, IReadOnlyCollection<uint>? tags) => sessions.Use(address, card =>
    {
        var (read, skipped) = Transfer.ReadAll(card, tags);
        clipboard().Put(card.Name, read);
        string message = string.Create(CultureInfo.InvariantCulture, $"Copied {read.Count} object{(read.Count == 1 ? string.Empty : "s")} to the clipboard{(read.Count == 0 ? "." : ": " + string.Join(", ", read.Select(o => o.Name)) + ".")}");
        return Outcome.Success(message, [.. skipped.Select(s => $"Not copied: {s.Name}: {s.Reason}")]);
    });

    public ClipboardView? Clipboard()
    {
        var content = clipboard().Get();
        return content is null ? null : new ClipboardView(content.Source, content.Copied, [.. content.Objects.Select(Row)]);
    }

    public Outcome ClearClipboard()
    {
        clipboard().Clear();
        return Outcome.Success("The clipboard is empty.");
    }

    /// <summary>
    /// Writes the clipboard's objects (all, or one area's) to the card. A reader card needs its management key; private
    /// objects need the card's PIN unless its private area is open.
    /// </summary>
    public Outcome Paste(string address, ObjectArea? area, string? managementKey, byte[]? pin)
    {
        try
        {
            var content = clipboard().Get();
            if (content is null)
            {
                return Outcome.Failure("The clipboard is empty: copy objects from a card first.");
            }

            var objects = content.Objects.Where(o => area is not ObjectArea a || o.Area == a).ToList();
            return sessions.Use(address, card =>
            {
                if (card is PivCardObjects)
                {
                    if (string.IsNullOrWhiteSpace(managementKey))
                    {
                        return Outcome.Failure("Writing to a card in a reader needs its management key (48 hex digits, or 'default' for the factory key).");
                    }

                    byte[] key = ManagementKeyText.Parse(managementKey.Trim(), out _);
                    try
                    {
                        card.AuthorizeWrites(key);
                    }
                    finally
                    {
                        CryptographicOperations.ZeroMemory(key);
                    }
                }

                if (!card.PrivateUnlocked && objects.Any(o => o.Area == ObjectArea.Private))
                {
                    if (pin is not { Length: > 0 })
                    {
                        return Outcome.Failure("The clipboard holds PIN-protected objects: give this card's PIN (or open its private area) to paste them.");
                    }

                    try
                    {
                        card.Unlock(pin);
                    }
                    catch (PinException e)
                    {
                        return Outcome.Failure("Not pasted: " + e.Message + ".");
                    }
                }

                var report = Transfer.WriteAll(card, objects);
                var details = report.Items.Select(i => $"{(i.Done ? "Written" : "Not written")}: {i.Name}{(i.Reason is null ? string.Empty : " (" + i.Reason + ")")}").ToList();
                int done = report.Items.Count(i => i.Done);
                return report.Succeeded
                    ? Outcome.Success(string.Create(CultureInfo.InvariantCulture, $"Pasted {done} object{(done == 1 ? string.Empty : "s")} into {card.Name}."), details)
                    : Outcome.Failure($"Paste failed: {report.Failure}{(report.RolledBack ? "; the card holds what it held before." : ".")}", details);
            });
        }
        finally
        {
            if (pin is not null)
            {
                CryptographicOperations.ZeroMemory(pin);
            }
        }
    }

    /// <summary>One object's content to save as a file, or null when the card does not hold it.</summary>
    public (string FileName, byte[] Content)? Save(string address, uint tag) => sessions.Use(address, card =>
    {
        byte[]? value = card.Read(tag);
        if (value is null)
        {
            return ((string, byte[])?)null;
        }

        var o = new CardObject(tag, CardObject.AreaOf(tag), value);
        return (ObjectSummary.FileName(o), ObjectSummary.SavedContent(o));
    });

    private static ObjectRow Row(CardObject o) => new(o.TagHex, o.Name, o.Area, o.Value.Length, ObjectSummary.Of(o));

    private static List<string> Keys(ICardObjects card) => card is VscCardObjects vsc
        ? [.. vsc.Card.Keys.OrderBy(k => k.Slot).Select(k => string.Create(CultureInfo.InvariantCulture, $"{k.Slot:X2} {((PivAlgorithm)k.Algorithm).DisplayName()}"))]
        : [];
}

/// <summary>The VSC manager's actions on the store: new (named after a card's serial), import, export, disable, enable.</summary>
public sealed class VscActions(CardDirectory directory, CardSessions sessions, LiveCardList list)
{
    private VscStore Store => directory.Store;

    public IReadOnlyList<VscListing> List() => Store.List();

    /// <summary>Creates an empty backup VSC named after the serial of the card at <paramref name="cardAddress"/> (VSC-&lt;serial&gt;).</summary>
    public Outcome NewFromCard(string cardAddress, byte[] pin, byte[] puk)
    {
        ArgumentNullException.ThrowIfNull(pin);
        ArgumentNullException.ThrowIfNull(puk);
        try
        {
            if (CardBackup.AreFactoryCodes(pin, puk))
            {
                return Outcome.Failure("The factory PIN (123456) or PUK (12345678) would let anyone holding a copy of the VSC file unlock it: choose your own.");
            }

            string? serial = sessions.Use(cardAddress, CardBackup.SerialOf);
            if (serial is null)
            {
                return Outcome.Failure("That card has no serial to name a VSC after.");
            }

            using (CardBackup.CreateVsc(Store, serial, pin, puk))
            {
                // Created and saved; closing releases its lock.
            }

            list.RefreshVscs();
            return Outcome.Success($"Created {CardBackup.VscIdFor(serial)}. Copy the card's objects and paste them into it to back the card up.");
        }
        finally
        {
            CryptographicOperations.ZeroMemory(pin);
            CryptographicOperations.ZeroMemory(puk);
        }
    }

    /// <summary>Adds an uploaded VSC file to the store after its consistency check.</summary>
    public async Task<Outcome> ImportAsync(Stream upload, bool replace, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(upload);
        string temporary = TemporaryFile();
        try
        {
            var stream = new FileStream(temporary, new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite });
            await using (stream.ConfigureAwait(false))
            {
                await upload.CopyToAsync(stream, cancellationToken).ConfigureAwait(false);
            }

            var header = Store.Import(temporary, replace);
            if (replace)
            {
                sessions.Close("vsc:" + header.Id);
            }

            list.RefreshVscs();
            return Outcome.Success($"Imported {header.Id} ({header.State.ToString().ToLowerInvariant()}).");
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    /// <summary>The VSC's file as stored (checked first; it stays encrypted), for download.</summary>
    public byte[] Export(string id)
    {
        string temporary = TemporaryFile();
        try
        {
            Store.Export(id, temporary);
            return File.ReadAllBytes(temporary);
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    public Outcome SetState(string id, VscState state)
    {
        sessions.Close("vsc:" + id);
        using (var card = Store.Open(id))
        {
            card.SetState(state);
        }

        list.RefreshVscs();
        return Outcome.Success($"{id} is {state.ToString().ToLowerInvariant()}.");
    }

    private static string TemporaryFile() => Path.Combine(DataPaths.RuntimeDirectory(), $"ui-{Guid.NewGuid():N}.vsc");
}
