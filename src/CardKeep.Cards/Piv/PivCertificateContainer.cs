using System.IO.Compression;
using CardKeep.Cards.Iso7816;

namespace CardKeep.Cards.Piv;

/// <summary>
/// The content of a certificate object (SP 800-73-4 Part 1 Appendix A Table 10): <c>70 L cert 71 01 info FE 00</c>,
/// where info 01 means the certificate is gzip-compressed (YubiKey / yubico-piv-tool). The 53 container around it
/// is added by <see cref="PivObjectEncoding"/>.
/// </summary>
public static class PivCertificateContainer
{
    private const byte TagCertificate = 0x70;
    private const byte TagCertInfo = 0x71;
    private const byte TagErrorDetection = 0xFE;
    private const byte InfoCompressed = 0x01;

    /// <summary>Largest certificate a compressed object may expand to (guards against gzip bombs).</summary>
    public const int MaxDecompressedLength = 64 * 1024;

    /// <summary>Encodes the content for a DER certificate; with <paramref name="compress"/> the DER is gzipped and info is 01.</summary>
    public static byte[] Encode(ReadOnlySpan<byte> certificate, bool compress = false)
    {
        if (certificate.IsEmpty)
        {
            throw new ArgumentException("the certificate is empty", nameof(certificate));
        }

        var body = compress ? Gzip(certificate) : certificate.ToArray();
        return new TlvWriter()
            .Write(TagCertificate, body)
            .Write(TagCertInfo, [compress ? InfoCompressed : (byte)0])
            .Write(TagErrorDetection, [])
            .ToArray();
    }

    /// <summary>
    /// Parses the content (without the 53 container) and returns the DER certificate, decompressed when info is 01.
    /// Tags 71 and FE are optional on reading. Raises <see cref="CardFormatException"/>.
    /// </summary>
    public static byte[] Decode(ReadOnlyMemory<byte> content) => Decode(content, out _);

    /// <summary>As <see cref="Decode(ReadOnlyMemory{byte})"/>, also saying whether the stored form was compressed.</summary>
    public static byte[] Decode(ReadOnlyMemory<byte> content, out bool compressed)
    {
        var nodes = BerTlv.Parse(content);
        var certificate = nodes.FirstOrDefault(n => n.Tag == TagCertificate)
            ?? throw new CardFormatException("certificate object: tag 70 (certificate) missing");
        var info = nodes.FirstOrDefault(n => n.Tag == TagCertInfo);
        compressed = info is { Value.Length: > 0 } && (info.Value.Span[0] & InfoCompressed) != 0;
        if (!compressed)
        {
            return certificate.Value.ToArray();
        }

        try
        {
            using var input = new MemoryStream(certificate.Value.ToArray());
            using var gzip = new GZipStream(input, CompressionMode.Decompress);
            using var output = new MemoryStream();
            var buffer = new byte[4096];
            int read;
            while ((read = gzip.Read(buffer)) > 0)
            {
                if (output.Length + read > MaxDecompressedLength)
                {
                    throw new CardFormatException($"certificate object: compressed certificate expands beyond {MaxDecompressedLength} bytes");
                }

                output.Write(buffer, 0, read);
            }

            return output.ToArray();
        }
        catch (InvalidDataException e)
        {
            throw new CardFormatException("certificate object: compressed certificate is not valid gzip data", e);
        }
    }

    private static byte[] Gzip(ReadOnlySpan<byte> data)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            gzip.Write(data);
        }

        return output.ToArray();
    }
}
