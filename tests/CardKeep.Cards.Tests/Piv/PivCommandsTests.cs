using CardKeep.Cards.Iso7816;
using CardKeep.Cards.Piv;

namespace CardKeep.Cards.Tests.Piv;

public class PivCommandsTests
{
    public static TheoryData<string, string> KnownAnswers => new()
    {
        { Hex.Of(PivCommands.Select().Encode()), "00A4040009A00000030800001000" + "00" },
        { Hex.Of(PivCommands.GetData(0x5FC102).Encode()), "00CB3FFF055C035FC10200" },
        { Hex.Of(PivCommands.GetData(0x7E).Encode()), "00CB3FFF035C017E00" },
        { Hex.Of(PivCommands.Verify("123456"u8).Encode()), "0020008008313233343536FFFF" },
        { Hex.Of(PivCommands.VerifyStatus().Encode()), "00200080" },
        { Hex.Of(PivCommands.GenerateKeyPair(PivSlot.Authentication, new PivKeyGenerationTemplate(PivAlgorithm.EccP256)).Encode()), "004700" + "9A05AC0380011100" },
        { Hex.Of(PivCommands.GeneralAuthenticate(PivAlgorithm.TripleDes, 0x9B, PivDynamicAuthentication.WitnessRequest()).Encode()), "0087039B047C02800000" },
        { Hex.Of(PivCommands.GetVersion().Encode()), "00FD000000" },
        { Hex.Of(PivCommands.GetSerial().Encode()), "00F8000000" },
        { Hex.Of(PivCommands.GetMetadata(0x80).Encode()), "00F7008000" },
        { Hex.Of(PivCommands.Attest(PivSlot.Signature).Encode()), "00F99C0000" },
        { Hex.Of(PivCommands.Reset().Encode()), "00FB0000" },
        { Hex.Of(PivCommands.SetPinRetries(5, 3).Encode()), "00FA0503" },
        { Hex.Of(PivCommands.SetManagementKey(PivAlgorithm.TripleDes, PivManagementKey.DefaultKey).Encode()),
            "00FFFFFF1B039B18010203040506070801020304050607080102030405060708" },
    };

    [Theory]
    [MemberData(nameof(KnownAnswers))]
    public void Command_Encode_MatchesSpecBytes(string actual, string expected) => Assert.Equal(expected, actual);

    [Fact]
    public void Verify_ParsedByCard_YieldsReferenceAndPaddedPin()
    {
        var parsed = CommandApdu.Parse(PivCommands.Verify("1234"u8).Encode());
        Assert.Equal(PivPin.PinReference, parsed.P2);
        Assert.Equal("1234"u8.ToArray(), PivPin.Unpad(parsed.Data.Span).ToArray());
    }

    [Fact]
    public void VerifyStatus_LibykpivForm_ParsesAsCase2WithLe00()
    {
        // libykpiv sends 00 20 00 80 00: a card must treat it as the status query too, not as a request for 256 bytes.
        var parsed = CommandApdu.Parse(Hex.Bytes("0020008000"));
        Assert.Equal(ApduCase.Case2Short, parsed.Case);
        Assert.True(parsed.Data.IsEmpty);
        Assert.Equal(ApduCase.Case1, CommandApdu.Parse(PivCommands.VerifyStatus().Encode()).Case);
    }

    [Fact]
    public void ChangeReferenceData_Puk_UsesReference81()
    {
        var command = PivCommands.ChangeReferenceData(PivPin.PukReference, "12345678"u8, "87654321"u8);
        Assert.Equal("0024008110" + "3132333435363738" + "3837363534333231", Hex.Of(command.Encode()));
    }

    [Fact]
    public void SetManagementKey_WrongLength_Throws() =>
        Assert.Throws<ArgumentException>(() => PivCommands.SetManagementKey(PivAlgorithm.Aes256, new byte[24]));
}
