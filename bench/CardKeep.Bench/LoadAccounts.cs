using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using CardKeep.Cards.Piv;
using CardKeep.Client.PersonalEnvironment;
using CardKeep.Client.Recovery;
using CardKeep.Protocol.Records;
using CardKeep.Protocol.Recovery;

namespace CardKeep.Bench;

/// <summary>
/// One simulated card holder with an account (issue 7) and personal-environment records (issue 8). The "card" is a
/// software ECDSA P-256 key: the server only verifies the slot-9A proof (<see cref="CardProof.Message"/>), and the
/// record master key is wrapped to a second software P-256 key standing for slot 9D. The record master key stays in
/// memory for the whole run, so records are sealed with <see cref="RecordCrypto"/> exactly as <c>cardkeep env</c> does,
/// without a card round trip. Only one worker drives an account (see <see cref="LoadContext.AccountFor"/>), so its
/// state (revisions, access key, token) needs no lock.
/// </summary>
internal sealed class LoadAccount : IDisposable
{
    public required string User { get; init; }

    public required string CardSerial { get; init; }

    public required ECDsa Card { get; init; }

    public required string Password { get; init; }

    public required string MachineId { get; init; }

    public required byte[] MachineSecret { get; init; }

    public required byte[] Rmk { get; init; }

    public required string AccessKey { get; set; }

    /// <summary>Bearer token of scope card (card sign-in), refreshed by the sign-in operation.</summary>
    public string CardToken { get; set; } = string.Empty;

    /// <summary>The user's records: id and current revision.</summary>
    public List<(string Id, long Revision)> Records { get; } = [];

    public void Dispose()
    {
        Card.Dispose();
        CryptographicOperations.ZeroMemory(Rmk);
        CryptographicOperations.ZeroMemory(MachineSecret);
    }
}

/// <summary>Set-up and operations of the account and records part of the load mix.</summary>
internal static class LoadAccounts
{
    private static readonly string[] Sets = ["office"];

    // ---- operations

    /// <summary>Card sign-in: challenge (login) + <c>login/card</c> with the card's proof; the new token replaces the cached one.</summary>
    public static async Task CardSignInAsync(LoadContext c, LoadCall call)
    {
        var account = c.AccountFor(call);
        using var client = new AccountClient(c.Url, c.Http);
        account.CardToken = await SignInAsync(client, account);
    }

    /// <summary>
    /// Record sync as <c>cardkeep env sync</c> with one local edit: <c>GET /v1/records</c> (every record, ciphertext
    /// and wrapped keys), then one edited entry sealed under a fresh DEK for the next revision and <c>PUT</c>.
    /// </summary>
    public static async Task RecordSyncAsync(LoadContext c, LoadCall call)
    {
        var account = c.AccountFor(call);
        using var records = new RecordsClient(c.Url, account.CardToken, c.Http);
        var list = await records.ListAsync();
        if (list.Records.Count != account.Records.Count)
        {
            throw new InvalidOperationException($"record sync: {list.Records.Count} records listed, {account.Records.Count} expected");
        }

        int index = (int)(call.Number % account.Records.Count);
        var (id, revision) = account.Records[index];
        var result = await records.PutAsync(id, Seal(account, id, revision, call.Number));
        if (result.Outcome != "applied" || result.Revision != revision + 1)
        {
            throw new InvalidOperationException($"record sync: put answered {result.Outcome} revision {result.Revision}");
        }

        account.Records[index] = (id, result.Revision);
    }

    /// <summary>An entry used (<c>env get</c>/<c>env open</c>): <c>POST /v1/records/{id}/used</c>.</summary>
    public static async Task RecordUsedAsync(LoadContext c, LoadCall call)
    {
        var account = c.AccountFor(call);
        using var records = new RecordsClient(c.Url, account.CardToken, c.Http);
        await records.TouchAsync(account.Records[(int)(call.Number % account.Records.Count)].Id, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
    }

    /// <summary>Index read: <c>GET /v1/records-summary</c> (metadata only: entries, sizes, sets, quota, cards).</summary>
    public static async Task IndexReadAsync(LoadContext c, LoadCall call)
    {
        var account = c.AccountFor(call);
        using var records = new RecordsClient(c.Url, account.CardToken, c.Http);
        var summary = await records.SummaryAsync();
        if (summary.Entries != account.Records.Count)
        {
            throw new InvalidOperationException($"index read: {summary.Entries} entries, {account.Records.Count} expected");
        }
    }

    /// <summary>The gate opening with an access key: <c>access-key/verify</c> (machine secret), then a rotation as the key is single-use.</summary>
    public static async Task AccessKeyAsync(LoadContext c, LoadCall call)
    {
        var account = c.AccountFor(call);
        using var client = new AccountClient(c.Url, c.Http);
        var verify = await client.VerifyAccessKeyAsync(account.User, account.MachineId, account.MachineSecret, account.AccessKey);
        if (!verify.Valid)
        {
            throw new InvalidOperationException("access key: the current key was refused");
        }

        account.AccessKey = (await client.RotateAccessKeyAsync(account.User, account.MachineId, account.MachineSecret)).AccessKey;
    }

    /// <summary>
    /// Lost-card recovery from another computer with the right password: <c>login/password</c>, <c>recover</c> for the
    /// user's machine (a new access key), and both recovery-scope sessions logged out. Two PBKDF2 password checks.
    /// </summary>
    public static async Task RecoveryAsync(LoadContext c, LoadCall call)
    {
        var account = c.AccountFor(call);
        using var client = new AccountClient(c.Url, c.Http);
        var signIn = await client.LoginPasswordAsync(account.User, account.Password, null);
        var recovered = await client.RecoverAsync(account.User, account.Password, null, account.MachineId);
        account.AccessKey = recovered.AccessKey;
        await client.LogoutAsync(recovered.Token);
        await client.LogoutAsync(signIn.Token);
    }

    // ---- set-up (before the timed run)

    /// <summary>
    /// Registers <paramref name="count"/> accounts, each with an admin activation code, a software card, a machine,
    /// record keys (card wrap and recovery-code wrap) and <paramref name="recordsEach"/> site records; then signs each
    /// in with its card. Four at a time (each registration costs two PBKDF2 hashes on the server).
    /// </summary>
    public static async Task<List<LoadAccount>> RegisterAsync(Uri url, HttpClient http, string adminToken, int count, int recordsEach)
    {
        var accounts = new LoadAccount[count];
        await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (i, _) =>
        {
            accounts[i] = await RegisterOneAsync(url, http, adminToken, i, recordsEach);
        });
        return [.. accounts];
    }

    private static async Task<LoadAccount> RegisterOneAsync(Uri url, HttpClient http, string adminToken, int i, int recordsEach)
    {
        string user = "load-account-" + i.ToString(CultureInfo.InvariantCulture);
        string code = await ActivationCodeAsync(url, http, adminToken, user);
        var account = new LoadAccount
        {
            User = user,
            CardSerial = (10_000_000 + i).ToString(CultureInfo.InvariantCulture),
            Card = ECDsa.Create(ECCurve.NamedCurves.nistP256),
            Password = Convert.ToBase64String(RandomNumberGenerator.GetBytes(15)),
            MachineId = "load-machine-" + i.ToString(CultureInfo.InvariantCulture),
            MachineSecret = RandomNumberGenerator.GetBytes(32),
            Rmk = RecordCrypto.NewKey(),
            AccessKey = string.Empty,
        };
        using var client = new AccountClient(url, http);
        byte[] nonce = await client.ChallengeAsync(user, account.CardSerial, CardProofPurpose.Register);
        var registered = await client.RegisterAsync(new RegisterRequest(code, user, account.Password, "first pet?", "Rex", "Load User", user + "@example.org",
            new MachineRegistration(account.MachineId, "PF" + i.ToString(CultureInfo.InvariantCulture), account.MachineSecret),
            new CardRegistration(account.CardSerial, account.Card.ExportSubjectPublicKeyInfo(), null, nonce, Prove(account, CardProofPurpose.Register, nonce))));
        account.AccessKey = registered.AccessKey;
        account.CardToken = await SignInAsync(client, account);

        using var records = new RecordsClient(url, account.CardToken, http);
        using (var keyManagement = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256))
        {
            byte[] recoveryCode = RandomNumberGenerator.GetBytes(RecordCrypto.RecoveryCodeLength);
            await records.InitKeysAsync(new KeysInitDto(RecordCrypto.WrapToCard(PivPublicKey.FromKey(keyManagement), user, account.CardSerial, account.Rmk),
                RecordCrypto.WrapToRecoveryCode(recoveryCode, user, account.Rmk)));
            CryptographicOperations.ZeroMemory(recoveryCode);
        }

        for (int r = 0; r < recordsEach; r++)
        {
            string id = EnvEntry.NewId();
            var result = await records.PutAsync(id, Seal(account, id, 0, r));
            if (result.Outcome != "applied")
            {
                throw new InvalidOperationException($"set-up: record upload answered {result.Outcome}");
            }

            account.Records.Add((id, result.Revision));
        }

        return account;
    }

    private static async Task<string> ActivationCodeAsync(Uri url, HttpClient http, string adminToken, string user)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(url, "admin/activation-codes")) { Content = JsonContent.Create(new { user }) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", adminToken);
        using var response = await http.SendAsync(request);
        response.EnsureSuccessStatusCode();
        var answer = await response.Content.ReadFromJsonAsync<ActivationCodeAnswer>() ?? throw new InvalidOperationException("set-up: empty activation code answer");
        return answer.Code;
    }

    private sealed record ActivationCodeAnswer(string User, string Code);

    private static async Task<string> SignInAsync(AccountClient client, LoadAccount account)
    {
        byte[] nonce = await client.ChallengeAsync(account.User, account.CardSerial, CardProofPurpose.Login);
        return (await client.LoginCardAsync(account.User, account.CardSerial, nonce, Prove(account, CardProofPurpose.Login, nonce))).Token;
    }

    /// <summary>What slot 9A signs: <see cref="CardProof.Message"/>, SHA-256, DER as a PIV card returns it.</summary>
    private static byte[] Prove(LoadAccount account, string purpose, byte[] nonce) =>
        account.Card.SignData(CardProof.Message(purpose, account.User, account.CardSerial, nonce), HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);

    /// <summary>A site entry (about the size of a real one) sealed for revision <paramref name="baseRevision"/> + 1.</summary>
    private static RecordPutDto Seal(LoadAccount account, string id, long baseRevision, long n)
    {
        string number = n.ToString(CultureInfo.InvariantCulture);
        var entry = new EnvEntry
        {
            Id = id, Kind = EntryKind.Site, Name = "site-" + id[..8], Url = $"https://intranet-{id[..6]}.example.org/", UserName = account.User + "@example.org",
            Password = Convert.ToBase64String(RandomNumberGenerator.GetBytes(18)), StartPage = "/dashboard?view=" + number, Sets = Sets,
        };
        byte[] plaintext = entry.Encode();
        try
        {
            var (ciphertext, wrappedDek) = RecordCrypto.SealRecord(account.Rmk, account.User, id, baseRevision + 1, plaintext);
            return new RecordPutDto(baseRevision, EnvEntry.NewId(), Sets, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), wrappedDek, ciphertext);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plaintext);
        }
    }
}
