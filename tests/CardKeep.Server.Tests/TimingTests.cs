using System.Diagnostics;
using System.Security.Cryptography;
using CardKeep.Client;
using CardKeep.Client.Tokens;
using CardKeep.Protocol;
using CardKeep.Protocol.Sessions;
using CardKeep.Server.Sessions;
using CardKeep.Server.Tests.Harness;
using Microsoft.Extensions.DependencyInjection;

namespace CardKeep.Server.Tests;

/// <summary>S8: an unknown token and a wrong MAC must not be told apart by time (measured in-process, interleaved, medians).</summary>
public sealed class TimingTests
{
    [Fact]
    public async Task RespondAsync_UnknownTokenVersusWrongMac_TakeComparableTime()
    {
        await using var server = await TestServer.StartAsync(null, s => s["Sessions:LockAfterFailures"] = "1000");
        using var tokens = new Tokens();
        using var client = new Trk1Client(server.Url);
        var registration = await client.RegisterAsync(tokens.Software(), Tokens.Pin, Trk1Suite.E, "tess", await server.ActivationCodeAsync("tess"));
        var sessions = server.Services.GetRequiredService<SessionService>();
        var known = new TokenCredential(registration.ServerId, registration.TokenHandle, RandomNumberGenerator.GetBytes(32), Trk1Suite.E);
        var unknown = new TokenCredential(registration.ServerId, RandomNumberGenerator.GetBytes(16), RandomNumberGenerator.GetBytes(32), Trk1Suite.E);
        var times = new Dictionary<TokenCredential, List<double>> { [known] = [], [unknown] = [] };
        for (int i = 0; i < 60; i++)
        {
            foreach (var credential in i % 2 == 0 ? new[] { known, unknown } : [unknown, known])
            {
                using var sc = new SessionClient(credential, false, TimeProvider.System, SystemTrk1Random.Instance);
                var s2 = sc.ProcessChallenge(sessions.Challenge(Trk1Suite.E));
                var watch = Stopwatch.StartNew();
                await Assert.ThrowsAsync<Trk1Exception>(() => sessions.HandleAsync(s2, default));
                if (i >= 10)
                {
                    times[credential].Add(watch.Elapsed.TotalMilliseconds);
                }
            }
        }

        double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);
        double ratio = Median(times[known]) / Median(times[unknown]);
        Assert.True(ratio is >= 0.5 and <= 2.0, $"ratio {ratio:F2}: median wrong-MAC {Median(times[known]):F3} ms vs unknown {Median(times[unknown]):F3} ms");
    }
}
