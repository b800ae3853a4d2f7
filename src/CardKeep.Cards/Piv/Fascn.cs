using System.Globalization;

namespace CardKeep.Cards.Piv;

/// <summary>
/// A Federal Agency Smart Credential Number (TIG SCEPACS v2.3 §6): 40 characters of 5 bits each
/// (4 data bits sent least significant first, then an odd-parity bit), packed into 25 bytes:
/// <c>SS agency FS system FS credential FS series FS issue FS person org-category org-id association ES LRC</c>.
/// CHUID tag 30 carries it. Agency 9999 marks a non-federal card: OpenSC then shows the CHUID GUID as serial.
/// </summary>
/// <param name="AgencyCode">4 digits.</param>
/// <param name="SystemCode">4 digits.</param>
/// <param name="CredentialNumber">6 digits.</param>
/// <param name="CredentialSeries">1 digit.</param>
/// <param name="IndividualCredentialIssue">1 digit.</param>
/// <param name="PersonIdentifier">10 digits.</param>
/// <param name="OrganizationalCategory">1 digit.</param>
/// <param name="OrganizationalIdentifier">4 digits.</param>
/// <param name="PersonOrganizationAssociation">1 digit.</param>
public sealed record Fascn(
    string AgencyCode,
    string SystemCode,
    string CredentialNumber,
    string CredentialSeries,
    string IndividualCredentialIssue,
    string PersonIdentifier,
    string OrganizationalCategory,
    string OrganizationalIdentifier,
    string PersonOrganizationAssociation)
{
    /// <summary>Encoded length in bytes.</summary>
    public const int Length = 25;

    private const int StartSentinel = 0xB;
    private const int FieldSeparator = 0xD;
    private const int EndSentinel = 0xF;

    /// <summary>
    /// CardKeep's default for cards it issues outside any federal system: agency and system 9999, credential 999999,
    /// series 1, issue 1, person 0000000000, category 1 (federal government, meaning "unassigned" here), org 0000, association 1.
    /// </summary>
    public static Fascn NonFederal { get; } = new("9999", "9999", "999999", "1", "1", "0000000000", "1", "0000", "1");

    /// <summary>True when the agency code is 9999 (not a federally issued credential).</summary>
    public bool IsNonFederal => AgencyCode == "9999";

    /// <summary>Encodes the 25 bytes.</summary>
    public byte[] Encode()
    {
        var chars = new List<int>(40) { StartSentinel };
        AddDigits(chars, AgencyCode, 4, nameof(AgencyCode));
        chars.Add(FieldSeparator);
        AddDigits(chars, SystemCode, 4, nameof(SystemCode));
        chars.Add(FieldSeparator);
        AddDigits(chars, CredentialNumber, 6, nameof(CredentialNumber));
        chars.Add(FieldSeparator);
        AddDigits(chars, CredentialSeries, 1, nameof(CredentialSeries));
        chars.Add(FieldSeparator);
        AddDigits(chars, IndividualCredentialIssue, 1, nameof(IndividualCredentialIssue));
        chars.Add(FieldSeparator);
        AddDigits(chars, PersonIdentifier, 10, nameof(PersonIdentifier));
        AddDigits(chars, OrganizationalCategory, 1, nameof(OrganizationalCategory));
        AddDigits(chars, OrganizationalIdentifier, 4, nameof(OrganizationalIdentifier));
        AddDigits(chars, PersonOrganizationAssociation, 1, nameof(PersonOrganizationAssociation));
        chars.Add(EndSentinel);
        chars.Add(chars.Aggregate(0, (lrc, c) => lrc ^ c));

        var bytes = new byte[Length];
        int bit = 0;
        foreach (int c in chars)
        {
            int ones = 0;
            for (int i = 0; i < 4; i++)
            {
                int b = (c >> i) & 1;
                ones += b;
                SetBit(bytes, bit++, b);
            }

            SetBit(bytes, bit++, (ones & 1) == 0 ? 1 : 0);
        }

        return bytes;
    }

    /// <summary>Decodes 25 bytes, checking every parity bit, the sentinels, the separators and the LRC.</summary>
    public static Fascn Parse(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length != Length)
        {
            throw new CardFormatException("FASC-N", 0, $"expected {Length} bytes, got {bytes.Length}");
        }

        var chars = new int[40];
        for (int n = 0; n < 40; n++)
        {
            int value = 0, ones = 0;
            for (int i = 0; i < 5; i++)
            {
                int b = (bytes[(n * 5 + i) / 8] >> (7 - ((n * 5 + i) % 8))) & 1;
                ones += b;
                if (i < 4)
                {
                    value |= b << i;
                }
            }

            if ((ones & 1) == 0)
            {
                throw new CardFormatException("FASC-N", n * 5 / 8, string.Create(CultureInfo.InvariantCulture, $"character {n} fails its odd-parity check"));
            }

            chars[n] = value;
        }

        int lrc = 0;
        for (int n = 0; n < 39; n++)
        {
            lrc ^= chars[n];
        }

        if (lrc != chars[39])
        {
            throw new CardFormatException("FASC-N", 24, "longitudinal redundancy check does not match");
        }

        int pos = 0;
        Expect(chars, ref pos, StartSentinel, "start sentinel");
        string agency = Digits(chars, ref pos, 4);
        Expect(chars, ref pos, FieldSeparator, "field separator");
        string system = Digits(chars, ref pos, 4);
        Expect(chars, ref pos, FieldSeparator, "field separator");
        string credential = Digits(chars, ref pos, 6);
        Expect(chars, ref pos, FieldSeparator, "field separator");
        string series = Digits(chars, ref pos, 1);
        Expect(chars, ref pos, FieldSeparator, "field separator");
        string issue = Digits(chars, ref pos, 1);
        Expect(chars, ref pos, FieldSeparator, "field separator");
        string person = Digits(chars, ref pos, 10);
        string category = Digits(chars, ref pos, 1);
        string organization = Digits(chars, ref pos, 4);
        string association = Digits(chars, ref pos, 1);
        Expect(chars, ref pos, EndSentinel, "end sentinel");
        return new Fascn(agency, system, credential, series, issue, person, category, organization, association);
    }

    private static void AddDigits(List<int> chars, string digits, int count, string field)
    {
        if (digits is null || digits.Length != count || !digits.All(char.IsAsciiDigit))
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"{field} must be exactly {count} decimal digits"), field);
        }

        chars.AddRange(digits.Select(d => d - '0'));
    }

    private static void SetBit(byte[] bytes, int bit, int value)
    {
        if (value != 0)
        {
            bytes[bit / 8] |= (byte)(0x80 >> (bit % 8));
        }
    }

    private static void Expect(int[] chars, ref int pos, int expected, string what)
    {
        if (chars[pos] != expected)
        {
            throw new CardFormatException("FASC-N", pos * 5 / 8, string.Create(CultureInfo.InvariantCulture, $"character {pos} should be the {what}"));
        }

        pos++;
    }

    private static string Digits(int[] chars, ref int pos, int count)
    {
        var text = new char[count];
        for (int i = 0; i < count; i++, pos++)
        {
            if (chars[pos] > 9)
            {
                throw new CardFormatException("FASC-N", pos * 5 / 8, string.Create(CultureInfo.InvariantCulture, $"character {pos} should be a digit"));
            }

            text[i] = (char)('0' + chars[pos]);
        }

        return new string(text);
    }
}
