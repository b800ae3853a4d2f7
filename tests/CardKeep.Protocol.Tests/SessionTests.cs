using System.Security.Cryptography;
using CardKeep.Protocol;
using CardKeep.Protocol.Sessions;

namespace CardKeep.Protocol.Tests;

public sealed class SessionTests
{
    private static readonly Lazy<Exchange.Registered> _registered = new(() => new Exchange().Register(TestPki.Default, Trk1Suite.E));

    private static Exchange.Registered Registered => _registered.Value;

    private static TokenCredential Credential => Exchange.Credential(Registered);

    [Fact]
    public void Session_RegisteredToken_EstablishesMatchingRecordKeys()
    {
        using var run = new Exchange().Session(Credential, Registered.ServerSsk);
        var payload = run.Server.Seal(Trk1MessageType.GatewayResponse, "hello"u8);
        Assert.Equal("hello"u8.ToArray(), run.Client.Open(payload, Trk1MessageType.GatewayResponse, 100));
    }

    [Fact]
    public void Session_FixedRandomness_MatchesGoldenTranscript()
    {
        // Golden transcript: SSK, server_id, handle, randomness and clock fixed. The digest was computed independently by
        // kat_session.py (Python cryptography + stdlib HKDF), which implements S1-S5 from the spec without this code.
        var credential = new TokenCredential(Enumerable.Repeat((byte)0x5a, 32).ToArray(), Enumerable.Repeat((byte)0x11, 16).ToArray(), Enumerable.Repeat((byte)0x66, 32).ToArray(), Trk1Suite.E);
        var exchange = new Exchange { ServerRandom = new SeededRandom("golden server"), ClientRandom = new SeededRandom("golden client") };
        using var run = exchange.Session(credential, credential.Ssk);
        var digest = Convert.ToHexStringLower(SHA256.HashData(run.Messages.SelectMany(m => m).ToArray()));
        Assert.Equal(GoldenSessionDigest, digest);
    }

    internal const string GoldenSessionDigest = "ff5fd4c7deed82f1f39a60a708d930746d02661a75aa8a80e5bdc38d746bfc64";

    [Theory]
    [InlineData(Trk1Mode.None)]
    [InlineData(Trk1Mode.PskOnly)]
    public void Session_AnyByteFlipped_IsRefused(Trk1Mode mode)
    {
        for (int stage = 1; stage <= 5; stage++)
        {
            using var sample = new Exchange().Session(Credential, Registered.ServerSsk, mode, allowPskOnly: true);
            int length = sample.Messages[stage - 1].Length;
            for (int i = 0; i < length; i++)
            {
                int s0 = stage;
                int index = i;
                Assert.Throws<Trk1Exception>(() => new Exchange().Session(Credential, Registered.ServerSsk, mode, (s, m) => s == s0 ? RegistrationTests.Flip(m, index) : m, allowPskOnly: true).Dispose());
            }
        }
    }

    [Fact]
    public void ProcessChallenge_PskOnlyNotAllowed_IsRefused()
    {
        Assert.Equal(Trk1Failure.BadHeader, Assert.Throws<Trk1Exception>(() => new Exchange().Session(Credential, Registered.ServerSsk, Trk1Mode.PskOnly)).Failure);
    }

    [Fact]
    public void ProcessChallenge_Stale_IsRefused()
    {
        var exchange = new Exchange();
        var e = Assert.Throws<Trk1Exception>(() => exchange.Session(Credential, Registered.ServerSsk, tamper: (s, m) =>
        {
            if (s == 1)
            {
                exchange.Clock.Now = TestPki.Now.AddMinutes(4);
            }

            return m;
        }));
        Assert.Equal(Trk1Failure.Expired, e.Failure);
    }

    [Fact]
    public void ProcessChallenge_UnknownServerId_IsRefused()
    {
        var e = Assert.Throws<Trk1Exception>(() => new Exchange().Session(Credential, Registered.ServerSsk, serverId: new byte[32]));
        Assert.Equal(Trk1Failure.UnknownServer, e.Failure);
    }

    [Fact]
    public void OpenResponse_AfterSixtySeconds_IsRefused()
    {
        var exchange = new Exchange();
        var e = Assert.Throws<Trk1Exception>(() => exchange.Session(Credential, Registered.ServerSsk, tamper: (s, m) =>
        {
            if (s == 2)
            {
                exchange.Clock.Now = TestPki.Now.AddSeconds(61);
            }

            return m;
        }));
        Assert.Equal(Trk1Failure.Expired, e.Failure);
    }

    [Fact]
    public void OpenResponse_FromSessionAIntoSessionB_IsRefused()
    {
        var clock = new ManualClock(TestPki.Now);
        using var a = SessionServer.CreateChallenge(Credential.ServerId, Trk1Suite.E, Trk1Mode.None, clock.Now, SystemTrk1Random.Instance);
        using var b = SessionServer.CreateChallenge(Credential.ServerId, Trk1Suite.E, Trk1Mode.None, clock.Now, SystemTrk1Random.Instance);
        using var client = new SessionClient(Credential, false, clock, SystemTrk1Random.Instance);
        var s2 = client.ProcessChallenge(a.Message);
        Assert.Throws<Trk1Exception>(() => SessionServer.OpenResponse(b, s2, clock.Now));
        b.Sid.CopyTo(s2, 4);
        Assert.Throws<Trk1Exception>(() => SessionServer.OpenResponse(b, s2, clock.Now));
    }

    [Fact]
    public void Verify_WrongSsk_IsRefused()
    {
        var e = Assert.Throws<Trk1Exception>(() => new Exchange().Session(Credential, RandomNumberGenerator.GetBytes(32)));
        Assert.Equal(Trk1Failure.Authentication, e.Failure);
    }

    [Fact]
    public void Verify_MacSFedBackAsMacC_IsRefused()
    {
        // Reflection: S3's mac_s from one session placed as mac_c of another session's S2 for the same token.
        using var first = new Exchange().Session(Credential, Registered.ServerSsk);
        var macS = first.Messages[2][24..];
        var e = Assert.Throws<Trk1Exception>(() => new Exchange().Session(Credential, Registered.ServerSsk, tamper: (s, m) => s == 2 ? [.. m[..^32], .. macS] : m));
        Assert.Equal(Trk1Failure.Authentication, e.Failure);
    }

    [Fact]
    public void ProcessServerFinished_EchoOfClientsOwnMessage_IsRefused()
    {
        Assert.Throws<Trk1Exception>(() =>
        {
            byte[]? s2 = null;
            new Exchange().Session(Credential, Registered.ServerSsk, tamper: (s, m) =>
            {
                if (s == 2)
                {
                    s2 = m;
                }

                return s == 3 ? s2! : m;
            });
        });
    }

    [Fact]
    public void ProcessServerFinished_MacSFromAnotherSession_IsRefused()
    {
        using var other = new Exchange().Session(Credential, Registered.ServerSsk);
        var e = Assert.Throws<Trk1Exception>(() => new Exchange().Session(Credential, Registered.ServerSsk, tamper: (s, m) => s == 3 ? [.. m[..24], .. other.Messages[2][24..]] : m));
        Assert.Equal(Trk1Failure.Authentication, e.Failure);
    }

    [Fact]
    public void RecordOpen_ReplayedOrSkippedSequence_IsRefused()
    {
        using var run = new Exchange().Session(Credential, Registered.ServerSsk);
        var first = run.Client.Seal(Trk1MessageType.GatewayRequest, "one"u8);
        run.Server.Open(first, Trk1MessageType.GatewayRequest, 100);
        Assert.Throws<Trk1Exception>(() => run.Server.Open(first, Trk1MessageType.GatewayRequest, 100));
        run.Client.Seal(Trk1MessageType.GatewayRequest, "two"u8);
        var third = run.Client.Seal(Trk1MessageType.GatewayRequest, "three"u8);
        Assert.Throws<Trk1Exception>(() => run.Server.Open(third, Trk1MessageType.GatewayRequest, 100));
    }

    [Fact]
    public void RecordOpen_ReflectedToSender_IsRefused()
    {
        using var run = new Exchange().Session(Credential, Registered.ServerSsk);
        var own = run.Client.Seal(Trk1MessageType.GatewayResponse, "mine"u8);
        Assert.Throws<Trk1Exception>(() => run.Client.Open(own, Trk1MessageType.GatewayResponse, 100));
    }

    [Fact]
    public void RecordOpen_FromAnotherSession_IsRefused()
    {
        using var a = new Exchange().Session(Credential, Registered.ServerSsk);
        using var b = new Exchange().Session(Credential, Registered.ServerSsk);
        var record = a.Client.Seal(Trk1MessageType.GatewayRequest, "x"u8);
        Assert.Throws<Trk1Exception>(() => b.Server.Open(record, Trk1MessageType.GatewayRequest, 100));
    }

    [Fact]
    public void Session_MutatedRandomly_OnlyRaisesProtocolErrors()
    {
        var random = new Random(99);
        for (int i = 0; i < 300; i++)
        {
            int stage = random.Next(1, 6);
            try
            {
                new Exchange().Session(Credential, Registered.ServerSsk, tamper: (s, m) => s == stage ? RegistrationTests.Mutate(m, random) : m).Dispose();
            }
            catch (Trk1Exception)
            {
            }
        }
    }
}
