using CardKeep.Cards.Channels;
using CardKeep.Cards.Iso7816;

namespace CardKeep.Cards.Tests.Channels;

public class IsoChannelTests
{
    private static string Bytes(int count, byte value) => string.Concat(Enumerable.Repeat(value.ToString("X2", System.Globalization.CultureInfo.InvariantCulture), count));

    // Regression: CommandApdu marks data longer than 255 bytes as extended, and IsoChannel passed every extended
    // command through unchained, so long PUT DATA / IMPORT KEY commands were never chained.
    [Fact]
    public void Transmit_LongData_IsChainedInShortPieces()
    {
        var data = Enumerable.Repeat((byte)0xAB, 300).ToArray();
        var card = new ScriptedChannel()
            .Expect("10 DB 3F FF FF" + Bytes(255, 0xAB), "9000")
            .Expect("00 DB 3F FF 2D" + Bytes(45, 0xAB), "9000");
        using var channel = new IsoChannel(card);

        var response = channel.Transmit(new CommandApdu(0x00, 0xDB, 0x3F, 0xFF, data));

        Assert.True(response.IsSuccess);
        card.AssertDone();
    }

    [Fact]
    public void Transmit_ChainedPieces_AreWipedAfterSending()
    {
        var card = new ScriptedChannel()
            .Expect("10 FE 07 9A FF" + Bytes(255, 0x11), "9000")
            .Expect("00 FE 07 9A 01 11", "9000");
        using var channel = new IsoChannel(card);

        channel.Transmit(new CommandApdu(0x00, 0xFE, 0x07, 0x9A, Enumerable.Repeat((byte)0x11, 256).ToArray()));

        Assert.All(card.SentObjects, piece => Assert.True(piece.Data.Span.IndexOfAnyExcept((byte)0) < 0));
    }

    [Fact]
    public void Transmit_LastPieceWithLe_FollowsGetResponse()
    {
        var card = new ScriptedChannel()
            .Expect("10 87 07 9C FF" + Bytes(255, 0x01), "9000")
            .Expect("00 87 07 9C 01 01 00", "AABB 6102")
            .Expect("00 C0 00 00 02", "CCDD 9000");
        using var channel = new IsoChannel(card);

        var response = channel.Transmit(new CommandApdu(0x00, 0x87, 0x07, 0x9C, Enumerable.Repeat((byte)0x01, 256).ToArray(), 256));

        Assert.Equal("AABBCCDD", Hex.Of(response.Data));
        card.AssertDone();
    }

    [Fact]
    public void Transmit_InterimError_StopsChain()
    {
        var card = new ScriptedChannel().Expect("10 DB 3F FF FF" + Bytes(255, 0), "6982");
        using var channel = new IsoChannel(card);
        Assert.Equal(0x6982, channel.Transmit(new CommandApdu(0x00, 0xDB, 0x3F, 0xFF, new byte[400])).StatusWord.Value);
        card.AssertDone();
    }

    [Fact]
    public void Transmit_ExtendedLengthEnabled_PassesThrough()
    {
        var card = new ScriptedChannel().Expect("00 DB 3F FF 00 01 00" + Bytes(256, 0), "9000");
        using var channel = new IsoChannel(card, extendedLength: true);
        Assert.True(channel.Transmit(new CommandApdu(0x00, 0xDB, 0x3F, 0xFF, new byte[256])).IsSuccess);
        card.AssertDone();
    }

    [Fact]
    public void Transmit_WrongLe_ResendsWithExactLe()
    {
        var card = new ScriptedChannel()
            .Expect("00 CA 00 00 00", "6C04")
            .Expect("00 CA 00 00 04", "01020304 9000");
        using var channel = new IsoChannel(card);
        Assert.Equal("01020304", Hex.Of(channel.Transmit(new CommandApdu(0x00, 0xCA, 0, 0, default, 256)).Data));
        card.AssertDone();
    }

    [Fact]
    public void Transmit_61xx_FollowsWithGetResponseAndConcatenates()
    {
        var answers = new Queue<ResponseApdu>([
            new ResponseApdu(new byte[256], StatusWord.BytesAvailable(8)),
            new ResponseApdu([1, 2, 3, 4, 5, 6, 7, 8], StatusWord.Success),
        ]);
        var card = new FuncChannel(_ => answers.Dequeue());
        using var channel = new IsoChannel(card);
        var response = channel.Transmit(new CommandApdu(0x00, 0x87, 0x07, 0x9C, [0x7C, 0x00], 256));
        Assert.Equal(264, response.Data.Length);
        Assert.True(response.IsSuccess);
        Assert.Equal("00C0000008", card.Sent[1].ToString());
    }

    [Fact]
    public void Transmit_EndlessMoreData_ThrowsInsteadOfLooping()
    {
        var card = new FuncChannel(_ => new ResponseApdu([0], StatusWord.BytesAvailable(1)));
        using var channel = new IsoChannel(card);
        Assert.Throws<CardFormatException>(() => channel.Transmit(new CommandApdu(0, 0xCB, 0x3F, 0xFF, [0x5C, 0x01, 0x7E])));
    }

    internal sealed class FuncChannel(Func<CommandApdu, ResponseApdu> answer) : ICardChannel
    {
        public List<CommandApdu> Sent { get; } = [];

        public string Name => "scripted";

        public ReadOnlyMemory<byte> Atr => new byte[] { 0x3B, 0x00 };

        public ResponseApdu Transmit(CommandApdu command)
        {
            Sent.Add(command);
            return answer(command);
        }

        public IDisposable BeginTransaction() => new MemoryStream();

        public void Dispose()
        {
        }
    }
}
