using System.Diagnostics;
using CardKeep.Cards.Iso7816;
using CardKeep.Cards.PcSc;
using CardKeep.Interop.Tests.Harness;
using CardKeep.VirtualCard.Edge;

namespace CardKeep.Interop.Tests.Foundation;

public sealed class BadInputTests
{
    [Theory]
    [InlineData("00 A4 0G", "not a hex digit")]
    [InlineData("00A4000", "odd number of hex digits")]
    [InlineData("00 A4 00 0C 02 3F", "Lc says 2 data bytes but 1")]
    [InlineData("00A4", "at least 4 header bytes")]
    public async Task ApduCommand_MalformedApdu_ExitsTwoAndSendsNothing(string bad, string expected)
    {
        using var slot = SlotLease.Acquire();
        var card = new CountingCard();
        using var linked = new LinkedCard(slot, card);

        var result = await CardKeepCli.RunAsync("apdu", "--reader", slot.Reader, "00A4000C023F00", bad);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains(expected, result.StdErr, StringComparison.Ordinal);
        Assert.Equal(0, card.Commands);
    }

    [Fact]
    public async Task ApduCommand_UnknownReader_ExitsTwoListingTheReaders()
    {
        PrivatePcscd.EnsureRunning();
        var result = await CardKeepCli.RunAsync("apdu", "--reader", "no such reader", "00A4000C023F00");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("no reader matches 'no such reader'", result.StdErr, StringComparison.Ordinal);
        Assert.Contains("0: 'Virtual PCD 00 00'", result.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadersCommand_PcscdNotRunning_SaysSoAndHowToStartIt()
    {
        var env = new Dictionary<string, string?> { ["PCSCLITE_CSOCK_NAME"] = "/nonexistent/pcscd.comm" };
        var result = await CardKeepCli.RunAsync(["readers"], env);
        Assert.Equal(3, result.ExitCode);
        Assert.Contains("SCARD_E_NO_SERVICE", result.StdErr, StringComparison.Ordinal);
        Assert.Contains("/nonexistent/pcscd.comm", result.StdErr, StringComparison.Ordinal);
        Assert.Contains("start it with", result.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public void Transmit_CardRemovedMidCommand_ThrowsTypedErrorWithoutHanging()
    {
        using var slot = SlotLease.Acquire();
        using var dropping = new DroppingCard();
        using var linked = new LinkedCard(slot, dropping);
        dropping.Link = linked;
        using var context = PcscContext.Establish();
        using var channel = context.Connect(slot.Reader);

        var clock = Stopwatch.StartNew();
        var error = Assert.ThrowsAny<PcscException>(() => channel.Transmit(new CommandApdu(0x00, 0xA4, 0x00, 0x0C, [0x3F, 0x00])));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.ElapsedMilliseconds} ms");
        Assert.Equal(slot.Reader, error.Reader);
        Assert.StartsWith("SCARD_", error.CodeName, StringComparison.Ordinal);
    }

    private sealed class CountingCard : ICardEmulator
    {
        private int _commands;

        public int Commands => _commands;

        public ReadOnlyMemory<byte> Atr { get; } = Convert.FromHexString("3B8080010101");

        public byte[] Process(ReadOnlySpan<byte> commandApdu)
        {
            Interlocked.Increment(ref _commands);
            return [0x90, 0x00];
        }

        public void Reset()
        {
        }
    }

    /// <summary>Pulls itself out of the reader instead of answering the first APDU.</summary>
    private sealed class DroppingCard : ICardEmulator, IDisposable
    {
        public LinkedCard? Link { get; set; }

        public ReadOnlyMemory<byte> Atr { get; } = Convert.FromHexString("3B8080010101");

        public byte[] Process(ReadOnlySpan<byte> commandApdu)
        {
            var link = Link;
            // A thread of its own: under a busy test run a thread-pool task may start after the 200 ms are over,
            // and the card would answer before it is pulled.
            new Thread(() => link?.Eject()) { IsBackground = true }.Start();
            Thread.Sleep(200);
            return [0x90, 0x00];
        }

        public void Reset()
        {
        }

        public void Dispose()
        {
        }
    }
}
