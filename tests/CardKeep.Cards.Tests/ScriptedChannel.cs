using CardKeep.Cards.Channels;
using CardKeep.Cards.Iso7816;

namespace CardKeep.Cards.Tests;

/// <summary>
/// A card that follows a script: each <see cref="Expect(string, string)"/> names the exact APDU the code under test must
/// send next and the response to give. Any other APDU fails the test. Records the encoded bytes of every command at the
/// moment it is sent (later wiping of the command objects does not change the record).
/// </summary>
internal sealed class ScriptedChannel : ICardChannel
{
    private readonly Queue<(string Command, string Response)> _script = new();

    public string Name => "scripted";

    public ReadOnlyMemory<byte> Atr { get; } = Hex.Bytes("3B8B800180F9A0000003080000100018");

    public List<string> Sent { get; } = [];

    public List<CommandApdu> SentObjects { get; } = [];

    public int TransactionsBegun { get; private set; }

    public int OpenTransactions { get; private set; }

    public bool Disposed { get; private set; }

    /// <summary>Adds one exchange; hex may contain spaces. The response includes SW1 SW2.</summary>
    public ScriptedChannel Expect(string command, string response)
    {
        _script.Enqueue((Normalize(command), Normalize(response)));
        return this;
    }

    public ResponseApdu Transmit(CommandApdu command)
    {
        ArgumentNullException.ThrowIfNull(command);
        string sent = Hex.Of(command.Encode());
        Sent.Add(sent);
        SentObjects.Add(command);
        Assert.True(_script.Count > 0, $"unexpected APDU after the script ended: {sent}");
        var (expected, response) = _script.Dequeue();
        Assert.Equal(expected, sent);
        return ResponseApdu.Parse(Hex.Bytes(response));
    }

    public IDisposable BeginTransaction()
    {
        TransactionsBegun++;
        OpenTransactions++;
        return new Transaction(this);
    }

    /// <summary>Fails unless every scripted exchange happened and no transaction is left open.</summary>
    public void AssertDone()
    {
        Assert.True(_script.Count == 0, $"{_script.Count} scripted APDUs were not sent; next: {(_script.Count > 0 ? _script.Peek().Command : "")}");
        Assert.Equal(0, OpenTransactions);
    }

    public void Dispose() => Disposed = true;

    private static string Normalize(string hex) => hex.Replace(" ", "", StringComparison.Ordinal).ToUpperInvariant();

    private sealed class Transaction(ScriptedChannel channel) : IDisposable
    {
        public void Dispose() => channel.OpenTransactions--;
    }
}
