using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using CardKeep.Cards.Piv;
using CardKeep.Client.PersonalEnvironment;
using CardKeep.Protocol.Recovery;
using CardKeep.Server.Hosting;
using CardKeep.VirtualCard.Edge;
using CardKeep.VirtualCard.Store;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;

namespace CardKeep.Bench;

/// <summary>
/// Personal environment throughput: (a) records synced per second, upload (N entries edited offline, then one
/// <c>env sync</c>) and download (a fresh client folder pulls all N), against the real server (Kestrel on 127.0.0.1,
/// SQLite) with card sign-in; (b) card entry writes and reads per second: the card-resident index rewritten and read
/// back through the PIV applet of a CardKeep VSC (in process: the APDUs, the applet and the VSC file, no pcscd).
/// </summary>
internal static class EnvBench
{
    public static async Task<int> RunAsync(int entries, int rounds)
    {
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"# {Environment.ProcessorCount} CPUs, .NET {Environment.Version}, {entries} entries, {rounds} rounds"));
        string directory = Directory.CreateTempSubdirectory("cardkeep-envbench-").FullName;
        try
        {
            var vsc = VirtualSmartCard.Create(Path.Combine(directory, "card.vsc"), new VscCreateOptions { Iterations = 1000, AllowWeakKdfForTests = true });
            using var session = PivSession.Open(new EmulatorChannel(new PivApplet(vsc), "bench"));
            session.AuthenticateManagementKey(PivAlgorithm.TripleDes, PivManagementKey.DefaultKey);
            byte[] spki = session.GenerateKeyPair(PivSlot.Authentication, PivAlgorithm.EccP256).ToSubjectPublicKeyInfo();
            session.GenerateKeyPair(PivSlot.KeyManagement, PivAlgorithm.EccP256);
            const string serial = "bench-card";
            using var card = new PivEnvironmentCard(session, serial, PivPin.DefaultPin, PivManagementKey.DefaultKey);

            await using var app = ServerHost.Build(new ServerLaunch
            {
                Settings = new Dictionary<string, string?>
                {
                    ["DataDirectory"] = Path.Combine(directory, "server"),
                    ["Urls"] = "http://127.0.0.1:0",
                    ["Accounts:PasswordIterations"] = "1000",
                    ["Records:DefaultQuotaEntries"] = "1000000",
                    ["Records:DefaultQuotaBytes"] = "1000000000",
                },
                ConfigureLogging = l => l.SetMinimumLevel(LogLevel.Warning),
            });
            await app.StartAsync();
            var url = new Uri(app.Urls.First() + "/");
            string token = await SignInAsync(Path.Combine(directory, "server"), url, session, spki, serial);

            Console.WriteLine("operation\tper s\tcount\tseconds");
            using var records = new RecordsClient(url, token);
            using (var env = new EnvironmentService("bench", card, card, EnvCard.Capacity, new LocalFolder(Path.Combine(directory, "a")), records))
            {
                await env.SetupAsync();
            }

            // Offline edits (the card not rewritten per entry: budget 0), then one sync uploads them all.
            using (var offline = new EnvironmentService("bench", card, card, 0, new LocalFolder(Path.Combine(directory, "a")), null))
            {
                await offline.OpenAsync();
                for (int i = 0; i < entries; i++)
                {
                    await offline.AddAsync(new EnvEntry
                    {
                        Id = EnvEntry.NewId(), Kind = EntryKind.Site, Name = "site" + i.ToString(CultureInfo.InvariantCulture), Url = $"https://s{i}.example.org/",
                        UserName = "user" + i.ToString(CultureInfo.InvariantCulture), Password = Convert.ToBase64String(RandomNumberGenerator.GetBytes(12)), Sets = ["office"],
                    });
                }
            }

            using (var online = new EnvironmentService("bench", card, card, EnvCard.Capacity, new LocalFolder(Path.Combine(directory, "a")), records))
            {
                await online.OpenAsync();
                var watch = Stopwatch.StartNew();
                var report = await online.SyncAsync();
                Report("records uploaded (sync)", report.Pushed.Count, watch.Elapsed);
            }

            // A fresh folder and a card without entries: everything comes from the server.
            new EnvCard(card).Clear();
            using (var fresh = new EnvironmentService("bench", card, card, EnvCard.Capacity, new LocalFolder(Path.Combine(directory, "b")), records))
            {
                await fresh.OpenAsync();
                var watch = Stopwatch.StartNew();
                var report = await fresh.SyncAsync();
                Report("records downloaded (sync)", report.Pulled.Count, watch.Elapsed);
            }

            // The card: rewrite and read back the card-resident index.
            var envCard = new EnvCard(card);
            byte[] rmk = RecordCrypto.NewKey();
            var candidates = Enumerable.Range(0, entries).Select(i => new CardEntry(new EnvEntry
            {
                Id = EnvEntry.NewId(), Kind = EntryKind.Site, Name = "site" + i.ToString(CultureInfo.InvariantCulture), Url = $"https://s{i}.example.org/",
                UserName = "user" + i.ToString(CultureInfo.InvariantCulture), Password = "pw" + i.ToString(CultureInfo.InvariantCulture),
            }, 1, i)).ToList();
            int onCard = envCard.Store(rmk, "bench", serial, null, candidates).Kept.Count;
            var write = Stopwatch.StartNew();
            for (int r = 0; r < rounds; r++)
            {
                envCard.Store(rmk, "bench", serial, null, candidates);
            }

            Report($"card entries written ({onCard} per rewrite, {EnvCard.Capacity} bytes)", onCard * rounds, write.Elapsed);
            var read = Stopwatch.StartNew();
            for (int r = 0; r < rounds; r++)
            {
                envCard.Load(rmk, "bench", serial);
            }

            Report($"card entries read ({onCard} per read)", onCard * rounds, read.Elapsed);
            vsc.Dispose();
            return 0;
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static void Report(string what, int count, TimeSpan elapsed) =>
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{what}\t{count / elapsed.TotalSeconds:F0}\t{count}\t{elapsed.TotalSeconds:F2}"));

    /// <summary>Registers the account (admin activation code, card proof) and signs in with the card: the records' bearer.</summary>
    private static async Task<string> SignInAsync(string dataDirectory, Uri url, PivSession session, byte[] spki, string serial)
    {
        using var http = new HttpClient();
        string admin = (await File.ReadAllTextAsync(Path.Combine(dataDirectory, "admin.token"))).Trim();
        async Task<JsonElement> Post(string path, object body, string? bearer = null)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(url, path)) { Content = JsonContent.Create(body) };
            if (bearer is not null)
            {
                request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", bearer);
            }

            using var response = await http.SendAsync(request);
            string text = await response.Content.ReadAsStringAsync();
            return response.IsSuccessStatusCode ? JsonDocument.Parse(text).RootElement.Clone() : throw new InvalidOperationException($"{path}: {(int)response.StatusCode} {text}");
        }

        byte[] Prove(string purpose, byte[] nonce) =>
            session.Sign(PivSlot.Authentication, PivAlgorithm.EccP256, SHA256.HashData(CardProof.Message(purpose, "bench", serial, nonce)));
        string code = (await Post("admin/activation-codes", new { user = "bench" }, admin)).GetProperty("code").GetString()!;
        byte[] nonce = (await Post("v1/account/challenge", new { username = "bench", cardSerial = serial, purpose = CardProofPurpose.Register })).GetProperty("nonce").GetBytesFromBase64();
        await Post("v1/account/register", new
        {
            activationCode = code, username = "bench", password = "benchmark password 1", question = "q?", answer = "a", fullName = "Bench", email = "bench@example.org",
            machine = new { id = "bench", serial = "bench", secret = RandomNumberGenerator.GetBytes(32) },
            card = new { serial, publicKey = spki, nonce, signature = Prove(CardProofPurpose.Register, nonce) },
        });
        nonce = (await Post("v1/account/challenge", new { username = "bench", cardSerial = serial, purpose = CardProofPurpose.Login })).GetProperty("nonce").GetBytesFromBase64();
        return (await Post("v1/account/login/card", new { username = "bench", cardSerial = serial, nonce, signature = Prove(CardProofPurpose.Login, nonce) })).GetProperty("token").GetString()!;
    }
}
