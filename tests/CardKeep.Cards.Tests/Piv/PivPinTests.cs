using CardKeep.Cards.Piv;
using FsCheck;
using FsCheck.Fluent;

namespace CardKeep.Cards.Tests.Piv;

public class PivPinTests
{
    [Fact]
    public void Pad_SixDigits_AppendsTwoFF() => Assert.Equal("313233343536FFFF", Hex.Of(PivPin.Pad("123456"u8)));

    [Fact]
    public void Pad_EightDigits_IsUnchanged() => Assert.Equal("3132333435363738", Hex.Of(PivPin.Pad(PivPin.DefaultPuk)));

    [Fact]
    public void PadPair_OldAndNew_AreBackToBack() =>
        Assert.Equal("313233343536FFFF" + "3132333435363738", Hex.Of(PivPin.PadPair(PivPin.DefaultPin, "12345678"u8)));

    [Theory]
    [InlineData("")]
    [InlineData("313233343536373839")]
    [InlineData("3132FF")]
    public void Pad_InvalidLengthOrPadByte_Throws(string hex) =>
        Assert.Throws<ArgumentException>(() => PivPin.Pad(Hex.Bytes(hex)));

    [Theory]
    [InlineData("313233343536FFFF", "313233343536")]
    [InlineData("3132333435363738", "3132333435363738")]
    [InlineData("31FFFFFFFFFFFFFF", "31")]
    public void Unpad_Padded_ReturnsPin(string padded, string pin) =>
        Assert.Equal(pin, Hex.Of(PivPin.Unpad(Hex.Bytes(padded))));

    [Theory]
    [InlineData("FFFFFFFFFFFFFFFF")]
    [InlineData("3132FF3435363738")]
    [InlineData("313233343536FF")]
    public void Unpad_Malformed_FailsBothWays(string padded)
    {
        Assert.False(PivPin.TryUnpad(Hex.Bytes(padded), out _));
        Assert.Throws<CardFormatException>(() => PivPin.Unpad(Hex.Bytes(padded)).ToArray());
    }

    [Fact]
    public void PadUnpad_AnyPin_RoundTrips()
    {
        var pins = Gen.Choose(0, 254).Select(b => (byte)b).ArrayOf().Where(p => p.Length is >= 1 and <= 8);
        Prop.ForAll(Arb.From(pins), pin => PivPin.Unpad(PivPin.Pad(pin)).SequenceEqual(pin)).QuickCheckThrowOnFailure();
    }
}
