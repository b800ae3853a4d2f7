using CardKeep.Cards.Iso7816;
using CardKeep.Cards.Piv;
using CardKeep.VirtualCard.Edge;
using CardKeep.VirtualCard.Store;

namespace CardKeep.VirtualCard.Tests.Edge;

/// <summary>ATR, application selection, YubiKey identity and the basic refusals.</summary>
public sealed class PivAppletSelectTests : IDisposable
{
    private const string YubiKeyApt = "61114F0600001000010079074F05A000000308";
    private readonly AppletHarness _h = new();

    public void Dispose() => _h.Dispose();

    [Fact]
    public void Atr_Always_IsThePivHistoricalBytesAtrWithChecksum()
    {
        Assert.Equal("3B8B800180F9A0000003080000100" + "0C8", Convert.ToHexString(_h.Applet.Atr.Span));
        byte check = 0;
        foreach (byte b in _h.Applet.Atr.Span[1..])
        {
            check ^= b;
        }

        Assert.Equal(0, check);
    }

    [Fact]
    public void Select_TruncatedAid_ReturnsYubiKeyApt()
    {
        Assert.Equal(YubiKeyApt + "9000", _h.Send("00 A4 04 00 09 A0 00 00 03 08 00 00 10 00 00"));
        Assert.True(_h.Session.ApplicationProperty!.IsPiv);
    }

    [Theory]
    [InlineData("00 A4 04 00 05 A0 00 00 03 08")]
    [InlineData("00 A4 04 00 0B A0 00 00 03 08 00 00 10 00 01 00 00")]
    public void Select_RidOrFullAid_ReturnsApt(string select)
    {
        _h.Applet.Reset();
        Assert.Equal(YubiKeyApt + "9000", _h.Send(select));
    }

    [Fact]
    public void Select_P2NoResponseData_SelectsWithoutData()
    {
        _h.Applet.Reset();
        Assert.Equal("9000", _h.Send("00 A4 04 0C 09 A0 00 00 03 08 00 00 10 00"));
        Assert.Equal("050403" + "9000", _h.Send("00 FD 00 00 00"));
    }

    [Theory]
    [InlineData("00 A4 04 00 08 A0 00 00 05 27 20 01 01")]
    [InlineData("00 A4 04 00 07 62 76 01 FF 00 00 00")]
    [InlineData("00 A4 04 00 06 A0 00 00 00 01 01")]
    [InlineData("00 A4 04 0C 0F D2 33 00 00 00 45 73 74 45 49 44 20 76 33 35")]
    [InlineData("00 A4 00 0C 02 3F 00")]
    [InlineData("00 A4 04 00 04 A0 00 00 03")]
    [InlineData("00 A4 04 00 0C A0 00 00 03 08 00 00 10 00 01 00 00")]
    public void Select_OtherApplication_Answers6A82AndKeepsPivSelected(string select)
    {
        _h.VerifyPin();
        Assert.Equal("6A82", _h.Send(select));
        Assert.Equal("9000", _h.Sw("00 20 00 80 00"));
        Assert.Equal(PivApplet.FirmwareVersion, _h.Session.GetVersion());
    }

    [Fact]
    public void Select_YubicoManagementAid_LeavesPivAndDropsSecurityState()
    {
        _h.VerifyPin();
        _h.AuthenticateDefault();

        Assert.Equal("9000", _h.Send("00 A4 04 00 08 A0 00 00 05 27 47 11 17"));

        Assert.Equal("6D00", _h.Sw("00 20 00 80 00"));
        _h.Session.Select();
        Assert.Equal("63C3", _h.Sw("00 20 00 80 00"));
        Assert.Equal("6982", _h.Sw("00 DB 3F FF 09 5C 03 5F FF 10 53 02 41 42"));
    }

    [Theory]
    [InlineData("00 CB 3F FF 03 5C 01 7E 08")]
    [InlineData("00 20 00 80 00")]
    [InlineData("00 FD 00 00 00")]
    [InlineData("00 87 00 9B 04 7C 02 81 00 00")]
    public void Command_BeforeSelect_Answers6D00(string apdu)
    {
        _h.Applet.Reset();
        Assert.Equal("6D00", _h.Send(apdu));
    }

    [Fact]
    public void OpenScMatchSequence_GetDataBeforeSelectThenSelect_ReadsDiscovery()
    {
        _h.Applet.Reset();
        Assert.Equal("6D00", _h.Send("00 CB 3F FF 03 5C 01 7E 08"));
        Assert.Equal(YubiKeyApt + "9000", _h.Send("00 A4 04 00 09 A0 00 00 03 08 00 00 10 00 00"));
        Assert.Equal("7E124F0BA0000003080000100001005F2F02" + "40" + "00" + "9000", _h.Send("00 CB 3F FF 03 5C 01 7E 00"));
    }

    [Theory]
    [InlineData("00 CB 3F FF 03 5C 01 7E 08", "7E124F0BA0000003" + "610C")]
    [InlineData("00 CB 3F FF 03 5C 01 7E 14", "7E124F0BA0000003080000100001005F2F024000" + "9000")]
    [InlineData("00 CB 3F FF 03 5C 01 7E", "7E124F0BA0000003080000100001005F2F024000" + "9000")]
    public void GetData_Discovery_HonoursLe(string apdu, string expected)
    {
        Assert.Equal(expected, _h.Send(apdu));
    }

    [Fact]
    public void Version_AndSerial_AreYubiKey543AndTheVscSerial()
    {
        Assert.Equal(new YubicoVersion(5, 4, 3), _h.Session.GetVersion());
        uint serial = _h.Session.GetSerial();
        Assert.Equal(_h.Card.Serial, serial);
        Assert.True(VscSerial.IsVirtual(serial));
    }

    [Fact]
    public void Chuid_NoneStored_IsSynthesizedFromTheCardGuidWithAgency9999()
    {
        var chuid = _h.Session.ReadChuid();

        Assert.NotNull(chuid);
        Assert.Equal(_h.Card.CardGuid.ToArray(), chuid.CardUuidBytes.ToArray());
        Assert.NotNull(chuid.Fascn);
        Assert.True(chuid.Fascn.IsNonFederal);
        Assert.Equal(Convert.ToHexString(_h.Session.GetData(0x5FC102)!), Convert.ToHexString(_h.Session.GetData(0x5FC102)!));
    }

    [Fact]
    public void Chuid_Stored_WinsOverTheSynthesizedOne()
    {
        _h.AuthenticateDefault();
        var stored = PivChuid.Create(Guid.NewGuid(), new DateOnly(2040, 1, 1)).Encode();
        _h.Session.PutData(0x5FC102, stored);

        Assert.Equal(stored, _h.Session.GetData(0x5FC102));
    }

    [Theory]
    [InlineData("00 A4 04", "6700")]
    [InlineData("", "6700")]
    [InlineData("00", "6700")]
    [InlineData("00 CB 3F FF 05 5C 03", "6700")]
    [InlineData("00 CB 3F FF 00 00 03 5C 01", "6700")]
    [InlineData("80 CB 3F FF 03 5C 01 7E 00", "6E00")]
    [InlineData("0C CB 3F FF 03 5C 01 7E 00", "6E00")]
    [InlineData("01 CB 3F FF 03 5C 01 7E 00", "6E00")]
    [InlineData("00 E4 00 00", "6D00")]
    [InlineData("00 CA DF 30 05", "6D00")]
    [InlineData("00 CB 3F 00 03 5C 01 7E 00", "6A86")]
    [InlineData("00 CB 3F FF 03 5D 01 7E 00", "6A80")]
    [InlineData("00 CB 3F FF 06 5C 04 5F C1 02 01 00", "6A80")]
    [InlineData("00 CB 3F FF 05 5C 03 5F C1 0A 00", "6A82")]
    public void Process_BadOrUnknownCommands_AnswerTheirStatusWord(string apdu, string sw)
    {
        Assert.Equal(sw, _h.Send(apdu));
    }

    [Fact]
    public void Process_ExtendedLengthGetData_IsAccepted()
    {
        Assert.Equal("7E124F0BA0000003080000100001005F2F024000" + "9000", _h.Send("00 CB 3F FF 00 00 03 5C 01 7E 00 00"));
    }

    [Fact]
    public void GetResponse_NothingPending_Answers6985()
    {
        Assert.Equal("6985", _h.Send("00 C0 00 00 00"));
    }

    [Fact]
    public void Reset_AfterSelect_RequiresSelectAgain()
    {
        _h.Applet.Reset();
        Assert.Equal("6D00", _h.Sw("00 FD 00 00 00"));
        _h.Session.Select();
        Assert.Equal(StatusWord.Success, new StatusWord(Convert.ToUInt16(_h.Sw("00 FD 00 00 00"), 16)));
    }
}
