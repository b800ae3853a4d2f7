using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using CardKeep.Protocol.Recovery;

namespace CardKeep.Server.Tests.Harness;

/// <summary>A clock the test moves by hand (the server's TimeProvider).</summary>
public sealed class ManualClock(DateTimeOffset now) : TimeProvider
{
    private readonly Lock _lock = new();
    private DateTimeOffset _now = now;

    public override DateTimeOffset GetUtcNow()
    {
        lock (_lock)
        {
            return _now;
        }
    }

    public void Advance(TimeSpan by)
    {
        lock (_lock)
        {
            _now += by;
        }
    }
}

/// <summary>A card for the account tests: a PIV serial and a 9A key (ECDSA P-256, P-384 or RSA) that signs card proofs.</summary>
public sealed class TestCard : IDisposable
{
    private readonly AsymmetricAlgorithm _key;

    public TestCard(string serial, string kind = "p256", byte[]? tokenSerial = null)
    {
        Serial = serial;
        TokenSerial = tokenSerial ?? RandomNumberGenerator.GetBytes(16);
        _key = kind switch
        {
            "rsa" => RSA.Create(2048),
            "p384" => ECDsa.Create(ECCurve.NamedCurves.nistP384),
            _ => ECDsa.Create(ECCurve.NamedCurves.nistP256),
        };
    }

    public string Serial { get; }

    public byte[] TokenSerial { get; }

    public byte[] PublicKey => _key.ExportSubjectPublicKeyInfo();

    public byte[] Sign(string purpose, string username, byte[] nonce)
    {
        var message = CardProof.Message(purpose, username, Serial, nonce);
        return _key is RSA rsa
            ? rsa.SignData(message, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1)
            : ((ECDsa)_key).SignData(message, CardProof.HashFor(PublicKey), DSASignatureFormat.Rfc3279DerSequence);
    }

    public void Dispose() => _key.Dispose();
}

/// <summary>The account API over real HTTP.</summary>
public sealed class AccountApi(TestServer server)
{
    public const string Password = "correct horse battery";

    public static byte[] NewMachineSecret() => RandomNumberGenerator.GetBytes(32);

    public async Task<(HttpStatusCode Status, JsonElement Body, HttpResponseMessage Response)> SendAsync(HttpMethod method, string path, object? body = null, string? bearer = null)
    {
        using var request = new HttpRequestMessage(method, new Uri(server.Url, "v1/account/" + path));
        if (bearer is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        }

        if (body is not null)
        {
            request.Content = JsonContent.Create(body);
        }

        var response = await server.Http.SendAsync(request);
        string text = await response.Content.ReadAsStringAsync();
        var json = text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
        return (response.StatusCode, json, response);
    }

    public async Task<JsonElement> OkAsync(HttpMethod method, string path, object? body = null, string? bearer = null)
    {
        var (status, json, response) = await SendAsync(method, path, body, bearer);
        response.Dispose();
        Assert.True(status is HttpStatusCode.OK or HttpStatusCode.Created, $"{path}: {(int)status} {json}");
        return json;
    }

    public async Task<byte[]> NonceAsync(string username, string serial, string purpose) =>
        (await OkAsync(HttpMethod.Post, "challenge", new { username, cardSerial = serial, purpose })).GetProperty("nonce").GetBytesFromBase64();

    public async Task<object> ProofAsync(TestCard card, string username, string purpose)
    {
        var nonce = await NonceAsync(username, card.Serial, purpose);
        return new { serial = card.Serial, publicKey = card.PublicKey, tokenSerial = Convert.ToHexStringLower(card.TokenSerial), nonce, signature = card.Sign(purpose, username, nonce) };
    }

    public async Task<object> RegisterBodyAsync(string username, TestCard card, string machineId, byte[] machineSecret, string? code = null) => new
    {
        activationCode = code ?? await server.ActivationCodeAsync(username),
        username,
        password = Password,
        question = "First pet?",
        answer = "  Rex  the Dog ",
        fullName = "Test User",
        email = username + "@example.org",
        machine = new { id = machineId, serial = "PF-" + machineId, secret = machineSecret },
        card = await ProofAsync(card, username, CardProofPurpose.Register),
    };

    /// <summary>Registers; returns the response (accessKey, tokenActivationCode, …).</summary>
    public async Task<JsonElement> RegisterAsync(string username, TestCard card, string machineId, byte[] machineSecret) =>
        await OkAsync(HttpMethod.Post, "register", await RegisterBodyAsync(username, card, machineId, machineSecret));

    public async Task<(HttpStatusCode Status, JsonElement Body)> CardLoginAsync(string username, TestCard card)
    {
        var nonce = await NonceAsync(username, card.Serial, CardProofPurpose.Login);
        var (status, body, response) = await SendAsync(HttpMethod.Post, "login/card", new { username, cardSerial = card.Serial, nonce, signature = card.Sign(CardProofPurpose.Login, username, nonce) });
        response.Dispose();
        return (status, body);
    }

    public async Task<string> CardTokenAsync(string username, TestCard card)
    {
        var (status, body) = await CardLoginAsync(username, card);
        Assert.Equal(HttpStatusCode.OK, status);
        return body.GetProperty("token").GetString()!;
    }

    public async Task<string> PasswordTokenAsync(string username) =>
        (await OkAsync(HttpMethod.Post, "login/password", new { username, password = Password })).GetProperty("token").GetString()!;

    public async Task<(bool Valid, HttpResponseMessage Response)> VerifyAsync(string username, string machineId, byte[] secret, string accessKey)
    {
        var (status, body, response) = await SendAsync(HttpMethod.Post, "access-key/verify", new { username, machineId, machineSecret = secret, accessKey });
        Assert.Equal(HttpStatusCode.OK, status);
        return (body.GetProperty("valid").GetBoolean(), response);
    }

    public async Task<bool> ValidAsync(string username, string machineId, byte[] secret, string accessKey)
    {
        var (valid, response) = await VerifyAsync(username, machineId, secret, accessKey);
        response.Dispose();
        return valid;
    }
}
