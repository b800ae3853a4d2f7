using CardKeep.Protocol;
using CardKeep.Protocol.Registration;
using CardKeep.Protocol.Sessions;

namespace CardKeep.Protocol.Tests;

/// <summary>Runs client and server state machines against each other in-process, with a hook to tamper with each message.</summary>
public sealed class Exchange
{
    public delegate byte[] Tamper(int stage, byte[] message);

    public ManualClock Clock { get; } = new(TestPki.Now);

    public ITrk1Random ServerRandom { get; init; } = SystemTrk1Random.Instance;

    public ITrk1Random ClientRandom { get; init; } = SystemTrk1Random.Instance;

    public RegistrationTemplate Template { get; init; } = new(["host"], true);

    public static readonly byte[] Serial = Enumerable.Range(1, 16).Select(i => (byte)i).ToArray();

    public sealed record Registered(RegistrationResult Client, byte[] ServerSsk, RegistrationGrant Grant, byte[][] Messages);

    /// <summary>REG1–REG5; stage n is REGn. Throws the Trk1Exception of whichever side refused.</summary>
    public Registered Register(Pki pki, Trk1Suite suite, Tamper? tamper = null, Trk1ServerKey? serverKey = null, byte[]? anchor = null, string username = "alice")
    {
        tamper ??= (_, m) => m;
        var key = serverKey ?? pki.Server(suite);
        var messages = new byte[5][];
        var hello = RegistrationServer.CreateHello(key, Template, Clock.GetUtcNow(), ServerRandom);
        using var client = new RegistrationClient(anchor ?? pki.Anchor, Clock, ClientRandom);
        messages[0] = tamper(1, hello.Message);
        client.ProcessHello(messages[0]);
        messages[1] = tamper(2, client.CreateRequest(new RegistrationIdentity(Serial, username, "ACT-CODE", new Dictionary<string, string> { ["host"] = "pc1" })));
        using var request = RegistrationServer.OpenRequest(hello, key, messages[1], Clock.GetUtcNow());
        var grant = new RegistrationGrant(Enumerable.Repeat((byte)7, 32).ToArray(), ServerRandom.Bytes(16), "/apps/alice", Clock.GetUtcNow().AddDays(365), 3);
        using var pending = RegistrationServer.CreateResponse(request, grant, Clock.GetUtcNow(), ServerRandom);
        messages[2] = tamper(3, pending.Message);
        messages[3] = tamper(4, client.ProcessResponse(messages[2]));
        messages[4] = tamper(5, RegistrationServer.Finish(pending, messages[3], Clock.GetUtcNow()));
        var result = client.ProcessAck(messages[4]);
        return new Registered(result, (byte[])pending.Ssk.Clone(), grant, messages);
    }

    public sealed record Established(RecordChannel Client, RecordChannel Server, byte[][] Messages) : IDisposable
    {
        public void Dispose()
        {
            Client.Dispose();
            Server.Dispose();
        }
    }

    /// <summary>S1–S3, then S4 (UserInfo) and S5 (Config) records; stage n is Sn.</summary>
    public Established Session(TokenCredential credential, byte[] serverSsk, Trk1Mode mode = Trk1Mode.None, Tamper? tamper = null, bool allowPskOnly = false, byte[]? serverId = null)
    {
        tamper ??= (_, m) => m;
        var messages = new byte[5][];
        using var challenge = SessionServer.CreateChallenge(serverId ?? credential.ServerId, credential.Suite, mode, Clock.GetUtcNow(), ServerRandom);
        using var client = new SessionClient(credential, allowPskOnly, Clock, ClientRandom);
        messages[0] = tamper(1, challenge.Message);
        messages[1] = tamper(2, client.ProcessChallenge(messages[0]));
        using var response = SessionServer.OpenResponse(challenge, messages[1], Clock.GetUtcNow());
        var established = SessionServer.Verify(response, serverSsk);
        messages[2] = tamper(3, established.ServerFinished);
        var clientKeys = client.ProcessServerFinished(messages[2]);
        var clientChannel = RecordChannel.ForClient(clientKeys, client.Sid.Span, credential.Suite, client.Mode);
        var serverChannel = RecordChannel.ForServer(established.Keys, challenge.Sid, challenge.Suite, challenge.Mode);
        messages[3] = tamper(4, clientChannel.Seal(Trk1MessageType.UserInfo, """{"host":"pc1","location":"office"}"""u8));
        serverChannel.Open(messages[3], Trk1MessageType.UserInfo, Trk1Limits.MaxUserInfoLength);
        messages[4] = tamper(5, serverChannel.Seal(Trk1MessageType.Config, """{"schema":1}"""u8));
        clientChannel.Open(messages[4], Trk1MessageType.Config, Trk1Limits.MaxConfigLength);
        return new Established(clientChannel, serverChannel, messages);
    }

    public static TokenCredential Credential(Registered registered) =>
        new(registered.Client.ServerId, registered.Client.TokenHandle, registered.Client.Ssk, registered.Client.Suite);
}
