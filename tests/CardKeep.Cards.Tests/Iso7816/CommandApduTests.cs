using CardKeep.Cards;
using CardKeep.Cards.Iso7816;
using FsCheck;
using FsCheck.Fluent;

namespace CardKeep.Cards.Tests.Iso7816;

public sealed class CommandApduTests
{
    // Named real-world vectors (NIST SP 800-73-4 Part 2, and traces in /work/shared/specs/piv-and-vpcd.md).
    [Theory]
    [InlineData("PIV SELECT (OpenSC)", "00A4040009A00000030800001000" + "00", ApduCase.Case4Short, 0x00, 0xA4, 0x04, 0x00, "A00000030800001000", 256)]
    [InlineData("PIV SELECT partial AID, no Le (ykpiv)", "00A4040005A000000308", ApduCase.Case3Short, 0x00, 0xA4, 0x04, 0x00, "A000000308", null)]
    [InlineData("GET DATA CHUID", "00CB3FFF055C035FC10200", ApduCase.Case4Short, 0x00, 0xCB, 0x3F, 0xFF, "5C035FC102", 256)]
    [InlineData("GET DATA discovery, Le 08", "00CB3FFF035C017E08", ApduCase.Case4Short, 0x00, 0xCB, 0x3F, 0xFF, "5C017E", 8)]
    [InlineData("VERIFY status query (case 1)", "00200080", ApduCase.Case1, 0x00, 0x20, 0x00, 0x80, "", null)]
    [InlineData("VERIFY status query as ykpiv sends it", "0020008000", ApduCase.Case2Short, 0x00, 0x20, 0x00, 0x80, "", 256)]
    [InlineData("VERIFY PIN 123456", "002000800831323334353 6FFFF", ApduCase.Case3Short, 0x00, 0x20, 0x00, 0x80, "313233343536FFFF", null)]
    [InlineData("GET VERSION (Yubico)", "00FD000000", ApduCase.Case2Short, 0x00, 0xFD, 0x00, 0x00, "", 256)]
    [InlineData("GET RESPONSE 8 bytes", "00C0000008", ApduCase.Case2Short, 0x00, 0xC0, 0x00, 0x00, "", 8)]
    [InlineData("chained GENERAL AUTHENTICATE piece", "108707 9C03 7C8201", ApduCase.Case3Short, 0x10, 0x87, 0x07, 0x9C, "7C8201", null)]
    [InlineData("extended READ BINARY Le 0000", "00B00000000000", ApduCase.Case2Extended, 0x00, 0xB0, 0x00, 0x00, "", 65536)]
    [InlineData("extended case 3", "00DB3FFF000003 5C017E", ApduCase.Case3Extended, 0x00, 0xDB, 0x3F, 0xFF, "5C017E", null)]
    [InlineData("extended case 4", "00CB3FFF0000035C017E0100", ApduCase.Case4Extended, 0x00, 0xCB, 0x3F, 0xFF, "5C017E", 256)]
    public void Parse_KnownVector_DecodesAndReEncodesExactly(string name, string hex, ApduCase expectedCase, int cla, int ins, int p1, int p2, string data, int? ne)
    {
        byte[] bytes = Convert.FromHexString(hex.Replace(" ", string.Empty, StringComparison.Ordinal));
        var apdu = CommandApdu.Parse(bytes);
        Assert.True(expectedCase == apdu.Case, name);
        Assert.Equal((byte)cla, apdu.Cla);
        Assert.Equal((byte)ins, apdu.Ins);
        Assert.Equal((byte)p1, apdu.P1);
        Assert.Equal((byte)p2, apdu.P2);
        Assert.Equal(data, Convert.ToHexString(apdu.Data.Span));
        Assert.Equal(ne, apdu.Ne);
        Assert.Equal(bytes, apdu.Encode());
    }

    [Fact]
    public void Encode_PivSelect_MatchesSp80073Bytes()
    {
        var select = new CommandApdu(0x00, 0xA4, 0x04, 0x00, Convert.FromHexString("A00000030800001000"), 256);
        Assert.Equal("00A4040009A0000003080000100000", select.ToString());
    }

    [Fact]
    public void Encode_DataLongerThan255_UsesExtendedLength()
    {
        var apdu = new CommandApdu(0x00, 0xDB, 0x3F, 0xFF, new byte[300], 65536);
        byte[] bytes = apdu.Encode();
        Assert.Equal(ApduCase.Case4Extended, apdu.Case);
        Assert.Equal(4 + 3 + 300 + 2, bytes.Length);
        Assert.Equal([0x00, 0x01, 0x2C], bytes[4..7]);
        Assert.Equal([0x00, 0x00], bytes[^2..]);
    }

    [Fact]
    public void IsChained_ClaBit10_True()
    {
        Assert.True(CommandApdu.Parse(Convert.FromHexString("10DB3FFF01AA")).IsChained);
        Assert.False(CommandApdu.Parse(Convert.FromHexString("00DB3FFF01AA")).IsChained);
        Assert.False(CommandApdu.Parse(Convert.FromHexString("90DB3FFF01AA")).IsChained); // proprietary class
    }

    [Theory]
    [InlineData("", "needs at least 4 header bytes (CLA INS P1 P2), got 0", 0)]
    [InlineData("00A404", "needs at least 4 header bytes (CLA INS P1 P2), got 3", 3)]
    [InlineData("00A4000C023F", "Lc says 2 data bytes but 1 bytes follow", 4)]
    [InlineData("00A4000C023F00AABB", "Lc says 2 data bytes but 4 bytes follow", 4)]
    [InlineData("00A4000C0000", "extended length field needs 3 bytes, got 2", 4)]
    [InlineData("00A4000C000000AA", "extended Lc of 0000", 5)]
    [InlineData("00A4000C000002AA", "extended Lc says 2 data bytes but 1 bytes follow", 4)]
    public void Parse_Malformed_ThrowsCardFormatExceptionNamingProblemAndOffset(string hex, string problem, int offset)
    {
        var e = Assert.Throws<CardFormatException>(() => CommandApdu.Parse(Convert.FromHexString(hex)));
        Assert.Contains(problem, e.Message, StringComparison.Ordinal);
        Assert.Equal(offset, e.Offset);
    }

    [Fact]
    public void Constructor_NeOutOfRange_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new CommandApdu(0, 0xB0, 0, 0, default, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new CommandApdu(0, 0xB0, 0, 0, default, 65537));
    }

    [Fact]
    public void EncodeParse_RandomApdus_RoundTrip()
    {
        var gen =
            from header in Gen.ArrayOf(ArbMap.Default.GeneratorFor<byte>(), 4)
            from length in Gen.Frequency((4, Gen.Choose(0, 255)), (1, Gen.Choose(256, 700)))
            from data in Gen.ArrayOf(ArbMap.Default.GeneratorFor<byte>(), length)
            from ne in Gen.Frequency((2, Gen.Constant<int?>(null)), (2, Gen.Choose(1, 256).Select(n => (int?)n)), (1, Gen.Choose(257, 65536).Select(n => (int?)n)))
            select new CommandApdu(header[0], header[1], header[2], header[3], data, ne);
        Prop.ForAll(gen.ToArbitrary(), apdu =>
        {
            var parsed = CommandApdu.Parse(apdu.Encode());
            return parsed.Cla == apdu.Cla && parsed.Ins == apdu.Ins && parsed.P1 == apdu.P1 && parsed.P2 == apdu.P2
                && parsed.Data.Span.SequenceEqual(apdu.Data.Span) && parsed.Ne == apdu.Ne && parsed.Encode().AsSpan().SequenceEqual(apdu.Encode());
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void Parse_RandomBytes_EitherRoundTripsOrThrowsCardFormatException()
    {
        var random = new Random(7816);
        for (int i = 0; i < 50_000; i++)
        {
            var bytes = new byte[random.Next(0, 12)];
            random.NextBytes(bytes);
            if (bytes.Length > 4 && random.Next(2) == 0)
            {
                bytes[4] = (byte)(bytes.Length - 5 - random.Next(0, 2)); // near-miss Lc values
            }

            try
            {
                var apdu = CommandApdu.Parse(bytes);
                Assert.Equal(bytes, apdu.Encode());
            }
            catch (CardFormatException)
            {
                // The only acceptable failure.
            }
        }
    }
}
