using CardKeep.Cards.PcSc;

namespace CardKeep.Cards.Tests.Channels;

public sealed class ReaderSelectorTests
{
    private static readonly string[] _readers = ["Virtual PCD 00 00", "Virtual PCD 00 01", "Yubico YubiKey OTP+FIDO+CCID 00 00"];

    [Theory]
    [InlineData("Virtual PCD 00 01", "Virtual PCD 00 01")]
    [InlineData("2", "Yubico YubiKey OTP+FIDO+CCID 00 00")]
    [InlineData("yubikey", "Yubico YubiKey OTP+FIDO+CCID 00 00")]
    [InlineData("PCD 00 00", "Virtual PCD 00 00")]
    public void Resolve_ByNameIndexOrUniqueSubstring(string selector, string expected) =>
        Assert.Equal(expected, ReaderSelector.Resolve(_readers, selector));

    [Fact]
    public void Resolve_Ambiguous_ListsReaders()
    {
        var e = Assert.Throws<PcscReaderException>(() => ReaderSelector.Resolve(_readers, "virtual"));
        Assert.Contains("matches 2 readers", e.Message, StringComparison.Ordinal);
        Assert.Contains("1: 'Virtual PCD 00 01'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Resolve_IndexOutOfRange_SaysSo() =>
        Assert.Contains("no reader number 7", Assert.Throws<PcscReaderException>(() => ReaderSelector.Resolve(_readers, "7")).Message, StringComparison.Ordinal);

    [Fact]
    public void SplitMultiString_PcscListing_SplitsOnNul() =>
        Assert.Equal(["a b", "c"], PcscContext.SplitMultiString("a b\0c\0\0"u8));

    [Fact]
    public void ErrorNames_KnownCodes()
    {
        Assert.Equal("SCARD_E_NO_SMARTCARD", PcscErrors.Name(0x8010000C));
        Assert.Equal("SCARD_W_REMOVED_CARD", PcscErrors.Name(0x80100069));
        Assert.Equal("0x80109999", PcscErrors.Name(0x80109999));
        var e = new PcscException(0x8010000C, "SCardConnect", "Virtual PCD 00 00");
        Assert.Equal("SCardConnect failed on reader 'Virtual PCD 00 00': SCARD_E_NO_SMARTCARD (0x8010000C, there is no card in the reader)", e.Message);
    }
}
