using System.Text;
using System.Text.Json.Nodes;
using CardKeep.Client.Recovery;

namespace CardKeep.Client.Tests.Recovery;

public sealed class EmergencyKitTests
{
    private static readonly byte[] _passphrase = Encoding.UTF8.GetBytes("a long kit passphrase");

    private static (EmergencyKit Kit, KitVerifier Verifier) NewKit() =>
        EmergencyKit.Create("alice", "m1", _passphrase, DateTimeOffset.UnixEpoch, iterations: 1000);

    [Fact]
    public void Open_RightPassphrase_GivesTheSecretTheVerifierWasMadeFrom()
    {
        var (kit, verifier) = NewKit();
        byte[] secret = EmergencyKit.Parse(kit.ToJson()).Open(_passphrase);
        Assert.Equal(32, secret.Length);
        Assert.True(MachineSecrets.KitMatches(verifier, secret));
        Assert.Equal(kit.KitId, verifier.KitId);
    }

    [Fact]
    public void Kit_HoldsNoSecretInTheClear_AndSaysWhatItIs()
    {
        var (kit, _) = NewKit();
        var json = JsonNode.Parse(kit.ToJson())!;
        Assert.Equal(EmergencyKit.FormatName, json["format"]!.GetValue<string>());
        Assert.Equal(1000, json["iterations"]!.GetValue<int>());
        Assert.DoesNotContain("a long kit passphrase", kit.ToJson(), StringComparison.Ordinal);
        Assert.Equal(48, Convert.FromBase64String(json["secret"]!.GetValue<string>()).Length);
        Assert.DoesNotContain("\\u00", kit.ToJson(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("user")]
    [InlineData("machineId")]
    [InlineData("kitId")]
    [InlineData("secret")]
    public void Open_AnyFieldChanged_FailsAsWrongPassphraseOrAltered(string field)
    {
        var (kit, _) = NewKit();
        var json = JsonNode.Parse(kit.ToJson())!;
        string value = json[field]!.GetValue<string>();
        json[field] = field == "secret" ? Convert.ToBase64String(Convert.FromBase64String(value).Select((b, i) => i == 0 ? (byte)(b ^ 1) : b).ToArray()) : value + "x";

        var altered = EmergencyKit.Parse(json.ToJsonString());
        var e = Assert.Throws<EmergencyKitException>(() => altered.Open(_passphrase));
        Assert.Contains("altered", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Open_WrongPassphrase_Fails()
    {
        var (kit, _) = NewKit();
        Assert.Throws<EmergencyKitException>(() => kit.Open(Encoding.UTF8.GetBytes("a long kit passphrasf")));
    }

    [Theory]
    [InlineData("")]
    [InlineData("{}")]
    [InlineData("{\"format\":\"cardkeep-kit-2\",\"kitId\":\"x\",\"iterations\":1}")]
    [InlineData("not json")]
    public void Parse_NotAKit_IsAClearError(string text)
    {
        var e = Assert.Throws<EmergencyKitException>(() => EmergencyKit.Parse(text));
        Assert.Contains("not a CardKeep emergency kit", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Create_ShortPassphrase_IsRefused()
    {
        Assert.Throws<ArgumentException>(() => EmergencyKit.Create("alice", "m1", "short"u8, DateTimeOffset.UnixEpoch, iterations: 1000));
    }

    [Fact]
    public void Html_HasTheQrCodeAndTheKitTextButNotThePassphrase()
    {
        var (kit, _) = NewKit();
        string html = kit.ToHtml("PF2<ABC>");
        Assert.Contains("<svg", html, StringComparison.Ordinal);
        Assert.Contains("PF2&lt;ABC&gt;", html, StringComparison.Ordinal);
        Assert.Contains(System.Net.WebUtility.HtmlEncode(kit.ToJson()), html, StringComparison.Ordinal);
        Assert.Contains("cardkeep gate --user alice --kit", html, StringComparison.Ordinal);
        Assert.DoesNotContain("a long kit passphrase", html, StringComparison.Ordinal);
    }
}
