using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CardKeep.Client;
using CardKeep.Client.PersonalEnvironment;
using CardKeep.Client.Recovery;
using CardKeep.Client.Tokens;
using CardKeep.Protocol;
using CardKeep.Protocol.Configuration;
using CardKeep.Protocol.Sessions;
using CardKeep.Server.Hosting;

namespace CardKeep.Bench;

/// <summary>What one load operation needs: the server, a shared HttpClient, the admin token, and registered users.</summary>
/// <param name="Url">The server's base URL.</param>
/// <param name="Http">Shared client (connection pooling as a real client fleet behind one host would have).</param>
/// <param name="AdminToken">Bearer token of the admin API.</param>
/// <param name="Tokens">Credentials registered before the run (one per simulated card holder).</param>
/// <param name="Identity">The token identity template (issuer anchor) for new registrations.</param>
/// <param name="Accounts">Account holders with records, registered before the run (at least one per client).</param>
/// <param name="Clients">Number of concurrent clients.</param>
internal sealed record LoadContext(Uri Url, HttpClient Http, string AdminToken, IReadOnlyList<(TokenCredential Credential, string User)> Tokens, TokenIdentity Identity,
    IReadOnlyList<LoadAccount> Accounts, int Clients)
{
    /// <summary>
    /// An account driven only by <paramref name="call"/>'s client: client w owns accounts w, w + clients, …, so one
    /// holder's requests never race each other (as one person at one computer) and its state needs no lock.
    /// </summary>
    public LoadAccount AccountFor(LoadCall call)
    {
        int owned = (Accounts.Count - call.Worker + Clients - 1) / Clients;
        return Accounts[call.Worker + (Clients * (int)(call.Number % owned))];
    }
}

/// <summary>One call of an operation.</summary>
/// <param name="Worker">The client (0 … clients − 1) running it.</param>
/// <param name="Number">A number unique to this call.</param>
internal readonly record struct LoadCall(int Worker, long Number);

/// <summary>One kind of request in a mix.</summary>
/// <param name="Name">Shown in the report.</param>
/// <param name="Weight">Relative share in the mix.</param>
/// <param name="Run">One operation.</param>
internal sealed record LoadOperation(string Name, double Weight, Func<LoadContext, LoadCall, Task> Run);

/// <summary>
/// <c>load</c>: many concurrent clients run a weighted mix of requests for a fixed time against a CardKeep server
/// started as a separate process (<c>cardkeep server</c>, SQLite or PostgreSQL); reports requests/s, p50/p99 latency and
/// errors per operation and in total, and the server's peak resident memory (VmHWM from /proc). Exit 1 when any
/// request failed.
/// </summary>
internal static class LoadBench
{
    private static readonly object Reader = new { roles = new[] { "reader" }, locations = Array.Empty<string>() };

    /// <summary>
    /// The mixes by name. "default" is the realistic one: mostly TRK1 sessions, record syncs and index reads, some
    /// card sign-ins, access-key checks and admin calls, and rare recoveries (each costs two PBKDF2 password checks).
    /// </summary>
    public static IReadOnlyDictionary<string, LoadOperation[]> Mixes { get; } = new Dictionary<string, LoadOperation[]>(StringComparer.Ordinal)
    {
        ["default"] =
        [
            new("session S1-S3", 25, SessionAsync),
            new("session + config S1-S5", 10, ConfigAsync),
            new("card sign-in", 10, LoadAccounts.CardSignInAsync),
            new("record sync (list + put)", 15, LoadAccounts.RecordSyncAsync),
            new("record used", 8, LoadAccounts.RecordUsedAsync),
            new("index read (summary)", 10, LoadAccounts.IndexReadAsync),
            new("access key verify + rotate", 5, LoadAccounts.AccessKeyAsync),
            new("recovery (password + recover)", 0.2, LoadAccounts.RecoveryAsync),
            new("entitlement read", 10, EntitlementReadAsync),
            new("entitlement grant", 4.8, GrantAsync),
            new("registration REG1-REG5", 2, RegistrationAsync),
        ],
        ["admin"] = [new("entitlement read", 70, EntitlementReadAsync), new("entitlement grant", 30, GrantAsync)],
        ["sessions"] = [new("session S1-S3", 70, SessionAsync), new("session + config S1-S5", 30, ConfigAsync)],
        ["records"] =
        [
            new("card sign-in", 10, LoadAccounts.CardSignInAsync),
            new("record sync (list + put)", 40, LoadAccounts.RecordSyncAsync),
            new("record used", 20, LoadAccounts.RecordUsedAsync),
            new("index read (summary)", 30, LoadAccounts.IndexReadAsync),
        ],
        ["recovery"] = [new("access key verify + rotate", 80, LoadAccounts.AccessKeyAsync), new("recovery (password + recover)", 20, LoadAccounts.RecoveryAsync)],
    };

    public static async Task<int> RunAsync(string cardkeep, string? database, string mixName, int clients, double seconds, double warmup, int users, int accounts, int recordsEach)
    {
        if (!Mixes.TryGetValue(mixName, out var mix))
        {
            Console.Error.WriteLine($"unknown mix '{mixName}': {string.Join(", ", Mixes.Keys)}");
            return 2;
        }

        if (accounts < clients)
        {
            Console.Error.WriteLine($"--accounts ({accounts}) must be at least --clients ({clients}): each client drives its own account holders");
            return 2;
        }

        string directory = Directory.CreateTempSubdirectory("cardkeep-load-").FullName;
        var issuerDer = WriteServerKeys(directory);
        int port = FreePort();
        using var server = StartServer(cardkeep, directory, database, port);
        List<LoadAccount> holders = [];
        try
        {
            var url = new Uri($"http://127.0.0.1:{port}/");
            using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = clients }) { Timeout = TimeSpan.FromSeconds(30) };
            await WaitHealthyAsync(http, url, server);
            string adminToken = (await File.ReadAllTextAsync(Path.Combine(directory, "admin.token"))).Trim();
            var identity = new TokenIdentity(RandomNumberGenerator.GetBytes(16), issuerDer);
            var tokens = await RegisterUsersAsync(url, http, identity, adminToken, users);
            var setup = Stopwatch.StartNew();
            holders = await LoadAccounts.RegisterAsync(url, http, adminToken, accounts, recordsEach);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"# set-up: {users} TRK1 users, {accounts} account holders with {recordsEach} records each, {setup.Elapsed.TotalSeconds:F0} s (not timed)"));
            var context = new LoadContext(url, http, adminToken, tokens, identity, holders, clients);

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"# load: mix {mixName}, {clients} clients, {seconds} s after {warmup} s warm-up, {users} users, storage {(database is null ? "sqlite" : "postgresql")}, {Environment.ProcessorCount} CPUs"));
            await RunMixAsync(context, mix, clients, warmup, null);
            var results = new ConcurrentDictionary<string, Stats>(StringComparer.Ordinal);
            server.Refresh();
            var cpuBefore = server.TotalProcessorTime;
            var elapsed = await RunMixAsync(context, mix, clients, seconds, results);
            server.Refresh();
            var serverCpu = server.TotalProcessorTime - cpuBefore;
            long peakKb = PeakMemoryKb(server.Id);

            Console.WriteLine("operation\trequests/s\tp50 ms\tp99 ms\tcount\terrors");
            foreach (var op in mix)
            {
                Report(op.Name, results.GetValueOrDefault(op.Name) ?? new Stats(), elapsed);
            }

            var total = new Stats();
            foreach (var s in results.Values)
            {
                total.Add(s);
            }

            Report("total", total, elapsed);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"server peak memory (VmHWM): {peakKb / 1024.0:F0} MiB"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"server process CPU in the timed run: {serverCpu.TotalSeconds:F1} s in {elapsed.TotalSeconds:F1} s ({serverCpu / elapsed:F2} cores; PostgreSQL's own processes not counted)"));
            foreach (var error in results.Values.SelectMany(s => s.Errors).Distinct().Take(5))
            {
                Console.WriteLine($"error: {error}");
            }

            return total.ErrorCount == 0 ? 0 : 1;
        }
        finally
        {
            holders.ForEach(h => h.Dispose());
            if (!server.HasExited)
            {
                server.Kill(entireProcessTree: true);
                await server.WaitForExitAsync();
            }

            Directory.Delete(directory, true);
        }
    }

    private static async Task<TimeSpan> RunMixAsync(LoadContext context, LoadOperation[] mix, int clients, double seconds, ConcurrentDictionary<string, Stats>? results)
    {
        double totalWeight = mix.Sum(o => o.Weight);
        long counter = 0;
        var start = Stopwatch.GetTimestamp();
        var end = start + (long)(seconds * Stopwatch.Frequency);
        await Task.WhenAll(Enumerable.Range(0, clients).Select(w => Task.Run(async () =>
        {
            var random = new Random(w);
            while (Stopwatch.GetTimestamp() < end)
            {
                double pick = random.NextDouble() * totalWeight;
                var op = mix.First(o => (pick -= o.Weight) < 0 || o == mix[^1]);
                long t = Stopwatch.GetTimestamp();
                string? error = null;
                try
                {
                    await op.Run(context, new LoadCall(w, Interlocked.Increment(ref counter)));
                }
                catch (Exception e) when (e is HttpRequestException or Trk1Exception or TaskCanceledException or InvalidOperationException or AccountException or RecordsServerException)
                {
                    error = $"{op.Name}: {e.GetType().Name}: {e.Message}";
                }

                results?.GetOrAdd(op.Name, _ => new Stats()).Record(Stopwatch.GetElapsedTime(t).TotalMilliseconds, error);
            }
        })));
        return Stopwatch.GetElapsedTime(start);
    }

    // ---- operations

    private static async Task SessionAsync(LoadContext c, LoadCall call)
    {
        long n = call.Number;
        var (credential, user) = c.Tokens[(int)(n % c.Tokens.Count)];
        using var client = new Trk1Client(c.Url, c.Http);
        using var session = await client.OpenSessionAsync(credential, user);
    }

    private static async Task ConfigAsync(LoadContext c, LoadCall call)
    {
        long n = call.Number;
        var (credential, user) = c.Tokens[(int)(n % c.Tokens.Count)];
        using var client = new Trk1Client(c.Url, c.Http);
        using var session = await client.OpenSessionAsync(credential, user);
        await session.ExchangeConfigAsync(new UserInfo { Host = "load-host" }, 0);
    }

    private static async Task EntitlementReadAsync(LoadContext c, LoadCall call)
    {
        long n = call.Number;
        using var request = Admin(c, HttpMethod.Get, $"admin/users/{c.Tokens[(int)(n % c.Tokens.Count)].User}/entitlements", null);
        using var response = await c.Http.SendAsync(request);
        await EnsureAsync(response);
    }

    private static async Task GrantAsync(LoadContext c, LoadCall call)
    {
        long n = call.Number;
        using var request = Admin(c, HttpMethod.Put, $"admin/users/{c.Tokens[(int)(n % c.Tokens.Count)].User}/entitlements/wiki", Reader);
        using var response = await c.Http.SendAsync(request);
        await EnsureAsync(response);
    }

    private static async Task RegistrationAsync(LoadContext c, LoadCall call)
    {
        long n = call.Number;
        using var client = new Trk1Client(c.Url, c.Http);
        using var result = await client.RegisterRawAsync(c.Identity with { Serial = RandomNumberGenerator.GetBytes(16) }, Trk1Suite.E,
            "new-" + n.ToString(CultureInfo.InvariantCulture) + "-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4)), string.Empty, new Dictionary<string, string> { ["host"] = "load-host" });
    }

    private static HttpRequestMessage Admin(LoadContext c, HttpMethod method, string path, object? body)
    {
        var request = new HttpRequestMessage(method, new Uri(c.Url, path));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", c.AdminToken);
        if (body is not null)
        {
            request.Content = JsonContent.Create(body);
        }

        return request;
    }

    private static async Task EnsureAsync(HttpResponseMessage response)
    {
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        }
    }

    // ---- set-up

    private static async Task<List<(TokenCredential, string)>> RegisterUsersAsync(Uri url, HttpClient http, TokenIdentity identity, string adminToken, int users)
    {
        var tokens = new List<(TokenCredential, string)>();
        using var client = new Trk1Client(url, http);
        for (int i = 0; i < users; i++)
        {
            string user = $"load-user-{i}";
            using var result = await client.RegisterRawAsync(identity with { Serial = RandomNumberGenerator.GetBytes(16) }, Trk1Suite.E, user, string.Empty,
                new Dictionary<string, string> { ["host"] = "load-host" });
            tokens.Add((new TokenCredential(result.ServerId, result.TokenHandle, (byte[])result.Ssk.Clone(), Trk1Suite.E), user));
            using var request = new HttpRequestMessage(HttpMethod.Put, new Uri(url, $"admin/users/{user}/entitlements/wiki")) { Content = JsonContent.Create(Reader) };
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", adminToken);
            using var response = await http.SendAsync(request);
            await EnsureAsync(response);
        }

        return tokens;
    }

    /// <summary>A throwaway issuer and the server's R and E keys as PEM files in the data folder (what 'cardkeep issuer sign-server' writes).</summary>
    private static byte[] WriteServerKeys(string directory)
    {
        var now = DateTimeOffset.UtcNow;
        using var issuerKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var issuer = Trk1Certificates.CreateIssuer("Load Issuer", issuerKey, now.AddDays(-1), now.AddYears(1));
        var options = new Trk1Certificates.ServerCertificateOptions { CommonName = "127.0.0.1", NotBefore = now.AddDays(-1), NotAfter = now.AddDays(300) };
        foreach (var suite in new[] { Trk1Suite.R, Trk1Suite.E })
        {
            using var key = Trk1ServerKey.Generate(issuer, issuerKey, suite, options, SystemTrk1Random.Instance);
            var (certFile, keyFile) = ServerKeys.FilesFor(directory, suite);
            File.WriteAllText(certFile, PemEncoding.WriteString("CERTIFICATE", key.Certificate.RawData));
            File.WriteAllText(keyFile, PemEncoding.WriteString("PRIVATE KEY", key.ExportPkcs8()));
        }

        return issuer.RawData;
    }

    private static Process StartServer(string cardkeep, string directory, string? database, int port)
    {
        var info = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { cardkeep, "server", "--data-dir", directory, "--urls", $"http://127.0.0.1:{port}" })
        {
            info.ArgumentList.Add(a);
        }

        if (database is not null)
        {
            info.ArgumentList.Add("--db");
            info.ArgumentList.Add(database);
        }

        foreach (var (key, value) in new Dictionary<string, string>
        {
            ["CARDKEEP_Registration__RequireActivationCode"] = "false",
            ["CARDKEEP_RateLimits__RegistrationPerIpPerMinute"] = "0",
            ["CARDKEEP_RateLimits__SessionPerIpPerMinute"] = "0",
            ["CARDKEEP_RateLimits__RegistrationPerUserPerHour"] = "0",
            ["CARDKEEP_RateLimits__SessionPerUserPerMinute"] = "0",
            ["CARDKEEP_Applications__wiki__Upstream"] = "http://127.0.0.1:9",
            ["CARDKEEP_Logging__LogLevel__Default"] = "Warning",
        })
        {
            info.Environment[key] = value;
        }

        var process = Process.Start(info)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { Console.Error.WriteLine("server: " + e.Data); } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static async Task WaitHealthyAsync(HttpClient http, Uri url, Process server)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline && !server.HasExited)
        {
            try
            {
                using var response = await http.GetAsync(new Uri(url, "health"));
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }

            await Task.Delay(200);
        }

        throw new InvalidOperationException("the server did not become healthy within 60 s");
    }

    /// <summary>VmHWM (peak resident set) of <paramref name="pid"/>, in KiB.</summary>
    private static long PeakMemoryKb(int pid)
    {
        var line = File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static void Report(string name, Stats s, TimeSpan elapsed)
    {
        var (p50, p99) = s.Percentiles();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name}\t{s.Count / elapsed.TotalSeconds:F0}\t{p50:F2}\t{p99:F2}\t{s.Count}\t{s.ErrorCount}"));
    }

    private sealed class Stats
    {
        private readonly List<double> _latencies = [];

        public List<string> Errors { get; } = [];

        public int Count
        {
            get
            {
                lock (_latencies)
                {
                    return _latencies.Count;
                }
            }
        }

        public int ErrorCount
        {
            get
            {
                lock (_latencies)
                {
                    return Errors.Count;
                }
            }
        }

        public void Record(double milliseconds, string? error)
        {
            lock (_latencies)
            {
                _latencies.Add(milliseconds);
                if (error is not null)
                {
                    Errors.Add(error);
                }
            }
        }

        public void Add(Stats other)
        {
            lock (other._latencies)
            {
                lock (_latencies)
                {
                    _latencies.AddRange(other._latencies);
                    Errors.AddRange(other.Errors);
                }
            }
        }

        public (double P50, double P99) Percentiles()
        {
            lock (_latencies)
            {
                if (_latencies.Count == 0)
                {
                    return (0, 0);
                }

                var sorted = _latencies.Order().ToList();
                return (sorted[sorted.Count / 2], sorted[Math.Min(sorted.Count - 1, (int)(sorted.Count * 0.99))]);
            }
        }
    }
}
