using System.Globalization;

namespace CardKeep.Cards.Iso7816;

/// <summary>The four ISO/IEC 7816-3 §12.1 command cases, short (S) or extended (E).</summary>
public enum ApduCase
{
    Case1,
    Case2Short,
    Case3Short,
    Case4Short,
    Case2Extended,
    Case3Extended,
    Case4Extended,
}

/// <summary>
/// A command APDU: CLA INS P1 P2 [Lc data] [Le]. Immutable; <see cref="Encode"/> and <see cref="Parse"/>
/// are exact inverses for every well-formed APDU. Ne (the expected response length) is held as a number:
/// null means "no Le field", 256 is short Le=00, 65536 is extended Le=0000.
/// </summary>
public sealed class CommandApdu
{
    public const int MaxShortData = 255;
    public const int MaxShortNe = 256;
    public const int MaxExtendedData = 65535;
    public const int MaxExtendedNe = 65536;

    private readonly byte[] _data;

    public CommandApdu(byte cla, byte ins, byte p1, byte p2, ReadOnlySpan<byte> data = default, int? ne = null, bool forceExtended = false)
    {
        if (data.Length > MaxExtendedData)
        {
            throw new ArgumentOutOfRangeException(nameof(data), data.Length, $"command data may hold at most {MaxExtendedData} bytes");
        }

        if (ne is < 1 or > MaxExtendedNe)
        {
            throw new ArgumentOutOfRangeException(nameof(ne), ne, $"Ne must be between 1 and {MaxExtendedNe} (or null for no Le)");
        }

        Cla = cla;
        Ins = ins;
        P1 = p1;
        P2 = p2;
        _data = data.ToArray();
        Ne = ne;
        IsExtended = forceExtended || data.Length > MaxShortData || ne > MaxShortNe;
    }

    public byte Cla { get; }

    public byte Ins { get; }

    public byte P1 { get; }

    public byte P2 { get; }

    /// <summary>The command data field (Nc bytes); empty when there is none.</summary>
    public ReadOnlyMemory<byte> Data => _data;

    /// <summary>Expected maximum response length, or null when the APDU has no Le field.</summary>
    public int? Ne { get; }

    public bool IsExtended { get; }

    /// <summary>CLA bit b5 (0x10) of an interindustry class: more commands of this chain follow.</summary>
    public bool IsChained => (Cla & 0x80) == 0 && (Cla & 0x10) != 0;

    public ApduCase Case => (_data.Length > 0, Ne.HasValue, IsExtended) switch
    {
        (false, false, _) => ApduCase.Case1,
        (false, true, false) => ApduCase.Case2Short,
        (true, false, false) => ApduCase.Case3Short,
        (true, true, false) => ApduCase.Case4Short,
        (false, true, true) => ApduCase.Case2Extended,
        (true, false, true) => ApduCase.Case3Extended,
        (true, true, true) => ApduCase.Case4Extended,
    };

    public CommandApdu WithNe(int? ne) => new(Cla, Ins, P1, P2, _data, ne, forceExtended: false);

    public CommandApdu WithCla(byte cla) => new(cla, Ins, P1, P2, _data, Ne, IsExtended && (Ne > MaxShortNe || _data.Length > MaxShortData));

    public byte[] Encode()
    {
        int nc = _data.Length;
        int length = 4
            + (nc > 0 ? (IsExtended ? 3 : 1) + nc : 0)
            + (Ne.HasValue ? (IsExtended ? (nc > 0 ? 2 : 3) : 1) : 0);
        var buffer = new byte[length];
        buffer[0] = Cla;
        buffer[1] = Ins;
        buffer[2] = P1;
        buffer[3] = P2;
        int offset = 4;
        if (nc > 0)
        {
            if (IsExtended)
            {
                buffer[offset++] = 0;
                buffer[offset++] = (byte)(nc >> 8);
                buffer[offset++] = (byte)nc;
            }
            else
            {
                buffer[offset++] = (byte)nc;
            }

            _data.CopyTo(buffer, offset);
            offset += nc;
        }

        if (Ne is int ne)
        {
            if (IsExtended)
            {
                if (nc == 0)
                {
                    buffer[offset++] = 0;
                }

                int le = ne == MaxExtendedNe ? 0 : ne;
                buffer[offset++] = (byte)(le >> 8);
                buffer[offset] = (byte)le;
            }
            else
            {
                buffer[offset] = (byte)(ne == MaxShortNe ? 0 : ne);
            }
        }

        return buffer;
    }

    /// <summary>
    /// Parses an APDU by the length rules of ISO/IEC 7816-3 §12.1.3. Anything that does not fit exactly one
    /// case raises <see cref="CardFormatException"/> naming the problem and its offset.
    /// </summary>
    public static CommandApdu Parse(ReadOnlySpan<byte> apdu)
    {
        const string What = "command APDU";
        if (apdu.Length < 4)
        {
            throw new CardFormatException(What, apdu.Length, $"needs at least 4 header bytes (CLA INS P1 P2), got {apdu.Length}");
        }

        byte cla = apdu[0], ins = apdu[1], p1 = apdu[2], p2 = apdu[3];
        var body = apdu[4..];
        if (body.Length == 0)
        {
            return new CommandApdu(cla, ins, p1, p2);
        }

        if (body.Length == 1)
        {
            return new CommandApdu(cla, ins, p1, p2, default, body[0] == 0 ? MaxShortNe : body[0]);
        }

        if (body[0] != 0)
        {
            int nc = body[0];
            if (body.Length == 1 + nc)
            {
                return new CommandApdu(cla, ins, p1, p2, body.Slice(1, nc));
            }

            if (body.Length == 2 + nc)
            {
                byte le = body[1 + nc];
                return new CommandApdu(cla, ins, p1, p2, body.Slice(1, nc), le == 0 ? MaxShortNe : le);
            }

            throw new CardFormatException(What, 4, string.Create(CultureInfo.InvariantCulture,
                $"Lc says {nc} data bytes but {body.Length - 1} bytes follow it (expected {nc}, or {nc + 1} with Le)"));
        }

        // body[0] == 0 and more than one byte: extended length.
        if (body.Length == 3)
        {
            int le = (body[1] << 8) | body[2];
            return new CommandApdu(cla, ins, p1, p2, default, le == 0 ? MaxExtendedNe : le, forceExtended: true);
        }

        if (body.Length < 3)
        {
            throw new CardFormatException(What, 4, $"extended length field needs 3 bytes, got {body.Length}");
        }

        int extendedNc = (body[1] << 8) | body[2];
        if (extendedNc == 0)
        {
            throw new CardFormatException(What, 5, "extended Lc of 0000 is not allowed when data follows");
        }

        if (body.Length == 3 + extendedNc)
        {
            return new CommandApdu(cla, ins, p1, p2, body.Slice(3, extendedNc), null, forceExtended: true);
        }

        if (body.Length == 5 + extendedNc)
        {
            int le = (body[3 + extendedNc] << 8) | body[4 + extendedNc];
            return new CommandApdu(cla, ins, p1, p2, body.Slice(3, extendedNc), le == 0 ? MaxExtendedNe : le, forceExtended: true);
        }

        throw new CardFormatException(What, 4, string.Create(CultureInfo.InvariantCulture,
            $"extended Lc says {extendedNc} data bytes but {body.Length - 3} bytes follow it (expected {extendedNc}, or {extendedNc + 2} with Le)"));
    }

    public override string ToString() => Convert.ToHexString(Encode());
}
