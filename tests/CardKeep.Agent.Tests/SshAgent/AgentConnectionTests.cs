using System.Security.Cryptography;
using CardKeep.Agent.Keys;
using CardKeep.Agent.SshAgent;
using static CardKeep.Agent.Tests.TestSupport;

namespace CardKeep.Agent.Tests.SshAgent;

public sealed class AgentConnectionTests
{
    private static readonly byte[] _failure = [AgentProtocol.Failure];
    private static readonly byte[] _success = [AgentProtocol.Success];

    [Fact]
    public void AddThenList_ThreeKeyTypes_ListedWithComments()
    {
        using var keys = Manager();
        var agent = Connect(keys, Alice);
        foreach (var type in new[] { SshKeyType.EcdsaP256, SshKeyType.Rsa, SshKeyType.Ed25519 })
        {
            using var key = SoftwareKey.Generate(type, 2048, "k", KeySource.Added);
            Assert.Equal(_success, agent.Handle(AddMessage(key, type.Name())));
        }

        var listed = IdentitiesOf(agent.Handle([AgentProtocol.RequestIdentities]));
        Assert.Equal(["ecdsa-sha2-nistp256", "ssh-rsa", "ssh-ed25519"], listed.Select(l => l.Comment));
    }

    [Fact]
    public void Sign_OtherUsersKey_FailsAndListIsEmpty()
    {
        using var keys = Manager();
        using var key = SoftwareKey.Generate(SshKeyType.EcdsaP256, 0, "alice", KeySource.Added);
        Connect(keys, Alice).Handle(AddMessage(key, "alice"));
        var bob = Connect(keys, Bob);
        Assert.Empty(IdentitiesOf(bob.Handle([AgentProtocol.RequestIdentities])));
        Assert.Equal(_failure, bob.Handle(SignMessage(key.PublicKey.Blob.Span, "x"u8, 0)));
        Assert.Equal(_failure, bob.Handle(Message(AgentProtocol.RemoveIdentity, w => w.WriteString(key.PublicKey.Blob.Span))));
        Assert.Single(IdentitiesOf(Connect(keys, Alice).Handle([AgentProtocol.RequestIdentities])));
    }

    [Fact]
    public void Sign_RsaWithEachFlag_SignatureAlgorithmMatchesFlag()
    {
        using var keys = Manager();
        var agent = Connect(keys, Alice);
        using var key = SoftwareKey.Generate(SshKeyType.Rsa, 2048, "r", KeySource.Added);
        agent.Handle(AddMessage(key, "r"));
        foreach (var (flags, name) in new[] { (0u, "ssh-rsa"), (2u, "rsa-sha2-256"), (4u, "rsa-sha2-512") })
        {
            var signature = SignatureOf(agent.Handle(SignMessage(key.PublicKey.Blob.Span, "data"u8, flags)))!;
            var reader = new SshReader(signature);
            Assert.Equal(name, reader.ReadAscii());
            Assert.True(key.PublicKey.Verify("data"u8, signature));
        }
    }

    [Fact]
    public void Lifetime_Expired_KeyIsGone()
    {
        var time = new ManualTime(DateTimeOffset.UnixEpoch);
        using var keys = Manager(time);
        var agent = Connect(keys, Alice);
        using var key = SoftwareKey.Generate(SshKeyType.Ed25519, 0, "t", KeySource.Added);
        Assert.Equal(_success, agent.Handle(AddMessage(key, "t", [AgentProtocol.ConstrainLifetime, 0, 0, 0, 60])));
        time.Advance(TimeSpan.FromSeconds(59));
        Assert.Single(IdentitiesOf(agent.Handle([AgentProtocol.RequestIdentities])));
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Empty(IdentitiesOf(agent.Handle([AgentProtocol.RequestIdentities])));
        Assert.Equal(0, keys.AddedCount);
    }

    [Fact]
    public void Confirm_ConfirmerSaysNoThenYes_FailsThenSigns()
    {
        using var keys = Manager();
        var no = new FixedConfirmer(false);
        using var key = SoftwareKey.Generate(SshKeyType.EcdsaP256, 0, "c", KeySource.Added);
        Assert.Equal(_success, Connect(keys, Alice, no).Handle(AddMessage(key, "c", [AgentProtocol.ConstrainConfirm])));
        Assert.Equal(_failure, Connect(keys, Alice, no).Handle(SignMessage(key.PublicKey.Blob.Span, "d"u8, 0)));
        Assert.Equal(1, no.Asked);
        var yes = new FixedConfirmer(true);
        Assert.NotNull(SignatureOf(Connect(keys, Alice, yes).Handle(SignMessage(key.PublicKey.Blob.Span, "d"u8, 0))));
    }

    [Theory]
    [InlineData(new byte[] { 0x03, 0, 0, 0, 1 })]
    [InlineData(new byte[] { 0x04 })]
    [InlineData(new byte[] { 0xFF, 0, 0, 0, 3, 0x61, 0x62, 0x63 })]
    [InlineData(new byte[] { 0x01, 0, 0, 0, 5, 0x01, 0, 0, 0, 6 })]
    [InlineData(new byte[] { 0x01, 0, 0 })]
    public void AddConstrained_UnknownDuplicateOrTruncatedConstraint_FailsAndAddsNothing(byte[] constraint)
    {
        using var keys = Manager();
        using var key = SoftwareKey.Generate(SshKeyType.Ed25519, 0, "c", KeySource.Added);
        Assert.Equal(_failure, Connect(keys, Alice).Handle(AddMessage(key, "c", constraint)));
        Assert.Equal(0, keys.AddedCount);
    }

    [Fact]
    public void AddConstrained_RestrictDestinationExtension_IsRefused()
    {
        using var keys = Manager();
        using var key = SoftwareKey.Generate(SshKeyType.Ed25519, 0, "c", KeySource.Added);
        using var w = new SshWriter();
        w.WriteByte(AgentProtocol.ConstrainExtension).WriteString("restrict-destination-v00@openssh.com").WriteString([]);
        Assert.Equal(_failure, Connect(keys, Alice).Handle(AddMessage(key, "c", w.ToArray())));
    }

    [Fact]
    public void LockedAgent_ListEmptyOthersFailUntilUnlock()
    {
        using var keys = Manager();
        var agent = Connect(keys, Alice);
        using var key = SoftwareKey.Generate(SshKeyType.EcdsaP256, 0, "c", KeySource.Added);
        agent.Handle(AddMessage(key, "c"));
        Assert.Equal(_success, agent.Handle(Message(AgentProtocol.Lock, w => w.WriteString("pw"))));
        Assert.Empty(IdentitiesOf(agent.Handle([AgentProtocol.RequestIdentities])));
        Assert.Equal(_failure, agent.Handle(SignMessage(key.PublicKey.Blob.Span, "d"u8, 0)));
        Assert.Equal(_failure, agent.Handle(Message(AgentProtocol.RemoveAllIdentities)));
        Assert.Equal(_failure, agent.Handle(Message(AgentProtocol.Lock, w => w.WriteString("pw"))));
        Assert.Equal(_failure, agent.Handle(Message(AgentProtocol.Unlock, w => w.WriteString("wrong"))));
        // Bob is not locked by Alice.
        Assert.Equal(_success, Connect(keys, Bob).Handle(Message(AgentProtocol.RemoveAllIdentities)));
        Assert.Equal(_success, agent.Handle(Message(AgentProtocol.Unlock, w => w.WriteString("pw"))));
        Assert.Single(IdentitiesOf(agent.Handle([AgentProtocol.RequestIdentities])));
    }

    [Theory]
    [InlineData(AgentProtocol.AddSmartcardKey)]
    [InlineData(AgentProtocol.RemoveSmartcardKey)]
    [InlineData(AgentProtocol.AddSmartcardKeyConstrained)]
    [InlineData(1)]
    [InlineData(200)]
    public void SmartcardOrUnknownMessage_FailsAndConnectionStaysUsable(byte type)
    {
        using var keys = Manager();
        var agent = Connect(keys, Alice);
        Assert.Equal(_failure, agent.Handle(Message(type, w => w.WriteString("/usr/lib/x.so").WriteString("123456"))));
        Assert.Empty(IdentitiesOf(agent.Handle([AgentProtocol.RequestIdentities])));
    }

    [Fact]
    public void RemoveAll_ThenV1RemoveAll_BothSucceed()
    {
        using var keys = Manager();
        var agent = Connect(keys, Alice);
        using var key = SoftwareKey.Generate(SshKeyType.Ed25519, 0, "c", KeySource.Added);
        agent.Handle(AddMessage(key, "c"));
        Assert.Equal(_success, agent.Handle([AgentProtocol.RemoveAllIdentities]));
        Assert.Equal(_success, agent.Handle([AgentProtocol.RemoveAllRsaIdentitiesV1]));
        Assert.Equal(0, keys.AddedCount);
    }

    [Theory]
    [InlineData(SshKeyType.Ed25519)]
    [InlineData(SshKeyType.EcdsaP256)]
    [InlineData(SshKeyType.Rsa)]
    public void SessionBind_ValidHostSignature_AcceptedAndForwardingRecognised(SshKeyType hostType)
    {
        using var keys = Manager();
        var agent = Connect(keys, Alice);
        using var host = SoftwareKey.Generate(hostType, 2048, "host", KeySource.Added);
        var sid = RandomNumberGenerator.GetBytes(32);
        Assert.Equal(_success, agent.Handle(SessionBind(host, sid, host.SignSsh(sid, AgentProtocol.FlagRsaSha512), forwarding: true)));
        Assert.True(agent.IsForwarded);
        // A second binding for forwarding is allowed; the same sid again is not.
        Assert.Equal(_failure, agent.Handle(SessionBind(host, sid, host.SignSsh(sid, 0), forwarding: true)));
    }

    [Fact]
    public void SessionBind_BadSignatureOrLongSidOrAfterAuthBinding_Refused()
    {
        using var keys = Manager();
        using var host = SoftwareKey.Generate(SshKeyType.Ed25519, 0, "host", KeySource.Added);
        var sid = RandomNumberGenerator.GetBytes(32);
        var bad = host.SignSsh(sid, 0);
        bad[^1] ^= 1;
        Assert.Equal(_failure, Connect(keys, Alice).Handle(SessionBind(host, sid, bad, false)));
        var longSid = new byte[129];
        Assert.Equal(_failure, Connect(keys, Alice).Handle(SessionBind(host, longSid, host.SignSsh(longSid, 0), false)));
        var agent = Connect(keys, Alice);
        Assert.Equal(_success, agent.Handle(SessionBind(host, sid, host.SignSsh(sid, 0), false)));
        Assert.False(agent.IsForwarded);
        var other = RandomNumberGenerator.GetBytes(32);
        Assert.Equal(_failure, agent.Handle(SessionBind(host, other, host.SignSsh(other, 0), false)));
    }

    [Fact]
    public void ForwardingPolicyDeny_ForwardedConnection_SignRefusedLocalSigns()
    {
        using var keys = Manager(options: new AgentOptions { LockIterations = 1, Forwarding = ForwardingPolicy.Deny });
        using var key = SoftwareKey.Generate(SshKeyType.EcdsaP256, 0, "c", KeySource.Added);
        using var host = SoftwareKey.Generate(SshKeyType.Ed25519, 0, "host", KeySource.Added);
        Connect(keys, Alice).Handle(AddMessage(key, "c"));
        var forwarded = Connect(keys, Alice);
        var sid = RandomNumberGenerator.GetBytes(32);
        forwarded.Handle(SessionBind(host, sid, host.SignSsh(sid, 0), true));
        Assert.Equal(_failure, forwarded.Handle(SignMessage(key.PublicKey.Blob.Span, "d"u8, 0)));
        Assert.NotNull(SignatureOf(Connect(keys, Alice).Handle(SignMessage(key.PublicKey.Blob.Span, "d"u8, 0))));
    }

    [Fact]
    public void UnknownExtension_Fails()
    {
        using var keys = Manager();
        Assert.Equal(_failure, Connect(keys, Alice).Handle(Message(AgentProtocol.Extension, w => w.WriteString("query"))));
    }

    [Fact]
    public void Add_RsaUnder2048Bits_IsRefused()
    {
        using var keys = Manager();
        using var rsa = RSA.Create(1024);
        var p = rsa.ExportParameters(true);
        using var w = new SshWriter();
        w.WriteByte(AgentProtocol.AddIdentity).WriteString("ssh-rsa").WriteMpint(p.Modulus).WriteMpint(p.Exponent).WriteMpint(p.D)
            .WriteMpint(p.InverseQ).WriteMpint(p.P).WriteMpint(p.Q).WriteString("small");
        Assert.Equal(_failure, Connect(keys, Alice).Handle(w.ToArray()));
    }

    [Fact]
    public void Add_OverPerUserLimit_Fails()
    {
        using var keys = Manager(options: new AgentOptions { LockIterations = 1, MaxAddedKeysPerUser = 2 });
        var agent = Connect(keys, Alice);
        for (int i = 0; i < 3; i++)
        {
            using var key = SoftwareKey.Generate(SshKeyType.Ed25519, 0, "k", KeySource.Added);
            Assert.Equal(i < 2 ? _success : _failure, agent.Handle(AddMessage(key, "k")));
        }
    }

    internal static byte[] SessionBind(SoftwareKey host, byte[] sid, byte[] signature, bool forwarding) =>
        Message(AgentProtocol.Extension, w => w.WriteString(AgentProtocol.SessionBindExtension).WriteString(host.PublicKey.Blob.Span)
            .WriteString(sid).WriteString(signature).WriteBool(forwarding));
}
