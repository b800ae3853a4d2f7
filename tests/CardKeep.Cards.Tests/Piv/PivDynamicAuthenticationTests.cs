using CardKeep.Cards.Piv;
using FsCheck;
using FsCheck.Fluent;

namespace CardKeep.Cards.Tests.Piv;

public class PivDynamicAuthenticationTests
{
    [Fact]
    public void SignRequest_Sha256Hash_MatchesOpenScTrace()
    {
        var hash = Enumerable.Range(0, 32).Select(i => (byte)i).ToArray();
        Assert.Equal("7C24" + "8200" + "8120" + Hex.Of(hash), Hex.Of(PivDynamicAuthentication.SignRequest(hash)));
    }

    [Fact]
    public void SignRequest_Rsa2048Block_UsesLongLengths()
    {
        var block = new byte[256];
        Assert.StartsWith("7C820106" + "8200" + "81820100", Hex.Of(PivDynamicAuthentication.SignRequest(block)), StringComparison.Ordinal);
    }

    [Fact]
    public void ManagementAuthenticationSteps_Encoded_MatchSpec()
    {
        Assert.Equal("7C028000", Hex.Of(PivDynamicAuthentication.WitnessRequest()));
        Assert.Equal("7C028100", Hex.Of(PivDynamicAuthentication.ChallengeRequest()));
        Assert.Equal("7C14" + "8008" + "1111111111111111" + "8108" + "2222222222222222",
            Hex.Of(PivDynamicAuthentication.MutualAuthenticationRequest(Hex.Bytes("1111111111111111"), Hex.Bytes("2222222222222222"))));
    }

    [Fact]
    public void KeyAgreementRequest_Point_UsesTag85()
    {
        var point = new byte[65];
        point[0] = 4;
        Assert.StartsWith("7C45" + "8200" + "854104", Hex.Of(PivDynamicAuthentication.KeyAgreementRequest(point)), StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_RequestedAndPresentElements_AreDistinguished()
    {
        var template = PivDynamicAuthentication.Parse(Hex.Bytes("7C 06 82 00 81 02 AA BB"));
        Assert.True(template.Response is { IsEmpty: true });
        Assert.Equal("AABB", Hex.Of(template.Challenge!.Value));
        Assert.Null(template.Witness);
        Assert.Null(template.Exponentiation);
        Assert.Throws<CardFormatException>(() => PivDynamicAuthentication.Required(template.Response, 0x82));
        Assert.Throws<CardFormatException>(() => PivDynamicAuthentication.Parse(Hex.Bytes("7D 02 82 00")));
    }

    [Fact]
    public void Encode_CardAnswer_RoundTrips() =>
        Prop.ForAll(Arb.From(Gen.Choose(0, 255).Select(b => (byte)b).ArrayOf().Where(a => a.Length > 0).Resize(600)), value =>
        {
            var parsed = PivDynamicAuthentication.Parse(PivDynamicAuthentication.Encode((PivDynamicAuthentication.TagResponse, value)));
            return PivDynamicAuthentication.Required(parsed.Response, 0x82).Span.SequenceEqual(value);
        }).QuickCheckThrowOnFailure();
}
