using CardKeep.Cards;
using CardKeep.Cards.Piv;

namespace CardKeep.Manager;

/// <summary>What happened to one object in a backup, restore, transfer or paste.</summary>
public sealed record TransferItem(uint Tag, string Name, bool Done, string? Reason)
{
    public string TagHex => Tag.ToString("X", System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>The outcome of a multi-object write: each object, and whether the target was rolled back.</summary>
public sealed record TransferReport(IReadOnlyList<TransferItem> Items, bool RolledBack, string? Failure)
{
    public bool Succeeded => Failure is null;
}

/// <summary>Progress of a transfer: step <see cref="Done"/> of <see cref="Total"/>, on <see cref="What"/>.</summary>
public readonly record struct TransferProgress(int Done, int Total, string What);

/// <summary>
/// Moves data objects between cards. Reads happen completely before any write, so a card pulled while reading
/// leaves the target untouched. Every write is read back and compared. When a write fails, what was written is
/// put back as it was (rolled back); if even that fails, the report says exactly which objects are on the target.
/// </summary>
public static class Transfer
{
    /// <summary>Objects that cards make up themselves and a PUT DATA must not carry across.</summary>
    public static bool IsCardGenerated(uint tag) => tag == PivDiscovery.Tag;

    /// <summary>Reads the objects of <paramref name="source"/> (all, or <paramref name="tags"/>), private ones only when unlocked.</summary>
    public static (List<CardObject> Objects, List<TransferItem> Skipped) ReadAll(ICardObjects source, IReadOnlyCollection<uint>? tags = null, IProgress<TransferProgress>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        var objects = new List<CardObject>();
        var skipped = new List<TransferItem>();
        var wanted = tags ?? [.. PivDataObject.All.Select(o => o.Tag)];
        int done = 0;
        foreach (uint tag in wanted)
        {
            progress?.Report(new TransferProgress(done++, wanted.Count, $"reading {PivDataObject.Find(tag)?.Name ?? tag.ToString("X", System.Globalization.CultureInfo.InvariantCulture)}"));
            var area = CardObject.AreaOf(tag);
            if (IsCardGenerated(tag))
            {
                if (tags is not null)
                {
                    skipped.Add(new TransferItem(tag, PivDataObject.Find(tag)?.Name ?? "object", false, "made by each card itself; not copied"));
                }

                continue;
            }

            if (area == ObjectArea.Private && !source.PrivateUnlocked)
            {
                if (tags is not null || ProbablyPresent(source, tag))
                {
                    skipped.Add(new TransferItem(tag, PivDataObject.Find(tag)?.Name ?? "object", false, "PIN-protected; give --pin to copy it"));
                }

                continue;
            }

            byte[]? value = source.Read(tag);
            if (value is null)
            {
                if (tags is not null)
                {
                    throw new ManagerException($"{source.Name} has no {PivDataObject.Find(tag)?.Name ?? "object"} ({tag:X})");
                }

                continue;
            }

            objects.Add(new CardObject(tag, area, value));
        }

        progress?.Report(new TransferProgress(wanted.Count, wanted.Count, "read"));
        return (objects, skipped);
    }

    private static bool ProbablyPresent(ICardObjects source, uint tag) => source is VscCardObjects vsc && vsc.Card.PrivateObjectTags.Contains(tag);

    /// <summary>Writes <paramref name="objects"/> to <paramref name="target"/>, verifying each by reading it back; rolls back on failure.</summary>
    public static TransferReport WriteAll(ICardObjects target, IReadOnlyList<CardObject> objects, IProgress<TransferProgress>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(objects);
        if (objects.FirstOrDefault(o => o.Area == ObjectArea.Private && !target.PrivateUnlocked) is { } locked)
        {
            // Without the PIN a private object can neither be read back nor restored if a later write fails.
            throw new ManagerException($"writing {locked.Name} (PIN-protected) to {target.Name} needs that card's PIN, to verify it and to roll back if needed");
        }

        var items = new List<TransferItem>();
        var written = new List<(uint Tag, byte[]? Previous)>();
        for (int i = 0; i < objects.Count; i++)
        {
            var o = objects[i];
            progress?.Report(new TransferProgress(i, objects.Count, $"writing {o.Name}"));
            try
            {
                byte[]? previous = target.Read(o.Tag);
                target.Write(o.Tag, o.Value);
                written.Add((o.Tag, previous));
                byte[]? back = target.Read(o.Tag);
                if (back is null || !back.AsSpan().SequenceEqual(o.Value))
                {
                    throw new ManagerException($"{o.Name} read back from {target.Name} differs from what was written");
                }

                items.Add(new TransferItem(o.Tag, o.Name, true, null));
            }
            catch (Exception e) when (e is ManagerException or CardException or IOException)
            {
                string failure = $"writing {o.Name} to {target.Name} failed: {e.Message}";
                items.Add(new TransferItem(o.Tag, o.Name, false, e.Message));
                var (rolledBack, rollbackNotes) = RollBack(target, written);
                if (rolledBack)
                {
                    items = [.. items.Select(x => x.Done ? x with { Done = false, Reason = "rolled back" } : x)];
                }
                else
                {
                    failure += "; rolling back failed too: " + rollbackNotes;
                }

                items.AddRange(objects.Skip(i + 1).Select(rest => new TransferItem(rest.Tag, rest.Name, false, "not attempted")));
                return new TransferReport(items, rolledBack, failure);
            }
        }

        progress?.Report(new TransferProgress(objects.Count, objects.Count, "done"));
        return new TransferReport(items, false, null);
    }

    private static (bool Ok, string Notes) RollBack(ICardObjects target, List<(uint Tag, byte[]? Previous)> written)
    {
        var problems = new List<string>();
        for (int i = written.Count - 1; i >= 0; i--)
        {
            var (tag, previous) = written[i];
            try
            {
                target.Write(tag, previous ?? []);
            }
            catch (Exception e) when (e is ManagerException or CardException or IOException)
            {
                problems.Add($"{PivDataObject.Find(tag)?.Name ?? tag.ToString("X", System.Globalization.CultureInfo.InvariantCulture)} is now the new version on the card ({e.Message})");
            }
        }

        return (problems.Count == 0, string.Join("; ", problems));
    }
}
