using System.Numerics;
using CardKeep.Agent.SshAgent;
using static CardKeep.Agent.Tests.TestSupport;

namespace CardKeep.Agent.Tests.SshAgent;

public sealed class WireTests
{
    // RFC 4251 §5 mpint examples.
    [Theory]
    [InlineData("00", "00000000")]
    [InlineData("09a378f9b2e332a7", "0000000809a378f9b2e332a7")]
    [InlineData("80", "000000020080")]
    [InlineData("0000ff", "0000000200ff")]
    public void WriteMpint_Rfc4251Examples_MatchKnownAnswers(string magnitude, string expected)
    {
        using var writer = new SshWriter();
        writer.WriteMpint(Hex(magnitude));
        Assert.Equal(Hex(expected), writer.ToArray());
    }

    [Fact]
    public void WriteMpint_BigInteger_MatchesByteForm()
    {
        using var a = new SshWriter();
        using var b = new SshWriter();
        a.WriteMpint(BigInteger.Parse("65537", System.Globalization.CultureInfo.InvariantCulture));
        b.WriteMpint(Hex("010001"));
        Assert.Equal(b.ToArray(), a.ToArray());
    }

    [Fact]
    public void ReadMpintMagnitude_LeadingZero_IsStripped()
    {
        var reader = new SshReader(Hex("000000020080"));
        Assert.Equal(Hex("80"), reader.ReadMpintMagnitude().ToArray());
    }

    [Fact]
    public void ReadMpintMagnitude_Negative_Throws()
    {
        Assert.Throws<SshFormatException>(() =>
        {
            var reader = new SshReader(Hex("00000001ff"));
            reader.ReadMpintMagnitude();
        });
    }

    [Theory]
    [InlineData("7fffffff")]
    [InlineData("00000005 6162")]
    [InlineData("000000")]
    public void ReadString_LengthBeyondData_ThrowsFormatException(string bytes)
    {
        Assert.Throws<SshFormatException>(() =>
        {
            var reader = new SshReader(Hex(bytes));
            reader.ReadString();
        });
    }

    [Fact]
    public void ReadAscii_ControlCharacter_Throws()
    {
        Assert.Throws<SshFormatException>(() =>
        {
            var reader = new SshReader(Hex("0000000261 0a"));
            reader.ReadAscii();
        });
    }

    [Fact]
    public void Dispose_ZeroesTheBuffer_ToArrayCopyStays()
    {
        var writer = new SshWriter(16);
        writer.WriteRaw([1, 2, 3]);
        var copy = writer.ToArray();
        writer.Dispose();
        Assert.Equal([1, 2, 3], copy);
        Assert.Equal(0, writer.Length);
    }
}
