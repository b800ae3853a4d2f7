using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CardKeep.Protocol;
using CardKeep.Protocol.Registration;

namespace CardKeep.Protocol.Tests;

public sealed class RegistrationTests
{
    public static TheoryData<Trk1Suite> Suites => new() { Trk1Suite.R, Trk1Suite.E };

    [Theory]
    [MemberData(nameof(Suites))]
    public void Register_BothSides_DeriveSameSskAndClientLearnsGrant(Trk1Suite suite)
    {
        var run = new Exchange().Register(TestPki.Default, suite);
        Assert.Equal(run.ServerSsk, run.Client.Ssk);
        Assert.Equal(run.Grant.TokenHandle, run.Client.TokenHandle);
        Assert.Equal(run.Grant.UserIdCode, run.Client.UserIdCode);
        Assert.Equal("/apps/alice", run.Client.AccessPath);
        Assert.Equal(3u, run.Client.PolicyVersion);
        Assert.Equal(TestPki.Default.Server(suite).ServerId, run.Client.ServerId);
    }

    [Theory]
    [MemberData(nameof(Suites))]
    public void Register_TwoTokens_GetDifferentSsks(Trk1Suite suite)
    {
        var a = new Exchange().Register(TestPki.Default, suite);
        var b = new Exchange().Register(TestPki.Default, suite);
        Assert.NotEqual(a.Client.Ssk, b.Client.Ssk);
    }

    [Fact]
    public void Register_ServerFixesItsHalf_SskStillDependsOnClientHalf()
    {
        // W2: the last mover must not control the key. With the server's randomness fixed, SSK still changes with the client's.
        var a = new Exchange { ServerRandom = new SeededRandom("server") }.Register(TestPki.Default, Trk1Suite.E);
        var b = new Exchange { ServerRandom = new SeededRandom("server") }.Register(TestPki.Default, Trk1Suite.E);
        Assert.NotEqual(a.Client.Ssk, b.Client.Ssk);
    }

    /// <summary>Every byte of every message flipped: the run never completes, and only a Trk1Exception is raised.</summary>
    [Theory]
    [InlineData(Trk1Suite.E, 1)]
    [InlineData(Trk1Suite.E, 2)]
    [InlineData(Trk1Suite.E, 3)]
    [InlineData(Trk1Suite.E, 4)]
    [InlineData(Trk1Suite.E, 5)]
    [InlineData(Trk1Suite.R, 1)]
    [InlineData(Trk1Suite.R, 2)]
    [InlineData(Trk1Suite.R, 3)]
    [InlineData(Trk1Suite.R, 4)]
    [InlineData(Trk1Suite.R, 5)]
    public void Register_AnyByteFlipped_IsRefused(Trk1Suite suite, int stage)
    {
        int length = new Exchange().Register(TestPki.Default, suite).Messages[stage - 1].Length;
        for (int i = 0; i < length; i++)
        {
            int index = i;
            var e = Assert.Throws<Trk1Exception>(() => new Exchange().Register(TestPki.Default, suite, (s, m) => s == stage ? Flip(m, index) : m));
            Assert.NotNull(e.Detail);
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public void Register_TruncatedOrExtended_IsRefused(int stage)
    {
        Assert.Throws<Trk1Exception>(() => new Exchange().Register(TestPki.Default, Trk1Suite.E, (s, m) => s == stage ? m[..^1] : m));
        Assert.Throws<Trk1Exception>(() => new Exchange().Register(TestPki.Default, Trk1Suite.E, (s, m) => s == stage ? [.. m, 0] : m));
    }

    [Theory]
    [MemberData(nameof(Suites))]
    public void ProcessHello_ServerFromAnotherIssuerWithSameName_IsRefused(Trk1Suite suite)
    {
        var e = Assert.Throws<Trk1Exception>(() => new Exchange().Register(TestPki.Other, suite, anchor: TestPki.Default.Anchor));
        Assert.Equal(Trk1Failure.BadCertificate, e.Failure);
    }

    public static TheoryData<string> BadCertificates => new() { "expired", "not-yet-valid", "wrong-eku", "no-eku", "ca-leaf", "wrong-key-usage" };

    [Theory]
    [MemberData(nameof(BadCertificates))]
    public void ProcessHello_BadServerCertificate_IsRefused(string kind)
    {
        foreach (var suite in new[] { Trk1Suite.R, Trk1Suite.E })
        {
            using var key = TestPki.Default.ServerWith(suite, o => kind switch
            {
                "expired" => o with { NotBefore = TestPki.Now.AddDays(-400), NotAfter = TestPki.Now.AddDays(-1) },
                "not-yet-valid" => o with { NotBefore = TestPki.Now.AddDays(1), NotAfter = TestPki.Now.AddDays(300) },
                "wrong-eku" => o with { ExtendedKeyUsages = ["1.3.6.1.5.5.7.3.1"] },
                "no-eku" => o with { ExtendedKeyUsages = [] },
                "ca-leaf" => o with { CertificateAuthority = true },
                "wrong-key-usage" => o with { KeyUsage = X509KeyUsageFlags.DigitalSignature },
                _ => o,
            });
            var e = Assert.Throws<Trk1Exception>(() => new Exchange().Register(TestPki.Default, suite, serverKey: key));
            Assert.Equal(Trk1Failure.BadCertificate, e.Failure);
        }
    }

    [Fact]
    public void ProcessHello_SelfSignedLeaf_IsRefused()
    {
        using var ecdh = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
        using var signer = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var self = Trk1Certificates.CreateIssuer("CardKeep Test Issuer", signer, TestPki.Now.AddDays(-1), TestPki.Now.AddDays(30));
        var cert = Pki.Sign(self, signer, new PublicKey(ecdh));
        using var key = Trk1ServerKey.FromPkcs8(cert, ecdh.ExportPkcs8PrivateKey());
        Assert.Equal(Trk1Failure.BadCertificate, Assert.Throws<Trk1Exception>(() => new Exchange().Register(TestPki.Default, Trk1Suite.E, serverKey: key)).Failure);
    }

    [Fact]
    public void ProcessHello_Rsa2048InSuiteR_IsRefused()
    {
        using var rsa = RSA.Create(2048);
        var cert = Pki.Sign(TestPki.Default.Issuer, TestPki.Default.IssuerKey, new PublicKey(rsa));
        using var key = Trk1ServerKey.FromPkcs8(cert, rsa.ExportPkcs8PrivateKey());
        Assert.Equal(Trk1Failure.BadCertificate, Assert.Throws<Trk1Exception>(() => new Exchange().Register(TestPki.Default, Trk1Suite.R, serverKey: key)).Failure);
    }

    [Fact]
    public void ProcessHello_P384KeyInSuiteE_IsRefused()
    {
        using var ecdh = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP384);
        var cert = Pki.Sign(TestPki.Default.Issuer, TestPki.Default.IssuerKey, new PublicKey(ecdh));
        using var key = Trk1ServerKey.FromPkcs8(cert, ecdh.ExportPkcs8PrivateKey());
        Assert.Equal(Trk1Failure.BadCertificate, Assert.Throws<Trk1Exception>(() => new Exchange().Register(TestPki.Default, Trk1Suite.E, serverKey: key)).Failure);
    }

    [Theory]
    [InlineData(-11)]
    [InlineData(30)]
    public void ProcessHello_ExpiresAtOutsideWindow_IsRefused(int clientClockOffsetMinutes)
    {
        // The client's clock is off by the offset: REG1's expires_at (server time + 10 min) is then stale or too far ahead.
        var exchange = new Exchange();
        var hello = RegistrationServer.CreateHello(TestPki.Default.ServerE, exchange.Template, TestPki.Now.AddMinutes(-clientClockOffsetMinutes), SystemTrk1Random.Instance);
        using var client = new RegistrationClient(TestPki.Default.Anchor, exchange.Clock, SystemTrk1Random.Instance);
        Assert.Equal(Trk1Failure.Expired, Assert.Throws<Trk1Exception>(() => client.ProcessHello(hello.Message)).Failure);
    }

    [Fact]
    public void ProcessHello_TemplateAsksForUnlistedField_IsRefused()
    {
        var exchange = new Exchange { Template = new RegistrationTemplate(["host", "ssn"], true) };
        Assert.Equal(Trk1Failure.BadTemplate, Assert.Throws<Trk1Exception>(() => exchange.Register(TestPki.Default, Trk1Suite.E)).Failure);
    }

    [Fact]
    public void OpenRequest_AfterNonceExpired_IsRefused()
    {
        var exchange = new Exchange();
        var e = Assert.Throws<Trk1Exception>(() => exchange.Register(TestPki.Default, Trk1Suite.E, (s, m) =>
        {
            if (s == 2)
            {
                exchange.Clock.Now = TestPki.Now.AddMinutes(11);
            }

            return m;
        }));
        Assert.Equal(Trk1Failure.Expired, e.Failure);
    }

    [Fact]
    public void OpenRequest_KeyTransportMadeForAnotherHello_IsRefused()
    {
        // Suite R: a REG2 whose kt carries TH1 of another REG1, moved under the second REG1's sid.
        var key = TestPki.Default.ServerR;
        var clock = new ManualClock(TestPki.Now);
        var template = new RegistrationTemplate(["host"], true);
        var helloA = RegistrationServer.CreateHello(key, template, clock.Now, SystemTrk1Random.Instance);
        var helloB = RegistrationServer.CreateHello(key, template, clock.Now, SystemTrk1Random.Instance);
        using var client = new RegistrationClient(TestPki.Default.Anchor, clock, SystemTrk1Random.Instance);
        client.ProcessHello(helloA.Message);
        var reg2 = client.CreateRequest(new RegistrationIdentity(Exchange.Serial, "alice", "c", new Dictionary<string, string>()));
        helloB.Sid.CopyTo(reg2, 4);
        Assert.Equal(Trk1Failure.KeyTransport, Assert.Throws<Trk1Exception>(() => RegistrationServer.OpenRequest(helloB, key, reg2, clock.Now)).Failure);
    }

    [Fact]
    public void OpenRequest_OffCurveEphemeral_IsRefused()
    {
        var e = Assert.Throws<Trk1Exception>(() => new Exchange().Register(TestPki.Default, Trk1Suite.E, (s, m) =>
        {
            if (s == 2)
            {
                m[24 + 64] ^= 0x01; // last byte of eC's Y: the point leaves the curve
            }

            return m;
        }));
        Assert.Equal(Trk1Failure.KeyTransport, e.Failure);
    }

    [Fact]
    public void ProcessResponse_FromServerWithoutPrivateKey_IsRefused()
    {
        // A fake server replays the genuine certificate but cannot open REG2; it makes up REG3.
        var exchange = new Exchange();
        var hello = RegistrationServer.CreateHello(TestPki.Default.ServerE, exchange.Template, exchange.Clock.Now, SystemTrk1Random.Instance);
        using var client = new RegistrationClient(TestPki.Default.Anchor, exchange.Clock, SystemTrk1Random.Instance);
        client.ProcessHello(hello.Message);
        var reg2 = client.CreateRequest(new RegistrationIdentity(Exchange.Serial, "alice", "c", new Dictionary<string, string>()));
        using var fake = Trk1Crypto.CreateEphemeral(SystemTrk1Random.Instance);
        var body = Trk1Crypto.Concat(Trk1Crypto.EncodePoint(fake), RandomNumberGenerator.GetBytes(32 + 32 + 16 + 2 + 12 + 8 + 4 + 16));
        var reg3 = new byte[24 + body.Length];
        new Trk1Header(Trk1MessageType.RegResponse, Trk1Suite.E, Trk1Mode.None, reg2.AsMemory(4, 16), body.Length).WriteTo(reg3);
        body.CopyTo(reg3, 24);
        Assert.Equal(Trk1Failure.Authentication, Assert.Throws<Trk1Exception>(() => client.ProcessResponse(reg3)).Failure);
    }

    [Fact]
    public void ProcessResponse_SplicedFromAnotherRegistration_IsRefused()
    {
        var other = new Exchange().Register(TestPki.Default, Trk1Suite.E);
        var e = Assert.Throws<Trk1Exception>(() => new Exchange().Register(TestPki.Default, Trk1Suite.E, (s, m) =>
        {
            if (s != 3)
            {
                return m;
            }

            var spliced = (byte[])other.Messages[2].Clone();
            m.AsSpan(4, 16).CopyTo(spliced.AsSpan(4)); // keep this run's sid so only the content is foreign
            return spliced;
        }));
        Assert.Equal(Trk1Failure.Authentication, e.Failure);
    }

    [Fact]
    public void Finish_WrongFinC_IsRefused()
    {
        var e = Assert.Throws<Trk1Exception>(() => new Exchange().Register(TestPki.Default, Trk1Suite.E, (s, m) => s == 4 ? [.. m[..24], .. RandomNumberGenerator.GetBytes(32)] : m));
        Assert.Equal(Trk1Failure.Authentication, e.Failure);
    }

    [Fact]
    public void ProcessAck_WrongFinS_HandsOutNoSsk()
    {
        var e = Assert.Throws<Trk1Exception>(() => new Exchange().Register(TestPki.Default, Trk1Suite.R, (s, m) => s == 5 ? [.. m[..24], .. new byte[32]] : m));
        Assert.Equal(Trk1Failure.Authentication, e.Failure);
    }

    [Fact]
    public void ProcessAck_ReflectedFinC_IsRefused()
    {
        // The client's own REG4 (fin_c) echoed back as REG5: direction labels make it fail.
        var e = Assert.Throws<Trk1Exception>(() =>
        {
            byte[]? reg4 = null;
            new Exchange().Register(TestPki.Default, Trk1Suite.E, (s, m) =>
            {
                if (s == 4)
                {
                    reg4 = m;
                }

                if (s == 5)
                {
                    var echo = (byte[])reg4!.Clone();
                    echo[1] = (byte)Trk1MessageType.RegAck;
                    return echo;
                }

                return m;
            });
        });
        Assert.Equal(Trk1Failure.Authentication, e.Failure);
    }

    [Fact]
    public void OpenRequest_MutatedRandomly_OnlyRaisesProtocolErrors()
    {
        var random = new Random(1234);
        for (int i = 0; i < 300; i++)
        {
            int stage = random.Next(1, 6);
            try
            {
                new Exchange().Register(TestPki.Default, Trk1Suite.E, (s, m) => s == stage ? Mutate(m, random) : m);
            }
            catch (Trk1Exception)
            {
            }
        }
    }

    internal static byte[] Flip(byte[] message, int index)
    {
        var copy = (byte[])message.Clone();
        copy[index] ^= 0x01;
        return copy;
    }

    internal static byte[] Mutate(byte[] message, Random random)
    {
        var copy = (byte[])message.Clone();
        switch (random.Next(3))
        {
            case 0:
                copy[random.Next(copy.Length)] = (byte)random.Next(256);
                return copy;
            case 1:
                return copy[..random.Next(copy.Length)];
            default:
                var extra = new byte[random.Next(1, 64)];
                random.NextBytes(extra);
                return [.. copy, .. extra];
        }
    }
}
