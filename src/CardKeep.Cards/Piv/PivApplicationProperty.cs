using System.Text;
using CardKeep.Cards.Iso7816;

namespace CardKeep.Cards.Piv;

/// <summary>
/// The Application Property Template (tag 61) a PIV card returns to SELECT (SP 800-73-4 Part 2 §3.1.1, Table 3):
/// 4F application identifier (PIX or full AID), 79 coexistent tag allocation authority, and the optional
/// 50 label, 5F50 URL and AC algorithm list. <see cref="YubiKey"/> is the exact form a YubiKey returns.
/// </summary>
public sealed class PivApplicationProperty
{
    private const uint Tag = 0x61;
    private const uint TagAid = 0x4F;
    private const uint TagAuthority = 0x79;
    private const uint TagLabel = 0x50;
    private const uint TagUrl = 0x5F50;
    private const uint TagAlgorithms = 0xAC;
    private const uint TagAlgorithm = 0x80;
    private const uint TagOid = 0x06;

    /// <summary>Creates a template.</summary>
    /// <param name="aid">Tag 4F: the PIX with version (00 00 10 00 01 00) or the full AID.</param>
    /// <param name="authorityAid">Tag 79/4F: the coexistent tag allocation authority, the NIST RID.</param>
    /// <param name="label">Tag 50, or null to omit.</param>
    /// <param name="url">Tag 5F50, or null to omit.</param>
    /// <param name="algorithms">Tag AC, or null to omit.</param>
    public PivApplicationProperty(ReadOnlySpan<byte> aid, ReadOnlySpan<byte> authorityAid, string? label = null, string? url = null,
        IReadOnlyList<PivAlgorithm>? algorithms = null)
    {
        Aid = aid.ToArray();
        AuthorityAid = authorityAid.ToArray();
        Label = label;
        Url = url;
        Algorithms = algorithms;
    }

    /// <summary>The YubiKey form: <c>61 11 4F 06 00 00 10 00 01 00 79 07 4F 05 A0 00 00 03 08</c>.</summary>
    public static PivApplicationProperty YubiKey { get; } = new(PivAid.PixWithVersion, PivAid.NistRid);

    /// <summary>Tag 4F: PIX or full AID.</summary>
    public ReadOnlyMemory<byte> Aid { get; }

    /// <summary>Tag 79/4F: the tag allocation authority's AID; empty when absent.</summary>
    public ReadOnlyMemory<byte> AuthorityAid { get; }

    /// <summary>Tag 50 application label.</summary>
    public string? Label { get; }

    /// <summary>Tag 5F50 application URL.</summary>
    public string? Url { get; }

    /// <summary>Tag AC cryptographic algorithms the card supports (the 80 entries).</summary>
    public IReadOnlyList<PivAlgorithm>? Algorithms { get; }

    /// <summary>
    /// The PIV application version carried in the last two bytes of the PIX (01 00 → 1.0), or null when 4F is
    /// neither the PIX with version nor the full AID.
    /// </summary>
    public Version? ApplicationVersion
    {
        get
        {
            var aid = Aid.Span;
            ReadOnlySpan<byte> version = aid.Length == 6 && aid.StartsWith(PivAid.PixWithVersion[..4]) ? aid[4..]
                : aid.Length == 11 && PivAid.IsPiv(aid) ? aid[9..]
                : default;
            return version.IsEmpty ? null : new Version(version[0], version[1]);
        }
    }

    /// <summary>True when 4F names PIV, as OpenSC checks: the PIX (starting 00 00 10 00) or an AID starting with the PIV AID.</summary>
    public bool IsPiv
    {
        get
        {
            var aid = Aid.Span;
            return (aid.Length >= 4 && aid.StartsWith(PivAid.PixWithVersion[..4])) || PivAid.IsPiv(aid);
        }
    }

    /// <summary>Encodes the whole template, tag 61 included.</summary>
    public byte[] Encode()
    {
        var writer = new TlvWriter();
        using (writer.Push(Tag))
        {
            writer.Write(TagAid, Aid.Span);
            if (!AuthorityAid.IsEmpty)
            {
                using (writer.Push(TagAuthority))
                {
                    writer.Write(TagAid, AuthorityAid.Span);
                }
            }

            if (Label is not null)
            {
                writer.Write(TagLabel, Encoding.ASCII.GetBytes(Label));
            }

            if (Url is not null)
            {
                writer.Write(TagUrl, Encoding.ASCII.GetBytes(Url));
            }

            if (Algorithms is not null)
            {
                using (writer.Push(TagAlgorithms))
                {
                    foreach (var algorithm in Algorithms)
                    {
                        writer.Write(TagAlgorithm, [(byte)algorithm]);
                    }

                    writer.Write(TagOid, []);
                }
            }
        }

        return writer.ToArray();
    }

    /// <summary>Parses a SELECT response. Raises <see cref="CardFormatException"/> when it is not a template 61 with a 4F.</summary>
    public static PivApplicationProperty Parse(ReadOnlyMemory<byte> data)
    {
        var root = BerTlv.ParseSingle(data);
        if (root.Tag != Tag)
        {
            throw new CardFormatException("PIV application property template", 0, $"expected tag 61, found {root.Tag:X}");
        }

        var aid = root.Get(TagAid).Value.Span;
        var authority = root.Find(TagAuthority)?.Find(TagAid)?.Value ?? ReadOnlyMemory<byte>.Empty;
        string? label = root.Find(TagLabel) is { } l ? Encoding.ASCII.GetString(l.Value.Span) : null;
        string? url = root.Find(TagUrl) is { } u ? Encoding.ASCII.GetString(u.Value.Span) : null;
        List<PivAlgorithm>? algorithms = root.Find(TagAlgorithms) is { } ac
            ? [.. ac.Children.Where(c => c.Tag == TagAlgorithm && c.Value.Length == 1).Select(c => (PivAlgorithm)c.Value.Span[0])]
            : null;
        return new PivApplicationProperty(aid, authority.Span, label, url, algorithms);
    }
}
