using CardKeep.Cards;
using CardKeep.Cards.Iso7816;

namespace CardKeep.Cards.Tests.Iso7816;

public sealed class ResponseAndStatusTests
{
    [Fact]
    public void Parse_DataAndStatus_SplitsLastTwoBytes()
    {
        var response = ResponseApdu.Parse(Convert.FromHexString("0504039000"));
        Assert.Equal("050403", Convert.ToHexString(response.Data.Span));
        Assert.True(response.IsSuccess);
        Assert.Equal("0504039000", response.ToString());
    }

    [Theory]
    [InlineData("")]
    [InlineData("90")]
    public void Parse_LessThanTwoBytes_Throws(string hex) =>
        Assert.Throws<CardFormatException>(() => ResponseApdu.Parse(Convert.FromHexString(hex)));

    [Theory]
    [InlineData(0x9000, "Success")]
    [InlineData(0x6A82, "FileNotFound")]
    [InlineData(0x6982, "SecurityStatusNotSatisfied")]
    [InlineData(0x6983, "AuthenticationMethodBlocked")]
    [InlineData(0x6D00, "InstructionNotSupported")]
    [InlineData(0x6110, "BytesAvailable")]
    [InlineData(0x6C08, "WrongLe")]
    [InlineData(0x63C2, "RetryCounter")]
    [InlineData(0x6282, "EndOfFileReached")]
    [InlineData(0x1234, "Unknown")]
    public void Name_KnownStatusWords_AreNamed(int value, string name) =>
        Assert.Equal(name, new StatusWord((ushort)value).Name);

    [Fact]
    public void RetriesLeft_CounterAndBlocked_Decoded()
    {
        Assert.Equal(2, new StatusWord(0x63C2).RetriesLeft);
        Assert.Equal(0, StatusWord.AuthenticationMethodBlocked.RetriesLeft);
        Assert.Null(StatusWord.Success.RetriesLeft);
        Assert.Equal(new StatusWord(0x63C3), StatusWord.RetryCounter(3));
        Assert.Contains("2 tries left", new StatusWord(0x63C2).Meaning, StringComparison.Ordinal);
        Assert.Contains("16 more response bytes", new StatusWord(0x6110).Meaning, StringComparison.Ordinal);
    }

    [Fact]
    public void GetData_ErrorStatus_ThrowsWithOperationAndName()
    {
        var e = Assert.Throws<CardStatusException>(() => new ResponseApdu(StatusWord.FileNotFound).GetData("GET DATA CHUID"));
        Assert.Equal("GET DATA CHUID failed: 6A82 FileNotFound (file or application not found)", e.Message);
        Assert.Equal(StatusWord.FileNotFound, e.StatusWord);
    }
}
