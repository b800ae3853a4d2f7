using CardKeep.Cards;
using CardKeep.Cards.Iso7816;
using CardKeep.Cards.Piv;
using CardKeep.VirtualCard.Store;
using CardKeep.VirtualCard.Tests.Store;

namespace CardKeep.VirtualCard.Tests.Edge;

/// <summary>VERIFY, CHANGE REFERENCE DATA, RESET RETRY COUNTER, SET PIN RETRIES and RESET through the real client.</summary>
public sealed class PivAppletPinTests : IDisposable
{
    private const string PinStatus = "00 20 00 80 00";
    private readonly AppletHarness _h = new();

    public void Dispose() => _h.Dispose();

    [Fact]
    public void VerifyPin_Default_VerifiesAndStatusQueryAnswers9000()
    {
        Assert.False(_h.Session.IsPinVerified());
        _h.VerifyPin();
        Assert.True(_h.Session.IsPinVerified());
        Assert.Equal("9000", _h.Send(PinStatus));
        Assert.Equal("9000", _h.Send("00 20 00 80"));
    }

    [Theory]
    [InlineData("00 20 00 80")]
    [InlineData("00 20 00 80 00")]
    public void VerifyStatus_NotVerified_Answers63CxWithoutSpendingATry(string apdu)
    {
        Assert.Equal("63C3", _h.Send(apdu));
        Assert.Equal("63C3", _h.Send(apdu));
        Assert.Equal(3, _h.Card.PinRetriesLeft);
    }

    [Fact]
    public void VerifyPin_WrongThreeTimes_CountsDownThenBlocks()
    {
        Assert.False(_h.Session.TryVerifyPin("111111"u8, out int? left));
        Assert.Equal(2, left);
        Assert.Equal("63C1", _h.Send("00 20 00 80 08 31 31 31 31 31 31 FF FF"));
        var e = Assert.Throws<PivPinException>(() => _h.VerifyPin("222222"));
        Assert.True(e.Blocked);
        Assert.Equal("6983", _h.Send(PinStatus));

        var blocked = Assert.Throws<PivPinException>(() => _h.VerifyPin());
        Assert.True(blocked.Blocked);
        Assert.Equal(0, _h.Card.PinRetriesLeft);
    }

    [Fact]
    public void VerifyPin_Wrong_CounterIsPersistedInTheFile()
    {
        Assert.False(_h.Session.TryVerifyPin("000000"u8, out _));

        using var other = VirtualSmartCard.Open(_h.CardPath, TestCards.Weak);
        Assert.Equal(2, other.PinRetriesLeft);
    }

    [Fact]
    public void VerifyPin_WrongAfterRight_DropsVerification()
    {
        _h.VerifyPin();
        Assert.False(_h.Session.TryVerifyPin("654321"u8, out _));
        Assert.False(_h.Session.IsPinVerified());
        _h.VerifyPin();
        Assert.Equal(3, _h.Card.PinRetriesLeft);
    }

    [Fact]
    public void VerifyPin_P1FF_ResetsVerification()
    {
        _h.VerifyPin();
        Assert.Equal("9000", _h.Send("00 20 FF 80"));
        Assert.Equal("63C3", _h.Send(PinStatus));
    }

    [Theory]
    [InlineData("00 20 00 80 06 31 32 33 34 35 36", "6A80")]
    [InlineData("00 20 00 80 08 31 32 33 34 35 36 FF 37", "6A80")]
    [InlineData("00 20 00 80 08 FF FF FF FF FF FF FF FF", "6A80")]
    [InlineData("00 20 00 80 09 31 32 33 34 35 36 FF FF FF", "6A80")]
    [InlineData("00 20 00 81 08 31 32 33 34 35 36 37 38", "6A88")]
    [InlineData("00 20 00 00 08 31 32 33 34 35 36 FF FF", "6A88")]
    [InlineData("00 20 01 80 08 31 32 33 34 35 36 FF FF", "6A86")]
    public void Verify_MalformedOrOtherReference_IsRefusedWithoutSpendingATry(string apdu, string sw)
    {
        Assert.Equal(sw, _h.Send(apdu));
        Assert.Equal(3, _h.Card.PinRetriesLeft);
    }

    [Fact]
    public void ChangePin_RightOld_ChangesPinAndLeavesItVerified()
    {
        _h.Session.ChangePin("123456"u8, "24681357"u8);

        Assert.True(_h.Session.IsPinVerified());
        Assert.False(_h.Card.PinIsDefault);
        _h.Applet.Reset();
        _h.Session.Select();
        Assert.False(_h.Session.TryVerifyPin("123456"u8, out _));
        _h.VerifyPin("24681357");
    }

    [Fact]
    public void ChangePin_WrongOld_CountsDown()
    {
        var e = Assert.Throws<PivPinException>(() => _h.Session.ChangePin("999999"u8, "654321"u8));
        Assert.Equal(2, e.RetriesLeft);
        _h.VerifyPin();
    }

    [Theory]
    [InlineData("00 24 00 80 10 31 32 33 34 35 36 FF FF 31 32 33 34 35 FF FF FF")]
    [InlineData("00 24 00 80 08 31 32 33 34 35 36 FF FF")]
    [InlineData("00 24 00 80 10 31 32 33 34 35 36 FF FF FF FF FF FF FF FF FF FF")]
    public void ChangePin_MalformedOrShortNewPin_Answers6A80WithoutSpendingATry(string apdu)
    {
        Assert.Equal("6A80", _h.Send(apdu));
        Assert.Equal(3, _h.Card.PinRetriesLeft);
    }

    [Fact]
    public void ChangePuk_RightOld_NewPukUnblocksPin()
    {
        _h.Session.ChangePuk("12345678"u8, "87654321"u8);
        Assert.False(_h.Session.IsPinVerified());
        for (int i = 0; i < 3; i++)
        {
            _h.Session.TryVerifyPin("000000"u8, out _);
        }

        Assert.Throws<PivPinException>(() => _h.Session.UnblockPin("12345678"u8, "111111"u8));
        _h.Session.UnblockPin("87654321"u8, "111111"u8);
        _h.VerifyPin("111111");
    }

    [Fact]
    public void UnblockPin_BlockedPin_SetsNewPinWhichIsNotYetVerified()
    {
        for (int i = 0; i < 3; i++)
        {
            _h.Session.TryVerifyPin("000000"u8, out _);
        }

        _h.Session.UnblockPin("12345678"u8, "7654321"u8);

        Assert.Equal("63C3", _h.Send(PinStatus));
        _h.VerifyPin("7654321");
    }

    [Fact]
    public void UnblockPin_WrongPukThreeTimes_BlocksPuk()
    {
        for (int i = 2; i >= 0; i--)
        {
            var e = Assert.Throws<PivPinException>(() => _h.Session.UnblockPin("00000000"u8, "111111"u8));
            Assert.Equal(i, e.RetriesLeft);
        }

        Assert.Equal("6983", _h.Send("00 2C 00 80 10 31 32 33 34 35 36 37 38 31 31 31 31 31 31 FF FF"));
        Assert.Equal(0, _h.Card.PukRetriesLeft);
    }

    [Fact]
    public void Reset_PinAndPukNotBlocked_Answers6985()
    {
        var e = Assert.Throws<CardStatusException>(_h.Session.Reset);
        Assert.Equal(StatusWord.ConditionsOfUseNotSatisfied, e.StatusWord);
        for (int i = 0; i < 3; i++)
        {
            _h.Session.TryVerifyPin("000000"u8, out _);
        }

        Assert.Equal("6985", _h.Send("00 FB 00 00"));
    }

    [Fact]
    public void Reset_PinAndPukBlocked_WipesCardToFactoryState()
    {
        _h.AuthenticateDefault();
        _h.Session.GenerateKeyPair(PivSlot.Authentication, PivAlgorithm.EccP256);
        _h.Session.PutData(0x5FFF10, "https://example.org"u8);
        _h.Session.SetManagementKey(PivAlgorithm.TripleDes, Convert.FromHexString("0123456789ABCDEFFEDCBA98765432100123456789ABCDEF"));
        for (int i = 0; i < 3; i++)
        {
            _h.Session.TryVerifyPin("000000"u8, out _);
            Assert.Throws<PivPinException>(() => _h.Session.UnblockPin("00000000"u8, "111111"u8));
        }

        _h.Session.Reset();

        Assert.Empty(_h.Card.Keys);
        Assert.Null(_h.Session.GetData(0x5FFF10));
        Assert.Equal(3, _h.Card.PinRetriesLeft);
        Assert.True(_h.Card.ManagementKeyIsDefault);
        Assert.Equal("6982", _h.Sw("00 DB 3F FF 09 5C 03 5F FF 10 53 02 41 42"));
        _h.VerifyPin();
        _h.AuthenticateDefault();
    }

    [Fact]
    public void SetPinRetries_NeedsManagementKeyAndPin_ThenResetsCodesToDefaults()
    {
        _h.Session.ChangePin("123456"u8, "999999"u8);
        _h.Applet.Reset();
        _h.Session.Select();
        Assert.Equal("6982", _h.Send("00 FA 05 04"));
        _h.AuthenticateDefault();
        Assert.Equal("6982", _h.Send("00 FA 05 04"));
        _h.VerifyPin("999999");
        Assert.Equal("6A86", _h.Send("00 FA 00 04"));

        _h.Session.SetPinRetries(5, 4);

        Assert.Equal((5, 5, 4, 4), (_h.Card.PinRetriesMax, _h.Card.PinRetriesLeft, _h.Card.PukRetriesMax, _h.Card.PukRetriesLeft));
        Assert.Equal("63C5", _h.Send("00 20 00 80 00"));
        _h.VerifyPin();
        var pin = _h.Session.GetMetadata(PivPin.PinReference);
        Assert.Equal((5, 5, true), (pin.RetriesTotal, pin.RetriesRemaining, pin.IsDefault));
        var puk = _h.Session.GetMetadata(PivPin.PukReference);
        Assert.Equal((4, 4, true, PivMetadata.PinAlgorithm), (puk.RetriesTotal, puk.RetriesRemaining, puk.IsDefault, puk.AlgorithmId));
    }

    [Fact]
    public void VerifyPin_SameSessionAgain_UsesTheFastPathAndStaysCorrect()
    {
        _h.VerifyPin();
        for (int i = 0; i < 20; i++)
        {
            _h.VerifyPin();
        }

        Assert.Equal(3, _h.Card.PinRetriesLeft);
        Assert.False(_h.Session.TryVerifyPin("123457"u8, out int? left));
        Assert.Equal(2, left);
    }

    [Fact]
    public void GetPinRetries_Client_ReadsTriesFromStatusOrMetadata()
    {
        Assert.Equal(3, _h.Session.GetPinRetries());
        _h.VerifyPin();
        Assert.Equal(3, _h.Session.GetPinRetries());
    }
}
