using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using CardKeep.Cards.Piv;
using CardKeep.Client.PersonalEnvironment;
using CardKeep.Protocol.Recovery;
using CardKeep.Server.Tests.Harness;
using CardKeep.VirtualCard.Edge;
using CardKeep.VirtualCard.Store;

namespace CardKeep.Server.Tests.Records;

/// <summary>
/// A CardKeep VSC driven in-process through its PIV applet (the same APDUs a reader card gets): a 9A key for the
/// account's card proofs and a 9D key the record master key is wrapped to.
/// </summary>
internal sealed class TestCard : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("cardkeep-env-card-").FullName;
    private readonly VirtualSmartCard _vsc;

    public TestCard(PivAlgorithm keyManagement = PivAlgorithm.EccP256)
    {
        _vsc = VirtualSmartCard.Create(Path.Combine(_directory, "card.vsc"), new VscCreateOptions { Iterations = 1000, AllowWeakKdfForTests = true });
        Serial = "vsc-" + Guid.NewGuid().ToString("N")[..12];
        Session = PivSession.Open(new EmulatorChannel(new PivApplet(_vsc), Serial));
        Session.AuthenticateManagementKey(PivAlgorithm.TripleDes, PivManagementKey.DefaultKey);
        AuthenticationKey = Session.GenerateKeyPair(PivSlot.Authentication, PivAlgorithm.EccP256).ToSubjectPublicKeyInfo();
        Session.GenerateKeyPair(PivSlot.KeyManagement, keyManagement);
    }

    public string Serial { get; }

    public PivSession Session { get; }

    public byte[] AuthenticationKey { get; }

    /// <summary>The card as the environment uses it (PIN verified, management key for writes).</summary>
    public PivEnvironmentCard Environment() => new(Session, Serial, PivPin.DefaultPin, PivManagementKey.DefaultKey);

    /// <summary>The 9A signature over a card proof (PIN verified).</summary>
    public byte[] Prove(string purpose, string user, byte[] nonce)
    {
        Session.VerifyPin(PivPin.DefaultPin);
        var digest = SHA256.HashData(CardProof.Message(purpose, user, Serial, nonce));
        return Session.Sign(PivSlot.Authentication, PivAlgorithm.EccP256, digest);
    }

    public void Dispose()
    {
        Session.Dispose();
        _vsc.Dispose();
        Directory.Delete(_directory, recursive: true);
    }
}

/// <summary>Issue 7's account API, driven as its client does: register with a card, sign in with a card, replace the card.</summary>
internal static class TestAccounts
{
    public const string Password = "correct horse battery staple";

    public static Dictionary<string, string?> Settings(Dictionary<string, string?> values)
    {
        values["Accounts:PasswordIterations"] = "1000";
        values["Accounts:AccessKeyIterations"] = "1000";
        return values;
    }

    public static async Task RegisterAsync(TestServer server, string user, TestCard card)
    {
        string code = await server.ActivationCodeAsync(user);
        byte[] nonce = await ChallengeAsync(server, user, card, CardProofPurpose.Register);
        await PostAsync(server, "v1/account/register", null, new
        {
            activationCode = code,
            username = user,
            password = Password,
            question = "first pet?",
            answer = "Rex",
            fullName = "Test User",
            email = "test@example.org",
            machine = new { id = "machine-1", serial = "PF1", secret = RandomNumberGenerator.GetBytes(32) },
            card = new { serial = card.Serial, publicKey = card.AuthenticationKey, nonce, signature = card.Prove(CardProofPurpose.Register, user, nonce) },
        });
    }

    public static async Task<string> LoginAsync(TestServer server, string user, TestCard card)
    {
        byte[] nonce = await ChallengeAsync(server, user, card, CardProofPurpose.Login);
        var session = await PostAsync(server, "v1/account/login/card", null,
            new { username = user, cardSerial = card.Serial, nonce, signature = card.Prove(CardProofPurpose.Login, user, nonce) });
        return session.GetProperty("token").GetString()!;
    }

    public static async Task ReplaceAsync(TestServer server, string user, string bearer, TestCard newCard)
    {
        byte[] nonce = await ChallengeAsync(server, user, newCard, CardProofPurpose.Replace);
        await PostAsync(server, "v1/account/replace-card", bearer, new
        {
            newCard = new { serial = newCard.Serial, publicKey = newCard.AuthenticationKey, nonce, signature = newCard.Prove(CardProofPurpose.Replace, user, nonce) },
            temporary = false,
        });
    }

    private static async Task<byte[]> ChallengeAsync(TestServer server, string user, TestCard card, string purpose) =>
        (await PostAsync(server, "v1/account/challenge", null, new { username = user, cardSerial = card.Serial, purpose })).GetProperty("nonce").GetBytesFromBase64();

    private static async Task<JsonElement> PostAsync(TestServer server, string path, string? bearer, object body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(server.Url, path)) { Content = JsonContent.Create(body) };
        if (bearer is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        }

        using var response = await server.Http.SendAsync(request);
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{path}: {(int)response.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }
}

/// <summary>One computer's view: a client data folder, a card and (online) a records client.</summary>
internal sealed class TestComputer : IDisposable
{
    private readonly string _directory = System.IO.Directory.CreateTempSubdirectory("cardkeep-env-folder-").FullName;

    public TestComputer(string user) => User = user;

    public string User { get; }

    public LocalFolder Folder => new(_directory);

    public string Directory => _directory;

    /// <summary>An environment for <paramref name="card"/> (online when a server and token are given).</summary>
    public EnvironmentService Open(TestCard card, TestServer? server, string? bearer, int budget = int.MaxValue)
    {
        var environmentCard = card.Environment();
        return new(User, environmentCard, environmentCard, budget, Folder, server is null ? null : new RecordsClient(server.Url, bearer!));
    }

    public void Dispose() => System.IO.Directory.Delete(_directory, recursive: true);
}
