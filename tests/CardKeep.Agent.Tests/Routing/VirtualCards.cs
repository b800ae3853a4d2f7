using CardKeep.Agent.Routing;
using CardKeep.Agent.Sessions;
using CardKeep.Cards.Piv;
using CardKeep.VirtualCard.Edge;
using CardKeep.VirtualCard.Store;

namespace CardKeep.Agent.Tests.Routing;

/// <summary>
/// In-process virtual cards (the PIV applet behind an <see cref="EmulatorChannel"/>) standing in for readers: what the
/// agent's routing and session code see through <see cref="ICardAccess"/>, without pcscd. Each Open gets its own applet
/// session, as each PC/SC connection to a card does.
/// </summary>
internal sealed class VirtualCards : ICardAccess, IDisposable
{
    public static readonly byte[] Pin = "123456"u8.ToArray();
    private readonly string _dir = Directory.CreateTempSubdirectory("cardkeep-agent-vsc-").FullName;
    private readonly Dictionary<string, VirtualSmartCard> _readers = new(StringComparer.Ordinal);

    /// <summary>Creates a card in <paramref name="reader"/> with keys generated in the given slots.</summary>
    public VirtualSmartCard Insert(string reader, params (PivSlot Slot, PivAlgorithm Algorithm)[] keys)
    {
        var card = VirtualSmartCard.Create(Path.Combine(_dir, Guid.NewGuid().ToString("N") + ".vsc"),
            new VscCreateOptions { Iterations = 1000, AllowWeakKdfForTests = true });
        using (var session = PivSession.Open(new EmulatorChannel(new PivApplet(card), reader)))
        {
            session.AuthenticateManagementKey(PivAlgorithm.TripleDes, PivManagementKey.DefaultKey);
            foreach (var (slot, algorithm) in keys)
            {
                session.GenerateKeyPair(slot, algorithm);
            }
        }

        _readers[reader] = card;
        return card;
    }

    public void Remove(string reader) => _readers.Remove(reader);

    public IReadOnlyList<string> ReadersWithCard() => [.. _readers.Keys];

    public string ResolveReader(string selector) => selector;

    public CardConnection Open(string reader) => _readers.TryGetValue(reader, out var card)
        ? CardConnection.Over(new EmulatorChannel(new PivApplet(card), reader))
        : throw new CardKeep.Cards.PcSc.PcscCardAbsentException(CardKeep.Cards.PcSc.PcscErrors.NoSmartcard, "SCardConnect", reader);

    public void Dispose()
    {
        foreach (var card in _readers.Values)
        {
            card.Dispose();
        }

        Directory.Delete(_dir, recursive: true);
    }
}

internal sealed class FakeUsers : IUserDirectory
{
    private readonly List<UserAccount> _accounts = [new(1000, 1000, "alice", "/home/alice"), new(2000, 2000, "bob", "/home/bob"), new(0, 0, "root", "/root")];

    public UserAccount? ByUid(uint uid) => _accounts.FirstOrDefault(a => a.Uid == uid);

    public UserAccount? ByName(string name) => _accounts.FirstOrDefault(a => a.Name == name);
}
