using System.Text;
using CardKeep.Protocol;
using CardKeep.Protocol.Configuration;

namespace CardKeep.Protocol.Tests;

public sealed class ConfigSchemaTests
{
    private static readonly DateTimeOffset _now = TestPki.Now;

    private static ConfigDocument Sample(long version = 5) => new()
    {
        PolicyVersion = version,
        NotAfter = _now.AddHours(1).ToUnixTimeMilliseconds(),
        User = "alice",
        Entitlements = [new EntitlementInfo("wiki", ["reader"], [])],
        Instructions =
        [
            new ConfigInstruction { Type = "app_profile", Name = "wiki", Settings = new Dictionary<string, string> { ["role"] = "reader" } },
            new ConfigInstruction { Type = "app_servers", Servers = [new AppServerEntry("wiki", "/gateway/wiki", "Wiki")] },
            new ConfigInstruction { Type = "agent_settings", Settings = new Dictionary<string, string> { ["lock_on_removal"] = "true" } },
        ],
    };

    [Fact]
    public void ParseConfig_RoundTrip_KeepsEverything()
    {
        var parsed = ConfigSchema.ParseConfig(ConfigSchema.Serialize(Sample()), 5, _now);
        Assert.Equal(5, parsed.PolicyVersion);
        Assert.Equal(3, parsed.Instructions.Count);
        Assert.Equal("/gateway/wiki", parsed.Instructions[1].Servers![0].GatewayPath);
    }

    [Fact]
    public void ParseConfig_RolledBackPolicyVersion_IsRefused() =>
        Assert.Equal(Trk1Failure.BadConfiguration, Assert.Throws<Trk1Exception>(() => ConfigSchema.ParseConfig(ConfigSchema.Serialize(Sample(4)), 5, _now)).Failure);

    [Fact]
    public void ParseConfig_Expired_IsRefused() =>
        Assert.Throws<Trk1Exception>(() => ConfigSchema.ParseConfig(ConfigSchema.Serialize(Sample()), 0, _now.AddHours(2)));

    [Theory]
    [InlineData("""{"type":"run_shell","name":"x"}""")]
    [InlineData("""{"type":"app_profile","name":"../etc","settings":{}}""")]
    [InlineData("""{"type":"app_profile","name":"ok","settings":{"A B":"x"}}""")]
    [InlineData("""{"type":"app_servers","servers":[{"name":"w","gateway_path":"http://elsewhere"}]}""")]
    [InlineData("""{"type":"agent_settings","settings":{"x":"y"},"extra":1}""")]
    public void ParseConfig_InstructionOutsideWhitelist_IsRefused(string instruction)
    {
        var json = $$"""{"schema":1,"policy_version":1,"not_after":{{_now.AddHours(1).ToUnixTimeMilliseconds()}},"user":"a","entitlements":[],"instructions":[{{instruction}}]}""";
        Assert.Throws<Trk1Exception>(() => ConfigSchema.ParseConfig(Encoding.UTF8.GetBytes(json), 0, _now));
    }

    [Fact]
    public void ParseConfig_UnknownSchemaVersion_IsRefused()
    {
        var json = $$"""{"schema":2,"policy_version":1,"not_after":{{_now.AddHours(1).ToUnixTimeMilliseconds()}},"user":"a"}""";
        Assert.Throws<Trk1Exception>(() => ConfigSchema.ParseConfig(Encoding.UTF8.GetBytes(json), 0, _now));
    }

    [Fact]
    public void ParseUserInfo_UnknownMemberOrDuplicate_IsRefused()
    {
        Assert.Equal("pc1", ConfigSchema.ParseUserInfo("""{"host":"pc1"}"""u8).Host);
        Assert.Throws<Trk1Exception>(() => ConfigSchema.ParseUserInfo("""{"host":"pc1","shell":"x"}"""u8));
        Assert.Throws<Trk1Exception>(() => ConfigSchema.ParseUserInfo("""{"host":"pc1","host":"pc2"}"""u8));
    }

    [Theory]
    [InlineData("alice", true)]
    [InlineData("bob.smith@example", true)]
    [InlineData("Alice", false)]
    [InlineData(" alice", false)]
    [InlineData("", false)]
    [InlineData("al/ice", false)]
    [InlineData("cafe\u0301", false)]
    [InlineData("caf\u00e9", true)]
    public void IsCanonicalUsername_Examples_Classified(string name, bool expected) =>
        Assert.Equal(expected, Registration.Trk1Names.IsCanonicalUsername(name));
}
