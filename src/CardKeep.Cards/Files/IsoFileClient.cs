using System.Globalization;
using CardKeep.Cards.Channels;
using CardKeep.Cards.Iso7816;

namespace CardKeep.Cards.Files;

/// <summary>What a SELECT found, from its FCP/FCI when the card returned one.</summary>
public sealed record SelectedFile(ushort? Fid, bool? IsDirectory, int? Size, ReadOnlyMemory<byte> Fci, ReadOnlyMemory<byte> DfName)
{
    internal static SelectedFile FromFci(ushort? fid, ReadOnlyMemory<byte> fci)
    {
        if (fci.IsEmpty)
        {
            return new SelectedFile(fid, null, null, fci, default);
        }

        bool? isDirectory = null;
        int? size = null;
        ReadOnlyMemory<byte> dfName = default;
        try
        {
            var template = BerTlv.ParseSingle(fci);
            if (template.Tag is 0x62 or 0x6F or 0x64)
            {
                foreach (var item in template.Children)
                {
                    switch (item.Tag)
                    {
                        case 0x82 when item.Value.Length >= 1:
                            isDirectory = (item.Value.Span[0] & 0x38) == 0x38;
                            break;
                        case 0x80 or 0x81 when item.Value.Length is >= 1 and <= 4:
                            size = 0;
                            foreach (byte b in item.Value.Span)
                            {
                                size = (size << 8) | b;
                            }

                            break;
                        case 0x83 when item.Value.Length == 2 && fid is null:
                            fid = (ushort)((item.Value.Span[0] << 8) | item.Value.Span[1]);
                            break;
                        case 0x84:
                            dfName = item.Value;
                            isDirectory = true;
                            break;
                    }
                }
            }
        }
        catch (CardFormatException)
        {
            // Proprietary FCI: keep the raw bytes, report nothing parsed.
        }

        return new SelectedFile(fid, isDirectory, size, fci, dfName);
    }
}

/// <summary>Result of VERIFY: verified, or failed with the tries left when the card says (63Cx), or blocked.</summary>
public sealed record VerifyResult(bool Verified, int? RetriesLeft, bool Blocked, StatusWord StatusWord);

/// <summary>
/// ISO 7816-4 file-system commands over any <see cref="ICardChannel"/>: SELECT (FID, path, DF name, with or
/// without FCI), READ/UPDATE BINARY with offsets and chunking, READ RECORD, CREATE/DELETE FILE, VERIFY.
/// Errors from the card raise <see cref="CardStatusException"/> naming the command and the status word.
/// </summary>
public sealed class IsoFileClient
{
    private const byte InsSelect = 0xA4;
    private const byte InsReadBinary = 0xB0;
    private const byte InsUpdateBinary = 0xD6;
    private const byte InsReadRecord = 0xB2;
    private const byte InsCreateFile = 0xE0;
    private const byte InsDeleteFile = 0xE4;
    private const byte InsVerify = 0x20;
    private const int MaxOffset = 0x7FFF;
    private readonly ICardChannel _channel;

    public IsoFileClient(ICardChannel channel, CardQuirks? quirks = null)
    {
        ArgumentNullException.ThrowIfNull(channel);
        _channel = channel as IsoChannel ?? new IsoChannel(channel, ownsInner: false);
        Quirks = quirks ?? CardQuirks.ForAtr(channel.Atr.Span);
    }

    public CardQuirks Quirks { get; }

    /// <summary>Largest READ BINARY chunk (Le). 256 by default (Le=00).</summary>
    public int ReadChunk { get; init; } = 256;

    /// <summary>Largest UPDATE BINARY chunk (Lc).</summary>
    public int WriteChunk { get; init; } = 255;

    /// <summary>SELECT the MF (3F00).</summary>
    public SelectedFile SelectMasterFile(bool wantFci = false) => SelectFid(0x3F00, wantFci);

    /// <summary>SELECT by file identifier (P1=00). Without <paramref name="wantFci"/> P2=0C (no response data).</summary>
    public SelectedFile SelectFid(ushort fid, bool wantFci = false)
    {
        Span<byte> data = [(byte)(fid >> 8), (byte)fid];
        var fci = Select(0x00, data, wantFci, string.Create(CultureInfo.InvariantCulture, $"SELECT FID {fid:X4}"));
        return SelectedFile.FromFci(fid, fci);
    }

    /// <summary>SELECT by path from the MF (P1=08); <paramref name="path"/> excludes 3F00.</summary>
    public SelectedFile SelectPath(ReadOnlySpan<ushort> path, bool wantFci = false)
    {
        var data = new byte[path.Length * 2];
        for (int i = 0; i < path.Length; i++)
        {
            data[2 * i] = (byte)(path[i] >> 8);
            data[(2 * i) + 1] = (byte)path[i];
        }

        var fci = Select(0x08, data, wantFci, $"SELECT path 3F00/{Convert.ToHexString(data)}");
        return SelectedFile.FromFci(path.IsEmpty ? (ushort)0x3F00 : path[^1], fci);
    }

    /// <summary>SELECT by DF name / application identifier (P1=04).</summary>
    public SelectedFile SelectDfName(ReadOnlySpan<byte> aid, bool wantFci = true)
    {
        var fci = Select(0x04, aid, wantFci, $"SELECT AID {Convert.ToHexString(aid)}");
        var selected = SelectedFile.FromFci(null, fci);
        return selected with { IsDirectory = true, DfName = selected.DfName.IsEmpty ? aid.ToArray() : selected.DfName };
    }

    private ReadOnlyMemory<byte> Select(byte p1, ReadOnlySpan<byte> data, bool wantFci, string operation)
    {
        if (wantFci && Quirks.SelectWithFciCrashes)
        {
            wantFci = false;
        }

        // P2=00: return FCI; P2=0C: no response data.
        var command = new CommandApdu(0x00, InsSelect, p1, wantFci ? (byte)0x00 : (byte)0x0C, data, wantFci ? 256 : null);
        var response = _channel.Transmit(command);
        if (wantFci && response.StatusWord is { Value: 0x6A86 or 0x6A81 or 0x6D00 or 0x6700 })
        {
            response = _channel.Transmit(new CommandApdu(0x00, InsSelect, p1, 0x0C, data));
        }

        return response.GetData(operation);
    }

    /// <summary>READ BINARY of up to <paramref name="length"/> bytes from <paramref name="offset"/> of the current EF, in chunks.</summary>
    public byte[] ReadBinary(int offset, int length)
    {
        CheckOffset(offset, length);
        var result = new List<byte>(length);
        while (result.Count < length)
        {
            int chunk = Math.Min(ReadChunk, length - result.Count);
            var response = _channel.Transmit(ReadBinaryCommand(offset + result.Count, chunk));
            if (!response.IsSuccess && response.StatusWord != StatusWord.EndOfFileReached)
            {
                throw new CardStatusException(string.Create(CultureInfo.InvariantCulture, $"READ BINARY at offset {offset + result.Count}"), response.StatusWord);
            }

            result.AddRange(response.Data.Span);
            if (response.StatusWord == StatusWord.EndOfFileReached || response.Data.Length < chunk)
            {
                break;
            }
        }

        return [.. result];
    }

    /// <summary>Reads the whole current EF: until the card reports the end (6282, 6B00 past the end, or a short read).</summary>
    public byte[] ReadAll(int maxLength = MaxOffset + 1)
    {
        var result = new List<byte>();
        while (result.Count < maxLength)
        {
            int chunk = Math.Min(ReadChunk, maxLength - result.Count);
            var response = _channel.Transmit(ReadBinaryCommand(result.Count, chunk));
            if (response.StatusWord == StatusWord.WrongP1P2 || response.StatusWord == StatusWord.IncorrectP1P2)
            {
                break;
            }

            if (!response.IsSuccess && response.StatusWord != StatusWord.EndOfFileReached)
            {
                throw new CardStatusException(string.Create(CultureInfo.InvariantCulture, $"READ BINARY at offset {result.Count}"), response.StatusWord);
            }

            result.AddRange(response.Data.Span);
            if (response.StatusWord == StatusWord.EndOfFileReached || response.Data.Length < chunk || response.Data.IsEmpty)
            {
                break;
            }
        }

        return [.. result];
    }

    private static CommandApdu ReadBinaryCommand(int offset, int length) =>
        new(0x00, InsReadBinary, (byte)(offset >> 8), (byte)offset, default, length);

    /// <summary>UPDATE BINARY of <paramref name="data"/> at <paramref name="offset"/> of the current EF, in chunks.</summary>
    public void UpdateBinary(int offset, ReadOnlySpan<byte> data)
    {
        CheckOffset(offset, data.Length);
        for (int done = 0; done < data.Length;)
        {
            int chunk = Math.Min(WriteChunk, data.Length - done);
            int at = offset + done;
            var command = new CommandApdu(0x00, InsUpdateBinary, (byte)(at >> 8), (byte)at, data.Slice(done, chunk), Quirks.UpdateBinaryNeedsLe ? 256 : null);
            var response = _channel.Transmit(command);
            bool ok = response.IsSuccess || (Quirks.UpdateBinaryAnswers6282 && response.StatusWord == StatusWord.EndOfFileReached);
            if (!ok)
            {
                throw new CardStatusException(string.Create(CultureInfo.InvariantCulture, $"UPDATE BINARY at offset {at}"), response.StatusWord);
            }

            done += chunk;
        }
    }

    /// <summary>READ RECORD <paramref name="record"/> (1-based) of the current EF, or of the EF with short identifier <paramref name="sfi"/>.</summary>
    public byte[]? ReadRecord(byte record, byte sfi = 0)
    {
        ArgumentOutOfRangeException.ThrowIfZero(record);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(sfi, (byte)30);
        var response = _channel.Transmit(new CommandApdu(0x00, InsReadRecord, record, (byte)((sfi << 3) | 0x04), default, 256));
        if (response.StatusWord == StatusWord.RecordNotFound)
        {
            return null;
        }

        return response.GetData($"READ RECORD {record}").ToArray();
    }

    /// <summary>Every record of a record EF, from 1 until the card says there are no more.</summary>
    public IReadOnlyList<byte[]> ReadRecords(byte sfi = 0)
    {
        var records = new List<byte[]>();
        for (int i = 1; i <= 254; i++)
        {
            var record = ReadRecord((byte)i, sfi);
            if (record is null)
            {
                break;
            }

            records.Add(record);
        }

        return records;
    }

    /// <summary>CREATE FILE of a transparent EF with <paramref name="size"/> bytes (FCP 62 {82 01 01, 83 fid, 80 size}).</summary>
    public void CreateTransparentFile(ushort fid, int size)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(size);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(size, 0xFFFF);
        var writer = new TlvWriter();
        using (writer.Push(0x62))
        {
            writer.Write(0x82, [0x01]);
            writer.Write(0x83, [(byte)(fid >> 8), (byte)fid]);
            writer.Write(0x80, [(byte)(size >> 8), (byte)size]);
        }

        _channel.Transmit(new CommandApdu(0x00, InsCreateFile, 0, 0, writer.ToArray()))
            .ThrowIfNotSuccess(string.Create(CultureInfo.InvariantCulture, $"CREATE FILE {fid:X4}"));
    }

    /// <summary>DELETE FILE by FID (P1=00 with the FID as data); cards that do not support it answer 6D00.</summary>
    public void DeleteFile(ushort fid) =>
        _channel.Transmit(new CommandApdu(0x00, InsDeleteFile, 0, 0, [(byte)(fid >> 8), (byte)fid]))
            .ThrowIfNotSuccess(string.Create(CultureInfo.InvariantCulture, $"DELETE FILE {fid:X4}"));

    /// <summary>
    /// VERIFY <paramref name="pin"/> against reference <paramref name="reference"/>. Empty <paramref name="pin"/>
    /// asks for the status (ISO 7816-4 case 1 form): verified, or the tries left.
    /// </summary>
    public VerifyResult Verify(byte reference, ReadOnlySpan<byte> pin)
    {
        var response = _channel.Transmit(new CommandApdu(0x00, InsVerify, 0x00, reference, pin));
        var sw = response.StatusWord;
        if (sw.IsSuccess)
        {
            return new VerifyResult(true, null, false, sw);
        }

        if (sw == StatusWord.AuthenticationMethodBlocked)
        {
            return new VerifyResult(false, 0, true, sw);
        }

        if (sw.IsRetryCounter || sw == StatusWord.VerificationFailed)
        {
            return new VerifyResult(false, sw.RetriesLeft, sw.RetriesLeft == 0, sw);
        }

        throw new CardStatusException(string.Create(CultureInfo.InvariantCulture, $"VERIFY reference {reference:X2}"), sw);
    }

    private static void CheckOffset(int offset, int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        if (offset + length > MaxOffset + 1)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), "READ/UPDATE BINARY with P1-P2 offsets reaches at most 32767");
        }
    }
}
