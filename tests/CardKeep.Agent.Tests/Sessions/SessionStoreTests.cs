using CardKeep.Agent.Sessions;

namespace CardKeep.Agent.Tests.Sessions;

public sealed class SessionStoreTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("cardkeep-sess-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void AddEndReload_KeepsRecordsAndIsOwnerOnly()
    {
        string path = Path.Combine(_dir, "state", "sessions.json");
        var store = new SessionStore(path);
        store.Add(Session("a", card: true));
        store.Add(Session("b", card: false));
        Assert.NotNull(store.End("a", "card-removed", DateTimeOffset.UnixEpoch));
        Assert.Null(store.End("a", "again", DateTimeOffset.UnixEpoch));
        var reloaded = new SessionStore(path);
        Assert.Equal(["b"], reloaded.Active.Select(s => s.Id));
        var ended = reloaded.All.Single(s => s.Id == "a");
        Assert.Equal("card-removed", ended.EndReason);
        Assert.Equal("2000000001", ended.CardSerial);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.GetDirectoryName(path)!));
        Assert.Contains("\"keyScheme\": \"PivCard\"", File.ReadAllText(path), StringComparison.Ordinal);
    }

    [Fact]
    public void CardRegistry_SerialOfAnotherUid_IsRefused()
    {
        var registry = new CardRegistry(Path.Combine(_dir, "cards.json"));
        var card = new EnrolledCard { Uid = 1, UserName = "a", Serial = "42", PublicKey = [1], Enrolled = DateTimeOffset.UnixEpoch };
        Assert.True(registry.Enroll(card));
        Assert.False(registry.Enroll(card with { Uid = 2, UserName = "b" }));
        Assert.Single(new CardRegistry(Path.Combine(_dir, "cards.json")).For(1));
    }

    private static UserSession Session(string id, bool card) => new()
    {
        Id = id,
        Uid = 1000,
        Gid = 1000,
        UserName = "alice",
        LoginTime = DateTimeOffset.UnixEpoch,
        Card = card,
        Reader = card ? "Virtual PCD 00 00" : null,
        CardSerial = card ? "2000000001" : null,
        KeyScheme = card ? KeyScheme.PivCard : KeyScheme.HostKeyStore,
        Tty = "/dev/pts/3",
    };
}
