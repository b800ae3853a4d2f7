using System.Globalization;
using System.Security.Cryptography.X509Certificates;
using CardKeep.Cards.Iso7816;

namespace CardKeep.Cards.Piv;

/// <summary>What <see cref="PivSession.ListObjects"/> found for one data object.</summary>
/// <param name="DataObject">The object.</param>
/// <param name="Length">Content length in bytes, or null when the card refused to read it (PIN not verified; 6982).</param>
public sealed record PivObjectInfo(PivDataObject DataObject, int? Length)
{
    /// <summary>True when the object is protected and the PIN has not been verified, so its presence is unknown.</summary>
    public bool IsProtected => Length is null;
}

public sealed partial class PivSession
{
    /// <summary>
    /// GET DATA: the object's content (the inside of the 53 container; for 7E and 7F61 the object's own TLV),
    /// or null when the card has no such object (6A82, or 9000 without data). A PIN-protected object read before VERIFY
    /// raises <see cref="CardStatusException"/> with 6982.
    /// </summary>
    public byte[]? GetData(uint tag)
    {
        using var _ = Transaction();
        var response = Send(PivCommands.GetData(tag));
        if (response.StatusWord == StatusWord.FileNotFound)
        {
            return null;
        }

        var data = response.GetData(string.Create(CultureInfo.InvariantCulture, $"GET DATA {tag:X}"));
        return data.IsEmpty ? null : PivObjectEncoding.ParseGetDataResponse(tag, data).ToArray();
    }

    /// <summary>PUT DATA: stores <paramref name="content"/> (wrapped in 53; for 7E / 7F61 the object's own TLV). Empty content deletes. Needs the management key.</summary>
    public void PutData(uint tag, ReadOnlySpan<byte> content)
    {
        using var _ = Transaction();
        Send(PivCommands.PutData(tag, content)).ThrowIfNotSuccess(string.Create(CultureInfo.InvariantCulture, $"PUT DATA {tag:X}"));
    }

    /// <summary>Deletes an object (PUT DATA with <c>53 00</c>). Needs the management key.</summary>
    public void DeleteData(uint tag) => PutData(tag, []);

    /// <summary>The certificate of <paramref name="slot"/>, decompressed when stored gzipped, or null when there is none.</summary>
    public X509Certificate2? ReadCertificate(PivSlot slot)
    {
        var der = ReadCertificateBytes(slot);
        return der is null ? null : X509CertificateLoader.LoadCertificate(der);
    }

    /// <summary>The DER certificate of <paramref name="slot"/>, decompressed when stored gzipped, or null when there is none.</summary>
    public byte[]? ReadCertificateBytes(PivSlot slot)
    {
        var content = GetData(PivDataObject.CertificateFor(slot).Tag);
        return content is null || content.Length == 0 ? null : PivCertificateContainer.Decode(content);
    }

    /// <summary>Stores a certificate in <paramref name="slot"/>'s object (optionally gzipped, as YubiKeys allow). Needs the management key.</summary>
    public void WriteCertificate(PivSlot slot, X509Certificate2 certificate, bool compress = false)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        WriteCertificate(slot, certificate.RawData, compress);
    }

    /// <summary>Stores a DER certificate in <paramref name="slot"/>'s object. Needs the management key.</summary>
    public void WriteCertificate(PivSlot slot, ReadOnlySpan<byte> certificate, bool compress = false) =>
        PutData(PivDataObject.CertificateFor(slot).Tag, PivCertificateContainer.Encode(certificate, compress));

    /// <summary>Deletes the certificate of <paramref name="slot"/>. Needs the management key.</summary>
    public void DeleteCertificate(PivSlot slot) => DeleteData(PivDataObject.CertificateFor(slot).Tag);

    /// <summary>The CHUID, or null when the card has none.</summary>
    public PivChuid? ReadChuid() => GetData(PivDataObject.Chuid.Tag) is { } content ? PivChuid.Parse(content) : null;

    /// <summary>The Discovery object, or null when the card has none.</summary>
    public PivDiscovery? ReadDiscovery() => GetData(PivDiscovery.Tag) is { } content ? PivDiscovery.Parse(content) : null;

    /// <summary>
    /// Probes every object in <see cref="PivDataObject.All"/> with GET DATA and lists those present, plus those the card
    /// refused to read (6982, PIN not verified). Objects the card does not have or know (6A82, 6A80, 6A81, 6A86, 6A88, or 9000
    /// without data) are skipped.
    /// </summary>
    public IReadOnlyList<PivObjectInfo> ListObjects()
    {
        using var _ = Transaction();
        var found = new List<PivObjectInfo>();
        foreach (var dataObject in PivDataObject.All)
        {
            var response = Send(PivCommands.GetData(dataObject.Tag));
            switch (response.StatusWord.Value)
            {
                case 0x9000 when response.Data.IsEmpty:
                    break;
                case 0x9000:
                    found.Add(new PivObjectInfo(dataObject, PivObjectEncoding.ParseGetDataResponse(dataObject.Tag, response.Data).Length));
                    break;
                case 0x6982:
                    found.Add(new PivObjectInfo(dataObject, null));
                    break;
                case 0x6A82 or 0x6A80 or 0x6A81 or 0x6A86 or 0x6A88:
                    break;
                default:
                    throw new CardStatusException(string.Create(CultureInfo.InvariantCulture, $"GET DATA {dataObject.Tag:X}"), response.StatusWord);
            }
        }

        return found;
    }
}
