using CardKeep.Cards.Piv;

namespace CardKeep.VirtualCard.Tests.Edge;

/// <summary>What <see cref="CardKeep.VirtualCard.Edge.PivApplet.Reset"/> (vpcd power off/on/reset, disconnect) must forget.</summary>
public sealed class PivAppletSessionTests : IDisposable
{
    private readonly AppletHarness _h = new();

    public void Dispose() => _h.Dispose();

    [Fact]
    public void Reset_ClearsSelectionPinManagementChainAndPendingResponse()
    {
        _h.VerifyPin();
        _h.AuthenticateDefault();
        Assert.Equal("9000", _h.Send("10 DB 3F FF 05 5C 03 5F FF 10"));

        _h.Applet.Reset();

        Assert.Equal("6D00", _h.Send("00 DB 3F FF 04 53 02 41 42"));
        _h.Session.Select();
        Assert.Equal("63C3", _h.Send("00 20 00 80 00"));
        Assert.Equal("6982", _h.Send("00 DB 3F FF 09 5C 03 5F FF 10 53 02 41 42"));

        _h.Send("00 CB 3F FF 03 5C 01 7E 04");
        _h.Applet.Reset();
        _h.Session.Select();
        Assert.Equal("6985", _h.Send("00 C0 00 00 00"));
    }

    [Fact]
    public void Reset_WithPendingWitness_StepTwoIsRefused()
    {
        var first = _h.Send("00 87 03 9B 04 7C 02 80 00");
        var witness = PivManagementKey.DecryptBlock(PivAlgorithm.TripleDes, PivManagementKey.DefaultKey, Convert.FromHexString(first[8..24]));
        _h.Applet.Reset();
        _h.Session.Select();

        Assert.Equal("6982", _h.Send("00 87 03 9B 16 7C 14 80 08 " + Convert.ToHexString(witness) + " 81 08 0102030405060708"));
    }

    [Fact]
    public void TwoApplets_OnOneCard_HaveSeparateSessions()
    {
        var other = new CardKeep.VirtualCard.Edge.PivApplet(_h.Card);
        Assert.Equal("6D00", Convert.ToHexString(other.Process(AppletHarness.Bytes("00 20 00 80 00"))));
        _h.VerifyPin();
        other.Process(AppletHarness.Bytes("00 A4 04 00 05 A0 00 00 03 08"));
        Assert.Equal("63C3", Convert.ToHexString(other.Process(AppletHarness.Bytes("00 20 00 80 00"))));
        Assert.Equal("9000", _h.Send("00 20 00 80 00"));
    }
}
