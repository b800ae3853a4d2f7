using System.Net;
using CardKeep.Client.Availability;
using CardKeep.Server.Tests.Harness;
using Xunit.Abstractions;

namespace CardKeep.Server.Tests.Availability;

/// <summary>
/// Three servers on loopback sharing one data folder and SQLite database; two sit behind delaying proxies (far and
/// farther). The client pool must use the fastest, fail over without a failed request when it is killed, and come back
/// to it once it runs again.
/// </summary>
public sealed class ServerPoolTests(ITestOutputHelper output)
{
    private static readonly ServerPoolOptions FastProbes = new() { ProbeInterval = TimeSpan.FromMilliseconds(150), ProbeTimeout = TimeSpan.FromSeconds(2), AttemptTimeout = TimeSpan.FromSeconds(5) };

    private static async Task WaitForAsync(Func<bool> condition, string what, TimeSpan? within = null)
    {
        var deadline = DateTime.UtcNow + (within ?? TimeSpan.FromSeconds(15));
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for: {what}");
            await Task.Delay(50);
        }
    }

    private static Action<Dictionary<string, string?>> Shared(string directory, int port) => s =>
    {
        s["DataDirectory"] = directory;
        s["Urls"] = $"http://127.0.0.1:{port}";
    };

    [Fact]
    public async Task Pool_UsesFastest_FailsOverWhenKilled_ReturnsWhenItRecovers()
    {
        var shared = Directory.CreateTempSubdirectory("cardkeep-pool-").FullName;
        int nearPort = PostgresCluster.FreePort();
        await using var far = await TestServer.StartAsync(null, Shared(shared, PostgresCluster.FreePort()));
        await using var middle = await TestServer.StartAsync(null, Shared(shared, PostgresCluster.FreePort()));
        var near = await TestServer.StartAsync(null, Shared(shared, nearPort));
        await using var farProxy = new DelayProxy(far.Url, TimeSpan.FromMilliseconds(250));
        await using var middleProxy = new DelayProxy(middle.Url, TimeSpan.FromMilliseconds(80));
        await far.GrantAsync("alice", "wiki", ["reader"]);

        using var pool = new ServerPool([farProxy.Url, middleProxy.Url, near.Url], FastProbes);
        var switches = new List<string>();
        pool.Switched += (_, s) =>
        {
            lock (switches)
            {
                switches.Add($"{s.From} -> {s.To} [{string.Join(", ", pool.States().Select(x => $"{x.Url.Port}:{(x.Healthy ? "up" : "down")}:{x.ResponseTime?.TotalMilliseconds:0}"))}]");
            }
        };
        pool.Start();
        using var http = pool.CreateClient();
        http.DefaultRequestHeaders.Authorization = new("Bearer", far.AdminToken);

        int ok = 0, failed = 0;
        var errors = new System.Collections.Concurrent.ConcurrentQueue<string>();
        using var stopLoad = new CancellationTokenSource();
        var load = Task.Run(async () =>
        {
            while (!stopLoad.IsCancellationRequested)
            {
                try
                {
                    using var response = await http.GetAsync(new Uri("admin/users/alice/entitlements", UriKind.Relative));
                    if (response.StatusCode == HttpStatusCode.OK && (await response.Content.ReadAsStringAsync()).Contains("wiki", StringComparison.Ordinal))
                    {
                        Interlocked.Increment(ref ok);
                    }
                    else
                    {
                        Interlocked.Increment(ref failed);
                        errors.Enqueue($"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
                    }
                }
                catch (HttpRequestException e)
                {
                    Interlocked.Increment(ref failed);
                    errors.Enqueue(e.ToString());
                }

                await Task.Delay(10);
            }
        });

        // The first samples include connection set-up and warm-up; after a few rounds the smoothed times follow the delays.
        await WaitForAsync(() => pool.States() is var s && s[0].ResponseTime > s[1].ResponseTime && s[1].ResponseTime > s[2].ResponseTime, "the measured response times follow the delays");
        await WaitForAsync(() => pool.Current == near.Url, "the pool chooses the nearest server");
        output.WriteLine(string.Join("\n", pool.States().Select(s => $"{s.Url} healthy={s.Healthy} rtt={s.ResponseTime?.TotalMilliseconds:0.0} ms")));

        await near.DisposeAsync(); // killed
        int okAtKill = ok;
        await WaitForAsync(() => pool.Current == middleProxy.Url, "the pool moves to the next fastest server (not the farthest)");
        await WaitForAsync(() => ok > okAtKill + 20, "requests keep succeeding while the nearest server is down");
        Assert.False(pool.States()[2].Healthy);

        await using var back = await TestServer.StartAsync(null, Shared(shared, nearPort));
        await WaitForAsync(() => pool.Current == near.Url, "the pool returns to the nearest server once it runs again");
        int okAtReturn = ok;
        await WaitForAsync(() => ok > okAtReturn + 20, "requests succeed on the recovered server");
        await stopLoad.CancelAsync();
        await load;

        output.WriteLine($"{ok} requests succeeded, {failed} failed; switches: {string.Join("; ", switches)}");
        Assert.True(failed == 0, string.Join("\n", errors));
        Assert.True(switches.Count >= 3, string.Join("; ", switches));
        Directory.Delete(shared, true);
    }
}
