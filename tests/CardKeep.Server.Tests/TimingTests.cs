using System.Diagnostics;
using System.Security.Cryptography;
using CardKeep.Client;
using CardKeep.Client.Tokens;
using CardKeep.Protocol;
using CardKeep.Protocol.Sessions;
using CardKeep.Server.Accounts;
using CardKeep.Server.Sessions;
using CardKeep.Server.Tests.Harness;
using Microsoft.Extensions.DependencyInjection;

namespace CardKeep.Server.Tests;

/// <summary>
/// S8: an unknown token and a wrong MAC must not be told apart by time; nor an unknown account and a wrong recovery
/// password (measured in-process, interleaved, medians).
/// </summary>
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

    [Fact]
    public async Task PasswordLogin_UnknownAccountVersusWrongPassword_TakeComparableTime()
    {
        await using var server = await TestServer.StartAsync(null, s =>
        {
            s["Accounts:PasswordIterations"] = "50000";
            s["Accounts:LockAfterFailures"] = "100000";
        });
        var api = new AccountApi(server);
        using var card = new TestCard("77");
        await api.RegisterAsync("tara", card, "pc", AccountApi.NewMachineSecret());
        var accounts = server.Services.GetRequiredService<AccountService>();
        var requests = new[] { new PasswordLoginRequest("tara", "wrong password 1", null), new PasswordLoginRequest("nobody", "wrong password 1", null) };
        var times = requests.ToDictionary(r => r.Username!, _ => new List<double>());
        for (int i = 0; i < 30; i++)
        {
            foreach (var request in i % 2 == 0 ? requests : requests.Reverse())
            {
                var watch = Stopwatch.StartNew();
                var e = await Assert.ThrowsAsync<AccountException>(() => accounts.PasswordLoginAsync(request, "192.0.2.1", default));
                Assert.Equal(401, e.Status);
                if (i >= 6)
                {
                    times[request.Username!].Add(watch.Elapsed.TotalMilliseconds);
                }
            }
        }

        double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);
        double ratio = Median(times["tara"]) / Median(times["nobody"]);
        Assert.True(ratio is >= 0.5 and <= 2.0, $"ratio {ratio:F2}: median wrong password {Median(times["tara"]):F3} ms vs unknown account {Median(times["nobody"]):F3} ms");
    }
}
