using System.Text.RegularExpressions;
using CardKeep.Interop.Tests.Harness;

namespace CardKeep.Interop.Tests.VirtualCard;

/// <summary>The live virtual card (PivApplet over VpcdLink in the private pcscd) as OpenSC and yubico-piv-tool first see it.</summary>
public sealed partial class VscDetectionTests : IDisposable
{
    private readonly VirtualCardOnReader _vsc = new();

    public void Dispose() => _vsc.Dispose();

    [Fact]
    public async Task OpenScTool_Name_IsPivWithHistoricalBytesTypeAndNoWorkarounds()
    {
        var name = await _vsc.RunOkAsync("opensc-tool", "-r", _vsc.Reader, "-n");
        Assert.Contains("Personal Identity Verification Card", name.StdOut, StringComparison.Ordinal);

        var debug = await _vsc.RunAsync("opensc-tool", ["-r", _vsc.Reader, "-n"], new Dictionary<string, string?> { ["OPENSC_DEBUG"] = "9" });
        Assert.Contains("PIV card-type=14002 card_issues=0x00000000", debug.All, StringComparison.Ordinal);

        var atr = await _vsc.RunOkAsync("opensc-tool", "-r", _vsc.Reader, "-a");
        Assert.Equal("3B:8B:80:01:80:F9:A0:00:00:03:08:00:00:10:00:C8", atr.StdOut.Trim().ToUpperInvariant());
    }

    [Fact]
    public async Task OpenScTool_RawApdus_SelectGivesAptAndDiscoveryIsUnwrapped()
    {
        var result = await _vsc.RunOkAsync("opensc-tool", "-r", _vsc.Reader,
            "-s", "00 A4 04 00 09 A0 00 00 03 08 00 00 10 00 00", "-s", "00 CB 3F FF 03 5C 01 7E 00", "-s", "00 FD 00 00 00");
        var responses = ReceivedData(result.StdOut);
        Assert.Equal(
            ["61114F0600001000010079074F05A000000308", "7E124F0BA0000003080000100001005F2F024000", "050403"],
            responses);
        Assert.Equal(3, result.StdOut.Split("Received (SW1=0x90, SW2=0x00)").Length - 1);
    }

    /// <summary>The data of each "Received" block of opensc-tool -s (hex dump lines: up to 16 bytes, then ASCII).</summary>
    private static List<string> ReceivedData(string output)
    {
        var blocks = new List<string>();
        foreach (string line in output.Split('\n'))
        {
            if (line.StartsWith("Received", StringComparison.Ordinal))
            {
                blocks.Add(string.Empty);
            }
            else if (blocks.Count > 0 && HexDumpLine().Match(line) is { Success: true } match)
            {
                blocks[^1] += match.Groups["hex"].Value.Replace(" ", "", StringComparison.Ordinal);
            }
        }

        return blocks;
    }

    [Fact]
    public async Task Pkcs15Tool_FreshCard_ListsPinPukDiscoveryAndGuidSerial()
    {
        string dump = await _vsc.Pkcs15DumpAsync();

        Assert.Contains("PKCS#15 Card [PIV_II]", dump, StringComparison.Ordinal);
        Assert.Contains("PIN [PIN]", dump, StringComparison.Ordinal);
        Assert.Contains("Reference      : 128 (0x80)", dump, StringComparison.Ordinal);
        Assert.Contains("PIN [PIV PUK]", dump, StringComparison.Ordinal);
        Assert.Contains("7E124F0BA0000003080000100001005F2F024000", dump, StringComparison.Ordinal);
        Assert.Contains("Serial number  : " + Convert.ToHexStringLower(_vsc.Card.CardGuid.Span), dump, StringComparison.Ordinal);
    }

    [Fact]
    public async Task YubicoPivTool_Status_FreshCardShowsVersionSerialChuidAndTries()
    {
        var status = await _vsc.PivToolOkAsync("-a", "status");

        Assert.Contains("Version:\t5.4.3", status.StdOut, StringComparison.Ordinal);
        Assert.Contains($"Serial Number:\t{_vsc.Card.Serial}", status.StdOut, StringComparison.Ordinal);
        Assert.Contains("CHUID:\t3019d4e739da739ced39ce739da16858210842108421804210c3f334" + "10" + Convert.ToHexStringLower(_vsc.Card.CardGuid.Span),
            status.StdOut, StringComparison.Ordinal);
        Assert.Contains("PIN tries left:\t3", status.StdOut, StringComparison.Ordinal);
        Assert.DoesNotContain("Slot 9a", status.StdOut, StringComparison.Ordinal);

        var version = await _vsc.PivToolOkAsync("-a", "version");
        Assert.Contains("Application version 5.4.3 found.", version.All, StringComparison.Ordinal);
    }

    [GeneratedRegex("^(?<hex>(?:[0-9A-F]{2} ){1,16})")]
    private static partial Regex HexDumpLine();
}
