using System.Text.Json;
using CardKeep.Cards.Files;
using CardKeep.Cards.PcSc;
using CardKeep.Interop.Tests.Harness;

namespace CardKeep.Interop.Tests.Foundation;

/// <summary>The card access layer against the real pcscd + vpcd and Debian's vicc ISO 7816 card.</summary>
public sealed class ReaderAndFileTests
{
    [Fact]
    public async Task Readers_WithViccCard_NameTheSameReadersAndAtrAsOpenSc()
    {
        using var slot = SlotLease.Acquire();
        using var vicc = ViccCard.Start(slot);

        var ours = await CardKeepCli.RunAsync("readers", "--json");
        Assert.True(ours.ExitCode == 0, ours.ToString());
        var readers = JsonDocument.Parse(ours.StdOut).RootElement.EnumerateArray().ToList();
        var openscList = await ProcessRunner.RunAsync("opensc-tool", ["-l"]);
        Assert.Equal(0, openscList.ExitCode);

        var openscNames = openscList.StdOut.Split('\n')
            .Where(l => l.Length > 0 && char.IsDigit(l[0]))
            .Select(l => l[(l.IndexOf("Virtual", StringComparison.Ordinal))..].Trim())
            .ToList();
        Assert.Equal(openscNames, readers.Select(r => r.GetProperty("name").GetString() ?? string.Empty).ToList());

        var mine = readers.Single(r => r.GetProperty("name").GetString() == slot.Reader);
        Assert.True(mine.GetProperty("cardPresent").GetBoolean());
        int index = mine.GetProperty("index").GetInt32();
        var openscAtr = await ProcessRunner.RunAsync("opensc-tool", ["-r", index.ToString(System.Globalization.CultureInfo.InvariantCulture), "-a"]);
        Assert.Equal(0, openscAtr.ExitCode);
        string atr = openscAtr.StdOut.Trim().Replace(":", string.Empty, StringComparison.Ordinal).ToUpperInvariant();
        Assert.Equal(Convert.ToHexString(ViccCard.Atr), atr);
        Assert.Equal(atr, mine.GetProperty("atr").GetString());
    }

    [Fact]
    public void FileClient_OnViccCard_CreatesWritesAndReadsBackByteForByte()
    {
        using var slot = SlotLease.Acquire();
        using var vicc = ViccCard.Start(slot);
        using var context = PcscContext.Establish();
        using var card = context.Connect(slot.Reader);
        var client = new IsoFileClient(card);
        Assert.Same(CardQuirks.Vicc, client.Quirks);

        client.SelectMasterFile(); // throws unless 9000
        client.CreateTransparentFile(0x1002, 600);
        client.SelectFid(0x1002);
        var content = new byte[600];
        Random.Shared.NextBytes(content);
        client.UpdateBinary(0, content);     // three UPDATE BINARY chunks (255 + 255 + 90)
        Assert.Equal(content, client.ReadBinary(0, 600));
        Assert.Equal(content.AsSpan(300, 50).ToArray(), client.ReadBinary(300, 50));
    }

    [Fact]
    public async Task ApduAndFilesCommands_OnViccCard_SelectMfAndListTheCreatedFile()
    {
        using var slot = SlotLease.Acquire();
        using var vicc = ViccCard.Start(slot);

        var select = await CardKeepCli.RunAsync("apdu", "--reader", slot.Reader, "00 A4 00 0C 02 3F 00");
        Assert.True(select.ExitCode == 0, select.ToString());
        Assert.Contains("9000 Success", select.StdOut, StringComparison.Ordinal);

        var create = await CardKeepCli.RunAsync("apdu", "--reader", slot.Reader,
            "00A4000C023F00", "00E000000D620B8201018302100380020008", "00A4000C021003", "00D6000008 0102030405060708 00");
        Assert.Contains("6282", create.StdOut, StringComparison.Ordinal); // vicc's answer to UPDATE BINARY with Le

        var files = await CardKeepCli.RunAsync("files", "--reader", slot.Reader, "--scan", "1000-1010", "--dump", "--json");
        Assert.True(files.ExitCode == 0, files.ToString());
        var entries = JsonDocument.Parse(files.StdOut).RootElement.GetProperty("files").EnumerateArray().ToList();
        Assert.Contains(entries, e => e.GetProperty("path").GetString() == "3F00");
        var created = entries.Single(e => e.GetProperty("path").GetString() == "3F00/1003");
        Assert.Equal("0102030405060708", created.GetProperty("content").GetString());
        Assert.False(vicc.HasExited, "the walk must not crash vicc (no SELECT with FCI)");
    }
}
