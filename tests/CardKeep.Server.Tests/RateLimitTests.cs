using CardKeep.Client;
using CardKeep.Client.Tokens;
using CardKeep.Protocol;
using CardKeep.Server.Tests.Harness;

namespace CardKeep.Server.Tests;

/// <summary>Per-IP limits (ASP.NET Core rate limiting) and per-user limits inside the protocol.</summary>
public sealed class RateLimitTests
{
    [Fact]
    public async Task RegistrationPerIp_OverTheLimit_Gets429WithTheGenericError()
    {
        await using var server = await TestServer.StartAsync(null, s => s["RateLimits:RegistrationPerIpPerMinute"] = "3");
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(200, (await server.PostAsync("trk1/registration/hello?suite=E", [])).Status);
        }

        var (status, body) = await server.PostAsync("trk1/registration/hello?suite=E", []);
        Assert.Equal(429, status);
        Assert.Equal(Trk1Wire.ErrorMessage.ToArray(), body);
        Assert.Equal(200, (await server.PostAsync("trk1/session/challenge?suite=E", [])).Status);
    }

    [Fact]
    public async Task RegistrationPerUser_OverTheLimit_IsRefusedEvenWithValidCodes()
    {
        await using var server = await TestServer.StartAsync(null, s => s["RateLimits:RegistrationPerUserPerHour"] = "2");
        using var tokens = new Tokens();
        using var client = new Trk1Client(server.Url);
        for (int i = 0; i < 2; i++)
        {
            await client.RegisterAsync(tokens.Software("t" + i), Tokens.Pin, Trk1Suite.E, "quinn", await server.ActivationCodeAsync("quinn"));
        }

        var third = tokens.Software("t3");
        var e = await Assert.ThrowsAsync<Trk1Exception>(async () => await client.RegisterAsync(third, Tokens.Pin, Trk1Suite.E, "quinn", await server.ActivationCodeAsync("quinn")));
        Assert.Equal(Trk1Failure.PeerError, e.Failure);
        Assert.Empty(third.ReadRegistrations(Tokens.Pin));
        Assert.Contains(server.Logs.Lines, l => l.Contains("RateLimited", StringComparison.Ordinal));
    }
}
