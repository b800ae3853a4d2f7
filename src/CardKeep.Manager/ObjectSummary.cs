using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using CardKeep.Cards;
using CardKeep.Cards.Piv;

namespace CardKeep.Manager;

/// <summary>What people read about an object: a certificate's subject, a URL list, a vCard's name.</summary>
public static class ObjectSummary
{
    /// <summary>One line for <paramref name="o"/>, or null when there is nothing more to say than its name.</summary>
    public static string? Of(CardObject o)
    {
        ArgumentNullException.ThrowIfNull(o);
        try
        {
            if (PivDataObject.Find(o.Tag)?.Slot is not null)
            {
                using var cert = X509CertificateLoader.LoadCertificate(PivCertificateContainer.Decode(o.Value));
                return $"{cert.Subject}, until {cert.NotAfter:yyyy-MM-dd}";
            }

            if (o.Tag == PivDataObject.CardKeepUrls.Tag)
            {
                return string.Join(" ", Urls(o.Value));
            }

            if (o.Tag == PivDataObject.CardKeepBusinessCard.Tag)
            {
                return Encoding.UTF8.GetString(o.Value).Split('\n').FirstOrDefault(l => l.StartsWith("FN:", StringComparison.Ordinal))?.Trim();
            }
        }
        catch (Exception e) when (e is CryptographicException or CardFormatException or DecoderFallbackException)
        {
            return "(unreadable content)";
        }

        return null;
    }

    /// <summary>The entries of a URL-list object, one a line.</summary>
    public static IReadOnlyList<string> Urls(byte[] content) =>
        Encoding.UTF8.GetString(content).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>A file name for saving an object: certificates as .crt (DER), the business card as .vcf, URLs as .txt.</summary>
    public static string FileName(CardObject o)
    {
        ArgumentNullException.ThrowIfNull(o);
        string stem = string.Concat(o.Name.Select(c => char.IsAsciiLetterOrDigit(c) ? char.ToLowerInvariant(c) : '-')).Trim('-');
        return stem + (o.Tag == PivDataObject.CardKeepBusinessCard.Tag ? ".vcf" : o.Tag == PivDataObject.CardKeepUrls.Tag ? ".txt" : PivDataObject.Find(o.Tag)?.Slot is not null ? ".crt" : ".bin");
    }

    /// <summary>The bytes to save: a certificate container's DER certificate, every other object as it is.</summary>
    public static byte[] SavedContent(CardObject o)
    {
        ArgumentNullException.ThrowIfNull(o);
        if (PivDataObject.Find(o.Tag)?.Slot is not null)
        {
            try
            {
                return PivCertificateContainer.Decode(o.Value);
            }
            catch (CardFormatException)
            {
                return o.Value;
            }
        }

        return o.Value;
    }
}
