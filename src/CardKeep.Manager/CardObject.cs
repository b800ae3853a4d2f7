using CardKeep.Cards.Piv;

namespace CardKeep.Manager;

/// <summary>Where an object lives on a card: readable by anyone, or only after the PIN.</summary>
public enum ObjectArea
{
    Public,
    Private,
}

/// <summary>One data object of a card (a PIV container or a CardKeep object), with its content.</summary>
public sealed record CardObject(uint Tag, ObjectArea Area, byte[] Value)
{
    public string Name => PivDataObject.Find(Tag)?.Name ?? $"object {Tag:X}";

    public string TagHex => Tag.ToString("X", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The area a tag belongs in on a PIV card: PIN-protected containers are private.</summary>
    public static ObjectArea AreaOf(uint tag) => PivDataObject.ReadAccessFor(tag) == PivReadAccess.Always ? ObjectArea.Public : ObjectArea.Private;

    /// <summary>Accepts "5FC102", "0x5FC102", or a name like "chuid", "printed", "9a" (the slot's certificate), "url", "vcard".</summary>
    public static uint ParseTag(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string t = text.Trim();
        uint? named = t.ToLowerInvariant() switch
        {
            "chuid" => PivDataObject.Chuid.Tag,
            "ccc" => PivDataObject.CardCapabilityContainer.Tag,
            "printed" or "printed-information" => PivDataObject.PrintedInformation.Tag,
            "facial" or "facial-image" => PivDataObject.FacialImage.Tag,
            "fingerprints" => PivDataObject.Fingerprints.Tag,
            "key-history" => PivDataObject.KeyHistory.Tag,
            "security-object" => PivDataObject.SecurityObject.Tag,
            "url" or "urls" => PivDataObject.CardKeepUrls.Tag,
            "vcard" or "business-card" => PivDataObject.CardKeepBusinessCard.Tag,
            "notes" => PivDataObject.CardKeepNotes.Tag,
            "9a" => PivDataObject.CertificatePivAuthentication.Tag,
            "9c" => PivDataObject.CertificateDigitalSignature.Tag,
            "9d" => PivDataObject.CertificateKeyManagement.Tag,
            "9e" => PivDataObject.CertificateCardAuthentication.Tag,
            _ => null,
        };
        if (named is uint tag)
        {
            return tag;
        }

        string hex = t.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? t[2..] : t;
        if (uint.TryParse(hex, System.Globalization.NumberStyles.AllowHexSpecifier, System.Globalization.CultureInfo.InvariantCulture, out uint parsed)
            && PivDataObject.Find(parsed) is not null)
        {
            return parsed;
        }

        throw new ManagerException($"'{text}' is not a known object: use a PIV tag such as 5FC102 or a name (chuid, printed, 9a, url, vcard, notes)");
    }
}

/// <summary>A card-manager operation failed for a reason the user can act on. The message says what and why.</summary>
public class ManagerException : Exception
{
    public ManagerException() { }

    public ManagerException(string message) : base(message) { }

    public ManagerException(string message, Exception innerException) : base(message, innerException) { }
}
