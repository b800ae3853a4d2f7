using System.Globalization;
using System.Security.Cryptography;
using CardKeep.Cards.Piv;
using CardKeep.VirtualCard.Store;

namespace CardKeep.Manager;

/// <summary>What a backup of a card into a VSC shares between the command line and the web UI.</summary>
public static class CardBackup
{
    /// <summary>The Id a card's backup VSC gets: <c>VSC-&lt;serial&gt;</c>.</summary>
    public static string VscIdFor(string serial) => "VSC-" + serial;

    /// <summary>The card's serial (GET SERIAL, else the CHUID's GUID; a VSC's own serial), or null when it has none.</summary>
    public static string? SerialOf(ICardObjects card) => card switch
    {
        PivCardObjects piv => CardDirectory.TrySerial(piv.Session),
        VscCardObjects vsc => vsc.Card.Serial.ToString(CultureInfo.InvariantCulture),
        _ => null,
    };

    /// <summary>
    /// Creates the backup VSC for the card with <paramref name="serial"/> in <paramref name="store"/> (Id VSC-&lt;serial&gt;, label
    /// "VSC &lt;serial&gt;", role backup, parent card:&lt;serial&gt;, factory management key) and returns it open.
    /// </summary>
    public static VirtualSmartCard CreateVsc(VscStore store, string serial, ReadOnlySpan<byte> pin, ReadOnlySpan<byte> puk)
    {
        ArgumentNullException.ThrowIfNull(store);
        byte[] pinCopy = pin.ToArray();
        byte[] pukCopy = puk.ToArray();
        try
        {
            return store.Create(new VscCreateOptions
            {
                Id = VscIdFor(serial), Label = "VSC " + serial, Role = VscRole.Backup, Parent = "card:" + serial, Pin = pinCopy, Puk = pukCopy,
                ManagementKey = VirtualSmartCard.DefaultManagementKey.ToArray(),
            });
        }
        finally
        {
            CryptographicOperations.ZeroMemory(pinCopy);
            CryptographicOperations.ZeroMemory(pukCopy);
        }
    }

    /// <summary>True when the PIN or the PUK is the factory default, which anyone holding a copy of the VSC file could use.</summary>
    public static bool AreFactoryCodes(ReadOnlySpan<byte> pin, ReadOnlySpan<byte> puk) =>
        pin.SequenceEqual(VirtualSmartCard.DefaultPin) || puk.SequenceEqual(VirtualSmartCard.DefaultPuk);

    /// <summary>The card's private keys, each reported as not copied (they never leave a card, except by escrow).</summary>
    public static IEnumerable<TransferItem> KeysNotCopied(ICardObjects card)
    {
        ArgumentNullException.ThrowIfNull(card);
        IEnumerable<byte> slots = card is VscCardObjects vsc
            ? vsc.Card.Keys.Select(k => k.Slot)
            : PivSlotExtensions.CertificateSlots.Where(s => card.ListTags().Contains(PivDataObject.CertificateFor(s).Tag)).Select(s => (byte)s);
        return slots.Select(s => new TransferItem(s, string.Create(CultureInfo.InvariantCulture, $"private key {s:X2}"), false,
            "private keys never leave a card; use an escrow VSC ('cardkeep vsc keygen' + 'vsc transfer-keys') to hold a copy"));
    }
}

/// <summary>A PIV management key as people type it: 48 hex digits (3DES), or "default" for the factory key.</summary>
public static class ManagementKeyText
{
    /// <summary>
    /// The key bytes (the caller zeroes them). Null, empty or "default" give the factory key and set
    /// <paramref name="isDefault"/>. Throws <see cref="ManagerException"/> (without the text) when it is not a key.
    /// </summary>
    public static byte[] Parse(string? text, out bool isDefault)
    {
        isDefault = string.IsNullOrEmpty(text) || text.Equals("default", StringComparison.OrdinalIgnoreCase);
        if (isDefault)
        {
            return VirtualSmartCard.DefaultManagementKey.ToArray();
        }

        byte[] key;
        try
        {
            key = Convert.FromHexString(text!);
        }
        catch (FormatException)
        {
            throw new ManagerException("the management key must be 48 hex digits (3DES, 24 bytes) or 'default'");
        }

        if (key.Length != 24)
        {
            CryptographicOperations.ZeroMemory(key);
            throw new ManagerException($"the management key must be 24 bytes (48 hex digits) for 3DES, got {key.Length}");
        }

        return key;
    }
}
