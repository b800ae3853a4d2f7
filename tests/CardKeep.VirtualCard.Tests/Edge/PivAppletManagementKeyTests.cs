using CardKeep.Cards.Iso7816;
using CardKeep.Cards.Piv;
using CardKeep.VirtualCard.Tests.Store;

namespace CardKeep.VirtualCard.Tests.Edge;

/// <summary>Management key (9B): mutual and single-step authentication, RNG, SET MANAGEMENT KEY.</summary>
public sealed class PivAppletManagementKeyTests : IDisposable
{
    private const string PutUrl = "00 DB 3F FF 09 5C 03 5F FF 10 53 02 41 42";
    private static readonly byte[] _aes192 = Convert.FromHexString("000102030405060708090A0B0C0D0E0F1011121314151617");
    private readonly AppletHarness _h = new();

    public void Dispose() => _h.Dispose();

    [Fact]
    public void Authenticate_Default3Des_AllowsPutData()
    {
        Assert.Equal("6982", _h.Sw(PutUrl));
        _h.AuthenticateDefault();
        Assert.Equal("9000", _h.Sw(PutUrl));
    }

    [Fact]
    public void Authenticate_WrongKey_Answers6982AndStaysUnauthenticated()
    {
        var wrong = Convert.FromHexString("0102030405060708010203040506070801020304050607FF");
        var e = Assert.Throws<PivAuthenticationException>(() => _h.Session.AuthenticateManagementKey(PivAlgorithm.TripleDes, wrong));
        Assert.Equal(StatusWord.SecurityStatusNotSatisfied, e.StatusWord);
        Assert.Equal("6982", _h.Sw(PutUrl));
    }

    [Fact]
    public void Authenticate_WitnessReplayedAfterAnotherCommand_IsRefused()
    {
        var first = _h.Send("00 87 03 9B 04 7C 02 80 00");
        Assert.EndsWith("9000", first, StringComparison.Ordinal);
        var witness = PivManagementKey.DecryptBlock(PivAlgorithm.TripleDes, PivManagementKey.DefaultKey, Convert.FromHexString(first[8..24]));
        Assert.Equal("050403" + "9000", _h.Send("00 FD 00 00 00"));

        string second = "00 87 03 9B 16 7C 14 80 08 " + Convert.ToHexString(witness) + " 81 08 0102030405060708";
        Assert.Equal("6982", _h.Send(second));
    }

    [Fact]
    public void Authenticate_LibykpivApdus_AnswerTheExactLayout()
    {
        var first = _h.Send("00 87 03 9B 04 7C 02 80 00");
        Assert.Matches("^7C0A8008[0-9A-F]{16}9000$", first);
        var witness = PivManagementKey.DecryptBlock(PivAlgorithm.TripleDes, PivManagementKey.DefaultKey, Convert.FromHexString(first[8..24]));
        var challenge = Convert.FromHexString("1122334455667788");

        var second = _h.Send("00 87 03 9B 16 7C 14 80 08 " + Convert.ToHexString(witness) + " 81 08 " + Convert.ToHexString(challenge));

        var expected = PivManagementKey.EncryptBlock(PivAlgorithm.TripleDes, PivManagementKey.DefaultKey, challenge);
        Assert.Equal("7C0A8208" + Convert.ToHexString(expected) + "9000", second);
        Assert.Equal("9000", _h.Sw(PutUrl));
    }

    [Fact]
    public void SingleStep_ChallengeThenEncryptedResponse_Authenticates()
    {
        var challenge = _h.Session.GetChallenge(PivAlgorithm.TripleDes);
        Assert.Equal(8, challenge.Length);
        var response = PivManagementKey.EncryptBlock(PivAlgorithm.TripleDes, PivManagementKey.DefaultKey, challenge);

        Assert.Equal("9000", _h.Send("00 87 03 9B 0C 7C 0A 82 08 " + Convert.ToHexString(response)));
        Assert.Equal("9000", _h.Sw(PutUrl));
    }

    [Fact]
    public void SingleStep_WrongResponse_Answers6982()
    {
        _h.Session.GetChallenge(PivAlgorithm.TripleDes);
        Assert.Equal("6982", _h.Send("00 87 03 9B 0C 7C 0A 82 08 0000000000000000"));
        Assert.Equal("6982", _h.Sw(PutUrl));
    }

    [Fact]
    public void Random_OpenScGetChallenge_ReturnsEightFreshBytes()
    {
        var a = _h.Send("00 87 00 9B 04 7C 02 81 00 00");
        var b = _h.Send("00 87 00 9B 04 7C 02 81 00 00");
        Assert.Matches("^7C0A8108[0-9A-F]{16}9000$", a);
        Assert.NotEqual(a, b);
        Assert.Equal(8, _h.Session.GetChallenge((PivAlgorithm)0x00).Length);
    }

    [Theory]
    [InlineData("00 87 08 9B 04 7C 02 80 00", "6A80")]
    [InlineData("00 87 0C 9B 04 7C 02 80 00", "6A80")]
    [InlineData("00 87 11 9B 04 7C 02 80 00", "6A86")]
    [InlineData("00 87 00 9B 04 7C 02 80 00", "6A86")]
    [InlineData("00 87 03 9B 04 7C 02 85 00", "6A80")]
    [InlineData("00 87 03 9B 04 7D 02 80 00", "6A80")]
    [InlineData("00 87 03 9B 03 7C 02 80", "6A80")]
    public void Authenticate_WrongAlgorithmOrTemplate_IsRefused(string apdu, string sw)
    {
        Assert.Equal(sw, _h.Sw(apdu));
    }

    [Fact]
    public void Authenticate_Aes192Card_WorksWithAesAndRefuses3Des()
    {
        using var aes = new AppletHarness(TestCards.Options() with { ManagementKeyAlgorithm = 0x0A, ManagementKey = _aes192 });

        Assert.Throws<PivAuthenticationException>(() => aes.Session.AuthenticateManagementKey(PivAlgorithm.TripleDes, PivManagementKey.DefaultKey));
        Assert.Matches("^7C128010[0-9A-F]{32}9000$", aes.Send("00 87 0A 9B 04 7C 02 80 00"));

        aes.Session.AuthenticateManagementKey(PivAlgorithm.Aes192, _aes192);
        Assert.Equal("9000", aes.Sw(PutUrl));
        var metadata = aes.Session.GetMetadata((byte)PivSlot.Management);
        Assert.Equal((PivAlgorithm.Aes192, false), (metadata.Algorithm, metadata.IsDefault));
    }

    [Theory]
    [InlineData(PivAlgorithm.TripleDes, "0123456789ABCDEFFEDCBA98765432100123456789ABCDEF")]
    [InlineData(PivAlgorithm.Aes128, "00112233445566778899AABBCCDDEEFF")]
    [InlineData(PivAlgorithm.Aes192, "000102030405060708090A0B0C0D0E0F1011121314151617")]
    [InlineData(PivAlgorithm.Aes256, "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F")]
    public void SetManagementKey_NewKey_OldKeyFailsNewWorksAfterReopen(PivAlgorithm algorithm, string keyHex)
    {
        var key = Convert.FromHexString(keyHex);
        _h.AuthenticateDefault();

        _h.Session.SetManagementKey(algorithm, key, requireTouch: true);

        Assert.Equal((byte)algorithm, _h.Card.ManagementKeyAlgorithm);
        Assert.True(_h.Card.ManagementKeyTouch);
        _h.Reopen();
        Assert.ThrowsAny<Exception>(_h.AuthenticateDefault);
        _h.Session.AuthenticateManagementKey(algorithm, key);
        Assert.Equal("9000", _h.Sw(PutUrl));
    }

    [Theory]
    [InlineData("00 FF FF FF 1B 03 9B 18 0101010101010101 0123456789ABCDEF 0123456789ABCDEF", "6A80")]
    [InlineData("00 FF FF FF 1B 03 9B 18 01FE01FE01FE01FE 0123456789ABCDEF 0123456789ABCDEF", "6A80")]
    [InlineData("00 FF FF FF 1A 03 9B 18 0123456789ABCDEF FEDCBA9876543210 0123456789ABCD", "6A80")]
    [InlineData("00 FF FF FF 1B 03 9A 18 0123456789ABCDEF FEDCBA9876543210 0123456789ABCDEF", "6A80")]
    [InlineData("00 FF FF FF 13 08 9B 18 0123456789ABCDEF FEDCBA9876543210", "6A80")]
    [InlineData("00 FF FF FF 1B 11 9B 18 0123456789ABCDEF FEDCBA9876543210 0123456789ABCDEF", "6A80")]
    [InlineData("00 FF FF 00 1B 03 9B 18 0123456789ABCDEF FEDCBA9876543210 0123456789ABCDEF", "6A86")]
    [InlineData("00 FF FF FF 02 03 9B", "6A80")]
    public void SetManagementKey_BadKey_IsRefusedAndKeyUnchanged(string apdu, string sw)
    {
        _h.AuthenticateDefault();
        Assert.Equal(sw, _h.Send(apdu));
        Assert.True(_h.Card.ManagementKeyIsDefault);
    }

    [Fact]
    public void SetManagementKey_NotAuthenticated_Answers6982()
    {
        Assert.Equal("6982", _h.Send("00 FF FF FF 1B 03 9B 18 0123456789ABCDEF FEDCBA9876543210 0123456789ABCDEF"));
    }

    [Fact]
    public void Metadata_ManagementKey_ReportsDefault3Des()
    {
        var metadata = _h.Session.GetMetadata((byte)PivSlot.Management);
        Assert.Equal(PivAlgorithm.TripleDes, metadata.Algorithm);
        Assert.True(metadata.IsDefault);
        Assert.Equal(TouchPolicy.Never, metadata.Policy!.Value.Touch);
    }

    [Fact]
    public void Reset_Applet_ForgetsManagementAuthentication()
    {
        _h.AuthenticateDefault();
        _h.Applet.Reset();
        _h.Session.Select();
        Assert.Equal("6982", _h.Sw(PutUrl));
    }
}
