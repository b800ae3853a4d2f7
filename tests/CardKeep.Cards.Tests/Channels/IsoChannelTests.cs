using CardKeep.Cards.Channels;
using CardKeep.Cards.Iso7816;

namespace CardKeep.Cards.Tests.Channels;

public sealed class IsoChannelTests
{
    [Fact]
    public void Transmit_600ByteCommand_ChainsIn255BytePiecesWithClaBit()
    {
        var card = new ScriptedChannel(_ => new ResponseApdu(StatusWord.Success));
        using var channel = new IsoChannel(card);
        var data = Enumerable.Range(0, 600).Select(i => (byte)i).ToArray();
        var response = channel.Transmit(new CommandApdu(0x00, 0xDB, 0x3F, 0xFF, data, null));
        Assert.True(response.IsSuccess);
        Assert.Equal([0x10, 0x10, 0x00], card.Sent.Select(c => c.Cla));
        Assert.Equal([255, 255, 90], card.Sent.Select(c => c.Data.Length));
        Assert.Equal(data, card.Sent.SelectMany(c => c.Data.ToArray()));
    }

    [Fact]
    public void Transmit_ChainPieceRejected_StopsAndReturnsThatStatus()
    {
        var card = new ScriptedChannel(_ => new ResponseApdu(StatusWord.NotEnoughMemory));
        using var channel = new IsoChannel(card);
        var response = channel.Transmit(new CommandApdu(0x00, 0xDB, 0x3F, 0xFF, new byte[600]));
        Assert.Equal(StatusWord.NotEnoughMemory, response.StatusWord);
        Assert.Single(card.Sent);
    }

    [Fact]
    public void Transmit_61xx_FollowsWithGetResponseAndConcatenates()
    {
        var answers = new Queue<ResponseApdu>([
            new ResponseApdu(new byte[256], StatusWord.BytesAvailable(8)),
            new ResponseApdu([1, 2, 3, 4, 5, 6, 7, 8], StatusWord.Success),
        ]);
        var card = new ScriptedChannel(_ => answers.Dequeue());
        using var channel = new IsoChannel(card);
        var response = channel.Transmit(new CommandApdu(0x00, 0x87, 0x07, 0x9C, [0x7C, 0x00], 256));
        Assert.Equal(264, response.Data.Length);
        Assert.True(response.IsSuccess);
        Assert.Equal("00C0000008", card.Sent[1].ToString());
    }

    [Fact]
    public void Transmit_6Cxx_ResendsWithExactLe()
    {
        var answers = new Queue<ResponseApdu>([
            new ResponseApdu(StatusWord.WrongLe(0x10)),
            new ResponseApdu(new byte[16], StatusWord.Success),
        ]);
        var card = new ScriptedChannel(_ => answers.Dequeue());
        using var channel = new IsoChannel(card);
        var response = channel.Transmit(new CommandApdu(0x00, 0xB0, 0, 0, default, 256));
        Assert.Equal(16, response.Data.Length);
        Assert.Equal(16, card.Sent[1].Ne);
    }

    [Fact]
    public void Transmit_EndlessMoreData_ThrowsInsteadOfLooping()
    {
        var card = new ScriptedChannel(_ => new ResponseApdu([0], StatusWord.BytesAvailable(1)));
        using var channel = new IsoChannel(card);
        Assert.Throws<CardFormatException>(() => channel.Transmit(new CommandApdu(0, 0xCB, 0x3F, 0xFF, [0x5C, 0x01, 0x7E])));
    }

    internal sealed class ScriptedChannel(Func<CommandApdu, ResponseApdu> answer) : ICardChannel
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
