using CardKeep.Cards.Iso7816;

namespace CardKeep.Cards.Files;

public enum CardFileKind
{
    Application,
    Directory,
    TransparentEf,
    RecordEf,
    Unknown,
}

/// <summary>One file or application the explorer found. <see cref="Content"/> is filled when dumping.</summary>
public sealed record CardFileEntry(string Path, CardFileKind Kind, string? Name, int? Size, byte[]? Content, IReadOnlyList<byte[]>? Records, string? Note);

/// <summary>
/// Walks what a card exposes through ISO 7816-4 alone. ISO 7816-4 has no "list directory" command, so the
/// explorer selects well-known applications by AID and well-known files by FID under the MF (plus any FID
/// range the caller asks to scan), and tells EFs from DFs by how READ BINARY answers.
/// </summary>
public sealed class FileExplorer(IsoFileClient client)
{
    /// <summary>Applications probed by DF name.</summary>
    public static readonly IReadOnlyList<(string Name, byte[] Aid)> KnownApplications =
    [
        ("PIV (NIST SP 800-73)", Convert.FromHexString("A000000308000010000100")),
        ("OpenPGP", Convert.FromHexString("D27600012401")),
        ("PKCS#15", Convert.FromHexString("A000000063504B43532D3135")),
        ("GIDS", Convert.FromHexString("A0000003974349445F0100")),
        ("YubiKey OTP", Convert.FromHexString("A0000005272001")),
        ("YubiKey management", Convert.FromHexString("A000000527471117")),
        ("FIDO U2F/CTAP", Convert.FromHexString("A0000006472F0001")),
        ("EMV payment system (1PAY.SYS.DDF01)", "1PAY.SYS.DDF01"u8.ToArray()),
    ];

    /// <summary>Files probed under the MF by FID.</summary>
    public static readonly IReadOnlyList<(ushort Fid, string? Name)> KnownFiles =
    [
        (0x2F00, "EF.DIR (application directory)"),
        (0x2F01, "EF.ATR (answer-to-reset information)"),
        (0x2F02, "EF.GDO (card serial number)"),
        (0x5015, "DF.PKCS15"),
        (0x0002, null),
        (0x0003, null),
    ];

    /// <summary>Extra FIDs under the MF to probe (e.g. a range given with --scan).</summary>
    public IReadOnlyList<ushort> ScanFids { get; init; } = [];

    /// <summary>Read EF contents (transparent) and records (record EFs).</summary>
    public bool Dump { get; init; }

    /// <summary>Largest amount read from one EF when dumping.</summary>
    public int MaxDumpBytes { get; init; } = 4096;

    public IReadOnlyList<CardFileEntry> Walk()
    {
        var found = new List<CardFileEntry>();
        bool hasMf = TrySelectMf();
        if (hasMf)
        {
            found.Add(new CardFileEntry("3F00", CardFileKind.Directory, "MF", null, null, null, null));
        }

        foreach (var (name, aid) in KnownApplications)
        {
            try
            {
                var selected = client.SelectDfName(aid, wantFci: true);
                found.Add(new CardFileEntry($"AID {Convert.ToHexString(aid)}", CardFileKind.Application, name, null,
                    Dump && !selected.Fci.IsEmpty ? selected.Fci.ToArray() : null, null, selected.Fci.IsEmpty ? null : "FCI returned"));
            }
            catch (CardStatusException)
            {
                // Not on this card.
            }
        }

        if (!hasMf)
        {
            return found;
        }

        var fids = KnownFiles.Select(f => f.Fid).Concat(ScanFids).Distinct().Where(f => f != 0x3F00);
        foreach (ushort fid in fids)
        {
            if (!TrySelectMf())
            {
                break;
            }

            string? name = KnownFiles.FirstOrDefault(f => f.Fid == fid).Name;
            var entry = Probe(fid, name);
            if (entry is not null)
            {
                found.Add(entry);
            }
        }

        TrySelectMf();
        return found;
    }

    private bool TrySelectMf()
    {
        try
        {
            client.SelectMasterFile();
            return true;
        }
        catch (CardStatusException)
        {
            return false;
        }
    }

    private CardFileEntry? Probe(ushort fid, string? name)
    {
        SelectedFile selected;
        try
        {
            selected = client.SelectFid(fid, wantFci: !client.Quirks.SelectWithFciCrashes);
        }
        catch (CardStatusException)
        {
            return null;
        }

        string path = $"3F00/{fid:X4}";
        if (selected.IsDirectory == true)
        {
            return new CardFileEntry(path, CardFileKind.Directory, name, null, null, null, null);
        }

        try
        {
            byte[] content = client.ReadBinary(0, Dump ? MaxDumpBytes : 1);
            int? size = selected.Size ?? (Dump ? content.Length : null);
            return new CardFileEntry(path, CardFileKind.TransparentEf, name, size, Dump ? content : null, null, null);
        }
        catch (CardStatusException e) when (e.StatusWord == StatusWord.NoCurrentEf)
        {
            return new CardFileEntry(path, CardFileKind.Directory, name, null, null, null, null);
        }
        catch (CardStatusException e) when (e.StatusWord == StatusWord.IncompatibleFileStructure)
        {
            var records = Dump ? client.ReadRecords() : null;
            return new CardFileEntry(path, CardFileKind.RecordEf, name, null, null, records, null);
        }
        catch (CardStatusException e)
        {
            return new CardFileEntry(path, CardFileKind.Unknown, name, selected.Size, null, null, $"READ BINARY: {e.StatusWord}");
        }
    }
}
