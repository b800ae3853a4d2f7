using System.Security.Cryptography;
using CardKeep.Agent.Daemon;
using CardKeep.Agent.Keys;
using CardKeep.Agent.Routing;
using CardKeep.Agent.Sessions;
using CardKeep.Agent.SshAgent;
using CardKeep.Cards.Piv;
using Microsoft.Extensions.Logging.Abstractions;
using static CardKeep.Agent.Tests.TestSupport;

namespace CardKeep.Agent.Tests.Routing;

public sealed class CardRoutingTests : IDisposable
{
    private const string Reader = "Virtual PCD 00 00";
    private readonly VirtualCards _cards = new();
    private readonly string _state = Directory.CreateTempSubdirectory("cardkeep-agent-state-").FullName;

    public void Dispose()
    {
        _cards.Dispose();
        Directory.Delete(_state, recursive: true);
    }

    [Fact]
    public void CardKey_SignSsh_EcdsaAndRsaVerifyAndPinAlwaysSlotIsReverified()
    {
        _cards.Insert(Reader, (PivSlot.Authentication, PivAlgorithm.EccP256), (PivSlot.Signature, PivAlgorithm.Rsa2048));
        using var connection = _cards.Open(Reader);
        connection.VerifyPin(VirtualCards.Pin);
        var keys = connection.ReadKeys().Select(k => new CardKey(connection, k)).ToList();
        Assert.Equal([PivSlot.Authentication, PivSlot.Signature], keys.Select(k => k.Slot));
        foreach (var key in keys)
        {
            foreach (uint flags in new[] { 0u, AgentProtocol.FlagRsaSha256, AgentProtocol.FlagRsaSha512 })
            {
                // 9C has PIN policy "always": every signature needs the cached PIN again (6982, then VERIFY, then retry).
                var signature = key.SignSsh("routed to the card"u8, flags);
                Assert.True(key.PublicKey.Verify("routed to the card"u8, signature));
            }
        }
    }

    [Fact]
    public void CardKey_DecryptAndKeyAgreement_MatchDotNetPublicOperations()
    {
        _cards.Insert(Reader, (PivSlot.KeyManagement, PivAlgorithm.Rsa2048), (PivSlot.Retired1, PivAlgorithm.EccP384));
        using var connection = _cards.Open(Reader);
        connection.VerifyPin(VirtualCards.Pin);
        var keys = connection.ReadKeys().ToDictionary(k => k.Slot, k => new CardKey(connection, k));
        using var rsa = RSA.Create();
        rsa.ImportSubjectPublicKeyInfo(keys[PivSlot.KeyManagement].PublicKey.ToSubjectPublicKeyInfo(), out _);
        var ciphertext = rsa.Encrypt("session key"u8.ToArray(), RSAEncryptionPadding.Pkcs1);
        Assert.Equal("session key"u8.ToArray(), keys[PivSlot.KeyManagement].Decrypt(ciphertext, RSAEncryptionPadding.Pkcs1));

        using var peer = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP384);
        var p = peer.ExportParameters(false);
        var cardSecret = keys[PivSlot.Retired1].KeyAgreement([0x04, .. p.Q.X!, .. p.Q.Y!]);
        using var cardPublic = ECDiffieHellman.Create();
        cardPublic.ImportSubjectPublicKeyInfo(keys[PivSlot.Retired1].PublicKey.ToSubjectPublicKeyInfo(), out _);
        Assert.Equal(peer.DeriveRawSecretAgreement(cardPublic.PublicKey), cardSecret);
    }

    [Fact]
    public void CardConnection_EndedDuringAnOperation_OperationFailsWithClearError()
    {
        _cards.Insert(Reader, (PivSlot.Authentication, PivAlgorithm.EccP256));
        var connection = _cards.Open(Reader);
        connection.VerifyPin(VirtualCards.Pin);
        var key = new CardKey(connection, connection.ReadKeys()[0]);
        var e = Assert.Throws<KeyUnavailableException>(() => connection.Use(piv =>
        {
            // The card "leaves" while the card is working on the signature: the answer must not be given out.
            connection.MarkEnded("card-removed");
            return piv.Sign(PivSlot.Authentication, PivAlgorithm.EccP256, new byte[32]);
        }));
        Assert.Contains("card-removed", e.Message, StringComparison.Ordinal);
        connection.End("card-removed");
        Assert.Throws<KeyUnavailableException>(() => key.SignSsh("x"u8, 0));
    }

    [Fact]
    public void SessionManager_EnrollLoginAndRemoval_KeysComeAndGoAndHookRuns()
    {
        _cards.Insert(Reader, (PivSlot.Authentication, PivAlgorithm.EccP256), (PivSlot.Signature, PivAlgorithm.EccP384));
        using var keys = Manager();
        string hookFile = Path.Combine(_state, "hook");
        var hook = CommandTemplate.Parse($"/bin/sh -c 'echo \"$0 $1\" > {hookFile}' {{user}} {{reader}}");
        using var sessions = new SessionManager(keys, AgentPaths.InDirectory(_state), new FakeUsers(), _cards, hook, NullLogger.Instance, hostKeyIterations: 1000);
        sessions.Start(watchCards: false);
        var alice = new FakeUsers().ByUid(1000)!;
        var enrolled = sessions.Enroll(alice, Reader, VirtualCards.Pin);
        Assert.Equal(Reader, sessions.LoginMethod(1000, null).Reader);
        Assert.Throws<LoginFailedException>(() => sessions.Login(new LoginRequest(alice, null, null, null, null), "654321"u8));
        var session = sessions.Login(new LoginRequest(alice, null, "/dev/pts/1", "10.0.0.1", "7"), VirtualCards.Pin);
        Assert.True(session.Card);
        Assert.Equal(enrolled.Serial, session.CardSerial);
        Assert.Equal(2, keys.List(1000).Count);
        Assert.Empty(keys.List(2000));

        UserSession? ended = null;
        sessions.CardSessionEnded += (_, s) => ended = s;
        _cards.Remove(Reader);
        sessions.OnCardRemoved(Reader);
        Assert.Empty(keys.List(1000));
        Assert.Equal("card-removed", ended!.EndReason);
        Assert.Empty(new SessionStore(Path.Combine(_state, "sessions.json")).Active);
        sessions.WaitForHooks(TimeSpan.FromSeconds(10));
        Assert.Equal($"alice {Reader}", File.ReadAllText(hookFile).Trim());
    }

    [Fact]
    public void SessionManager_RestartWithCardGone_EndsTheRecordedSession()
    {
        _cards.Insert(Reader, (PivSlot.Authentication, PivAlgorithm.EccP256));
        var alice = new FakeUsers().ByUid(1000)!;
        using (var keys = Manager())
        using (var sessions = new SessionManager(keys, AgentPaths.InDirectory(_state), new FakeUsers(), _cards, null, NullLogger.Instance))
        {
            sessions.Start(watchCards: false);
            sessions.Enroll(alice, Reader, VirtualCards.Pin);
            sessions.Login(new LoginRequest(alice, Reader, null, null, null), VirtualCards.Pin);
        }

        using (var keys = Manager())
        using (var sessions = new SessionManager(keys, AgentPaths.InDirectory(_state), new FakeUsers(), _cards, null, NullLogger.Instance))
        {
            sessions.Start(watchCards: false);
            Assert.Single(sessions.SessionsOf(1000));
            Assert.Single(keys.List(1000));
        }

        _cards.Remove(Reader);
        using (var keys = Manager())
        using (var sessions = new SessionManager(keys, AgentPaths.InDirectory(_state), new FakeUsers(), _cards, null, NullLogger.Instance))
        {
            sessions.Start(watchCards: false);
            Assert.Empty(sessions.SessionsOf(1000));
            Assert.Equal("card-removed", sessions.Store.All.Single().EndReason);
        }
    }
}
