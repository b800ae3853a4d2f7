using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using CardKeep.Agent.Api;
using CardKeep.Agent.HostKeys;
using CardKeep.Agent.Keys;
using CardKeep.Agent.Sessions;
using CardKeep.Agent.SshAgent;
using CardKeep.Agent.Tests.Routing;
using Microsoft.Extensions.Logging.Abstractions;
using static CardKeep.Agent.Tests.TestSupport;

namespace CardKeep.Agent.Tests.Api;

public sealed class ApiHandlerTests : IDisposable
{
    private readonly string _state = Directory.CreateTempSubdirectory("cardkeep-api-").FullName;
    private readonly VirtualCards _cards = new();
    private readonly KeyStoreManager _keys = Manager();
    private readonly SessionManager _sessions;
    private readonly ApiHandler _api;

    public ApiHandlerTests()
    {
        _sessions = new SessionManager(_keys, AgentPaths.InDirectory(_state), new FakeUsers(), _cards, null, NullLogger.Instance, hostKeyIterations: 1000);
        _api = new ApiHandler(_keys, _sessions, new HostKeyService(_sessions, _keys), NullLogger.Instance);
    }

    public void Dispose()
    {
        _sessions.Dispose();
        _keys.Dispose();
        _cards.Dispose();
        Directory.Delete(_state, recursive: true);
    }

    [Theory]
    [InlineData(SshKeyType.Rsa, "der")]
    [InlineData(SshKeyType.EcdsaP256, "der")]
    [InlineData(SshKeyType.EcdsaP384, "p1363")]
    [InlineData(SshKeyType.Ed25519, "raw")]
    [InlineData(SshKeyType.Rsa, "ssh")]
    public void SignThenVerify_AddedKey_ValidAndTamperedInvalid(SshKeyType type, string format)
    {
        var key = SoftwareKey.Generate(type, 2048, "k", KeySource.Added);
        _keys.AddKey(Alice.Uid, key, null, false);
        string data = Convert.ToBase64String("hello"u8);
        var signed = Call(Alice, $$"""{"op":"sign","key":"{{key.PublicKey.Fingerprint}}","data":"{{data}}","hash":"sha384","format":"{{format}}"}""");
        string signature = signed.GetProperty("signature").GetString()!;
        var valid = Call(Alice, $$"""{"op":"verify","publicKey":"{{key.PublicKey.ToAuthorizedKey()}}","data":"{{data}}","signature":"{{signature}}","hash":"sha384","format":"{{format}}"}""");
        Assert.True(valid.GetProperty("valid").GetBoolean());
        var other = Convert.ToBase64String("hellO"u8);
        var invalid = Call(Alice, $$"""{"op":"verify","key":"{{key.PublicKey.Fingerprint}}","data":"{{other}}","signature":"{{signature}}","hash":"sha384","format":"{{format}}"}""");
        Assert.False(invalid.GetProperty("valid").GetBoolean());
        if (format == "der" && type == SshKeyType.EcdsaP256)
        {
            using var ecdsa = key.PublicKey.CreateEcdsa();
            Assert.True(ecdsa.VerifyData("hello"u8, Convert.FromBase64String(signature), HashAlgorithmName.SHA384, DSASignatureFormat.Rfc3279DerSequence));
        }
    }

    [Fact]
    public void EncryptDecryptAndKeyAgreement_CardSession_RoutedToTheCard()
    {
        _cards.Insert("r", (CardKeep.Cards.Piv.PivSlot.Authentication, CardKeep.Cards.Piv.PivAlgorithm.EccP256), (CardKeep.Cards.Piv.PivSlot.KeyManagement, CardKeep.Cards.Piv.PivAlgorithm.Rsa2048));
        Call(Alice, """{"op":"enroll-card","reader":"r","pin":"123456"}""");
        var login = Call(Alice, """{"op":"login","secret":"123456"}""");
        Assert.True(login.GetProperty("session").GetProperty("card").GetBoolean());
        var list = Call(Alice, """{"op":"list"}""").GetProperty("keys").EnumerateArray().ToList();
        Assert.All(list, k => Assert.Equal("card", k.GetProperty("source").GetString()));
        string rsa = list.Single(k => k.GetProperty("type").GetString() == "ssh-rsa").GetProperty("fingerprint").GetString()!;
        string ec = list.Single(k => k.GetProperty("type").GetString() == "ecdsa-sha2-nistp256").GetProperty("fingerprint").GetString()!;

        string plain = Convert.ToBase64String("wrapped key"u8);
        string ciphertext = Call(Alice, $$"""{"op":"encrypt","key":"{{rsa}}","data":"{{plain}}"}""").GetProperty("ciphertext").GetString()!;
        Assert.Equal(plain, Call(Alice, $$"""{"op":"decrypt","key":"{{rsa}}","data":"{{ciphertext}}"}""").GetProperty("plaintext").GetString());

        using var peer = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
        string secret = Call(Alice, $$"""{"op":"key-agreement","key":"{{ec}}","peer":"{{Convert.ToBase64String(peer.ExportSubjectPublicKeyInfo())}}"}""").GetProperty("secret").GetString()!;
        using var cardPublic = ECDiffieHellman.Create();
        cardPublic.ImportSubjectPublicKeyInfo(Convert.FromBase64String(list.Single(k => k.GetProperty("fingerprint").GetString() == ec).GetProperty("spki").GetString()!), out _);
        Assert.Equal(Convert.ToBase64String(peer.DeriveRawSecretAgreement(cardPublic.PublicKey)), secret);

        // Bob cannot use Alice's card keys.
        Assert.Contains("you have no key", Error(Bob, $$"""{"op":"decrypt","key":"{{rsa}}","data":"{{ciphertext}}"}"""), StringComparison.Ordinal);
    }

    [Fact]
    public void Login_UserFieldFromNonRoot_RefusedFromRootActsForThatUser()
    {
        Call(Alice, """{"op":"hostkey-new","type":"ed25519","passphrase":"pw"}""");
        Assert.Contains("only root", Error(Bob, """{"op":"login","user":"alice","secret":"pw"}"""), StringComparison.Ordinal);
        var root = new CardKeep.Agent.Daemon.PeerCredentials(1, 0, 0);
        var session = Call(root, """{"op":"login","user":"alice","secret":"pw","tty":"ssh","remoteHost":"203.0.113.9"}""").GetProperty("session");
        Assert.Equal(1000u, session.GetProperty("uid").GetUInt32());
        Assert.Equal("203.0.113.9", session.GetProperty("remoteHost").GetString());
        Assert.Single(_keys.List(Alice.Uid));
        Assert.Empty(_keys.List(0));
    }

    [Theory]
    [InlineData("not json", "not valid JSON")]
    [InlineData("[1,2]", "\"op\"")]
    [InlineData("""{"op":"nope"}""", "unknown op")]
    [InlineData("""{"op":"sign","key":"SHA256:x","data":"@@"}""", "you have no key")]
    [InlineData("""{"op":"login"}""", "\"secret\" is needed")]
    [InlineData("""{"op":"login","secret":5}""", "must be a string")]
    public void Handle_BadRequests_AnswerOkFalseWithReason(string request, string expected) =>
        Assert.Contains(expected, Error(Alice, request), StringComparison.Ordinal);

    private JsonElement Call(CardKeep.Agent.Daemon.PeerCredentials peer, string request)
    {
        using var answer = JsonDocument.Parse(_api.Handle(peer, Encoding.UTF8.GetBytes(request)));
        Assert.True(answer.RootElement.GetProperty("ok").GetBoolean(), answer.RootElement.ToString());
        return answer.RootElement.Clone();
    }

    private string Error(CardKeep.Agent.Daemon.PeerCredentials peer, string request)
    {
        using var answer = JsonDocument.Parse(_api.Handle(peer, Encoding.UTF8.GetBytes(request)));
        Assert.False(answer.RootElement.GetProperty("ok").GetBoolean());
        return answer.RootElement.GetProperty("error").GetString()!;
    }
}
