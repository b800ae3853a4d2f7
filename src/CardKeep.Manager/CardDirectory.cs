using CardKeep.Cards;
using CardKeep.Cards.PcSc;
using CardKeep.Cards.Piv;
using CardKeep.VirtualCard.Store;

namespace CardKeep.Manager;

public enum CardKind
{
    ReaderCard,
    Vsc,
}

/// <summary>One card CardKeep can reach: a card in a PC/SC reader or a VSC in the store.</summary>
public sealed record CardEntry(CardKind Kind, string Address, string Label, string? Serial, string State, string? Detail)
{
    public string KindText => Kind == CardKind.Vsc ? "VSC" : "reader card";
}

/// <summary>
/// Lists and opens every card CardKeep can reach. A card is named by an address: <c>vsc:ID</c> (or a VSC's Id or
/// label), or <c>reader:R</c> (or any reader selector: exact name, index, unique substring).
/// </summary>
public sealed class CardDirectory(VscStore store)
{
    public VscStore Store => store;

    /// <summary>Reader cards (when pcscd runs) followed by every VSC; VSCs failing their check are listed as damaged.</summary>
    public IReadOnlyList<CardEntry> List(bool includeReaders = true)
    {
        var entries = new List<CardEntry>();
        if (includeReaders)
        {
            entries.AddRange(ListReaderCards());
        }

        foreach (var v in store.List())
        {
            string state = v.Damage is not null ? "damaged" : v.State == VscState.Disabled ? "disabled" : "enabled";
            string label = string.IsNullOrEmpty(v.Label) ? v.Id : v.Label;
            entries.Add(new CardEntry(CardKind.Vsc, "vsc:" + v.Id, label, v.Serial?.ToString(System.Globalization.CultureInfo.InvariantCulture), state, v.Damage ?? v.Parent));
        }

        return entries;
    }

    private static List<CardEntry> ListReaderCards()
    {
        IReadOnlyList<ReaderStatus> readers;
        try
        {
            using var context = PcscContext.Establish();
            readers = context.GetReaderStatuses();
            var found = new List<CardEntry>();
            foreach (var reader in readers.Where(r => r.CardPresent))
            {
                found.Add(Describe(context, reader));
            }

            return found;
        }
        catch (PcscServiceException)
        {
            return [];
        }
    }

    private static CardEntry Describe(PcscContext context, ReaderStatus reader)
    {
        try
        {
            using var channel = context.Connect(reader.Name);
            using var piv = PivSession.Open(channel);
            string? serial = TrySerial(piv);
            string label = piv.ReadCertificate(PivSlot.Authentication)?.GetNameInfo(System.Security.Cryptography.X509Certificates.X509NameType.SimpleName, false) is { Length: > 0 } cn
                ? cn
                : reader.Name;
            return new CardEntry(CardKind.ReaderCard, "reader:" + reader.Name, label, serial, "present", "ATR " + reader.AtrHex);
        }
        catch (CardException e)
        {
            return new CardEntry(CardKind.ReaderCard, "reader:" + reader.Name, reader.Name, null, "present", $"not a PIV card ({e.Message})");
        }
    }

    /// <summary>The card's serial: YubiKey-style GET SERIAL, else the CHUID's GUID.</summary>
    public static string? TrySerial(PivSession piv)
    {
        try
        {
            return piv.GetSerial().ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (CardException)
        {
            try
            {
                return piv.ReadChuid() is { } chuid ? Convert.ToHexString(chuid.CardUuidBytes.Span) : null;
            }
            catch (CardException)
            {
                return null;
            }
        }
    }

    /// <summary>True when the address names a VSC in the store (vsc:ID, or an Id/label without a reader: prefix).</summary>
    public bool IsVsc(string address, out string id)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.StartsWith("vsc:", StringComparison.Ordinal))
        {
            id = address[4..];
            return true;
        }

        if (address.StartsWith("reader:", StringComparison.Ordinal))
        {
            id = string.Empty;
            return false;
        }

        var match = store.List().FirstOrDefault(v => v.Id == address || v.Label == address);
        id = match?.Id ?? string.Empty;
        return match is not null;
    }

    /// <summary>Opens a card's data objects. A VSC is opened through its file (locked while open); a reader card through PIV.</summary>
    public ICardObjects Open(string address)
    {
        if (IsVsc(address, out string id))
        {
            return new VscCardObjects(store.Open(id));
        }

        string selector = address.StartsWith("reader:", StringComparison.Ordinal) ? address[7..] : address;
        var context = PcscContext.Establish();
        try
        {
            string reader = context.ResolveReader(selector);
            var channel = context.Connect(reader);
            var session = PivSession.Open(channel, ownsChannel: true);
            return new PivCardObjects(session, reader, context);
        }
        catch
        {
            context.Dispose();
            throw;
        }
    }
}
