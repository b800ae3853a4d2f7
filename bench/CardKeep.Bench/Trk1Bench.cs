using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using CardKeep.Client;
using CardKeep.Client.Tokens;
using CardKeep.Protocol;
using CardKeep.Protocol.Registration;
using CardKeep.Protocol.Sessions;
using CardKeep.Server.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace CardKeep.Bench;

/// <summary>
/// TRK1 throughput (spec §4 "Measuring throughput"): (a) crypto-only — client and server state machines exchanging
/// byte[] in one process, one thread; (b) end to end — the real server (Kestrel on 127.0.0.1, SQLite, nonce caches)
/// and N concurrent HTTP clients. Registrations count only REG5-acknowledged ones, each with a new user name;
/// sessions are S1–S3 against pre-registered tokens. Each figure: warm-up, then a fixed measuring time.
/// </summary>
internal static class Trk1Bench
{
    public static async Task<int> RunAsync(double seconds, double warmup, int clients)
    {
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"# {Environment.ProcessorCount} CPUs, .NET {Environment.Version}, OpenSSL 0x{(OperatingSystem.IsLinux() ? SafeEvpPKeyHandle.OpenSslVersion : 0):X}, server GC {System.Runtime.GCSettings.IsServerGC}, {seconds} s per figure after {warmup} s warm-up, {clients} HTTP clients"));
        var now = DateTimeOffset.UtcNow;
        using var issuerKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var issuer = Trk1Certificates.CreateIssuer("Bench Issuer", issuerKey, now.AddDays(-1), now.AddYears(1));
        var options = new Trk1Certificates.ServerCertificateOptions { CommonName = "127.0.0.1", NotBefore = now.AddDays(-1), NotAfter = now.AddDays(300) };
        var material = new[] { Trk1Suite.R, Trk1Suite.E }.Select(s =>
        {
            using var key = Trk1ServerKey.Generate(issuer, issuerKey, s, options, SystemTrk1Random.Instance);
            return (Suite: s, Cert: key.Certificate.RawData, Pkcs8: key.ExportPkcs8());
        }).ToList();
        Trk1ServerKey Key(Trk1Suite s) => material.Where(m => m.Suite == s).Select(m => Trk1ServerKey.FromPkcs8(System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadCertificate(m.Cert), m.Pkcs8)).Single();

        Console.WriteLine("mode\toperation\tops/s\tp50 ms\tp99 ms\tcount");
        foreach (var suite in new[] { Trk1Suite.R, Trk1Suite.E })
        {
            using var key = Key(suite);
            Report("crypto-only", $"registration {(char)suite}", Measure(seconds, warmup, 1, _ => { CryptoRegistration(key, issuer.RawData); return Task.CompletedTask; }).Result);
        }

        using (var key = Key(Trk1Suite.E))
        {
            var credential = new TokenCredential(key.ServerId, RandomNumberGenerator.GetBytes(16), RandomNumberGenerator.GetBytes(32), Trk1Suite.E);
            Report("crypto-only", "session (FS)", Measure(seconds, warmup, 1, _ => { CryptoSession(credential, Trk1Mode.None); return Task.CompletedTask; }).Result);
            Report("crypto-only", "session (PSK only)", Measure(seconds, warmup, 1, _ => { CryptoSession(credential, Trk1Mode.PskOnly); return Task.CompletedTask; }).Result);
        }

        string directory = Directory.CreateTempSubdirectory("cardkeep-bench-").FullName;
        try
        {
            await using var app = ServerHost.Build(new ServerLaunch
            {
                Settings = new Dictionary<string, string?>
                {
                    ["DataDirectory"] = directory,
                    ["Urls"] = "http://127.0.0.1:0",
                    ["Registration:RequireActivationCode"] = "false",
                    ["RateLimits:RegistrationPerIpPerMinute"] = "0",
                    ["RateLimits:SessionPerIpPerMinute"] = "0",
                    ["RateLimits:RegistrationPerUserPerHour"] = "0",
                    ["RateLimits:SessionPerUserPerMinute"] = "0",
                },
                ConfigureServices = s => s.AddSingleton(new ServerKeys([Key(Trk1Suite.R), Key(Trk1Suite.E)])),
                ConfigureLogging = l => l.SetMinimumLevel(LogLevel.Warning),
            });
            await app.StartAsync();
            var url = new Uri(app.Urls.First() + "/");
            using var http = new HttpClient();
            var identity = new TokenIdentity(RandomNumberGenerator.GetBytes(16), issuer.RawData);
            long counter = 0;
            foreach (var suite in new[] { Trk1Suite.R, Trk1Suite.E })
            {
                Report("end-to-end", $"registration {(char)suite}", await Measure(seconds, warmup, clients, async _ =>
                {
                    using var client = new Trk1Client(url, http);
                    var serial = RandomNumberGenerator.GetBytes(16);
                    using var result = await client.RegisterRawAsync(identity with { Serial = serial }, suite, "u" + Interlocked.Increment(ref counter).ToString(CultureInfo.InvariantCulture), string.Empty);
                }));
            }

            var tokens = new List<TokenCredential>();
            using (var client = new Trk1Client(url, http))
            {
                for (int i = 0; i < 64; i++)
                {
                    using var result = await client.RegisterRawAsync(identity with { Serial = RandomNumberGenerator.GetBytes(16) }, Trk1Suite.E, $"session-user-{i}", string.Empty);
                    tokens.Add(new TokenCredential(result.ServerId, result.TokenHandle, (byte[])result.Ssk.Clone(), Trk1Suite.E));
                }
            }

            Report("end-to-end", "session (FS)", await Measure(seconds, warmup, clients, async i =>
            {
                using var client = new Trk1Client(url, http);
                using var session = await client.OpenSessionAsync(tokens[i % tokens.Count], "bench");
            }));
            await app.StopAsync();
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(directory, true);
        }

        return 0;
    }

    private static void CryptoRegistration(Trk1ServerKey key, byte[] anchor)
    {
        var clock = TimeProvider.System;
        var random = SystemTrk1Random.Instance;
        var hello = RegistrationServer.CreateHello(key, new RegistrationTemplate(["host"], false), clock.GetUtcNow(), random);
        using var client = new RegistrationClient(anchor, clock, random);
        client.ProcessHello(hello.Message);
        var reg2 = client.CreateRequest(new RegistrationIdentity(RandomNumberGenerator.GetBytes(16), "bench", string.Empty, new Dictionary<string, string>()));
        using var request = RegistrationServer.OpenRequest(hello, key, reg2, clock.GetUtcNow());
        using var pending = RegistrationServer.CreateResponse(request, new RegistrationGrant(new byte[32], random.Bytes(16), "/", clock.GetUtcNow().AddDays(1), 1), clock.GetUtcNow(), random);
        var reg5 = RegistrationServer.Finish(pending, client.ProcessResponse(pending.Message), clock.GetUtcNow());
        using var result = client.ProcessAck(reg5);
    }

    private static void CryptoSession(TokenCredential credential, Trk1Mode mode)
    {
        var clock = TimeProvider.System;
        using var challenge = SessionServer.CreateChallenge(credential.ServerId, credential.Suite, mode, clock.GetUtcNow(), SystemTrk1Random.Instance);
        using var client = new SessionClient(credential, true, clock, SystemTrk1Random.Instance);
        using var response = SessionServer.OpenResponse(challenge, client.ProcessChallenge(challenge.Message), clock.GetUtcNow());
        var established = SessionServer.Verify(response, credential.Ssk);
        established.Keys.Dispose();
        client.ProcessServerFinished(established.ServerFinished).Dispose();
    }

    private sealed record Result(double PerSecond, double P50, double P99, int Count);

    private static async Task<Result> Measure(double seconds, double warmup, int workers, Func<int, Task> operation)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(warmup * Stopwatch.Frequency);
        await Task.WhenAll(Enumerable.Range(0, workers).Select(w => Task.Run(async () =>
        {
            while (Stopwatch.GetTimestamp() < deadline)
            {
                await operation(w);
            }
        })));
        var latencies = new List<double>[workers];
        var start = Stopwatch.GetTimestamp();
        var end = start + (long)(seconds * Stopwatch.Frequency);
        await Task.WhenAll(Enumerable.Range(0, workers).Select(w => Task.Run(async () =>
        {
            var mine = latencies[w] = [];
            int n = 0;
            while (Stopwatch.GetTimestamp() < end)
            {
                long t = Stopwatch.GetTimestamp();
                await operation(w + (workers * n++));
                mine.Add(Stopwatch.GetElapsedTime(t).TotalMilliseconds);
            }
        })));
        double elapsed = Stopwatch.GetElapsedTime(start).TotalSeconds;
        var all = latencies.SelectMany(l => l).Order().ToList();
        return new Result(all.Count / elapsed, all[all.Count / 2], all[Math.Min(all.Count - 1, (int)(all.Count * 0.99))], all.Count);
    }

    private static void Report(string mode, string operation, Result r) =>
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{mode}\t{operation}\t{r.PerSecond:F0}\t{r.P50:F2}\t{r.P99:F2}\t{r.Count}"));
}
