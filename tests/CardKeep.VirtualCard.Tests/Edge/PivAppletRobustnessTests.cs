using System.Collections.Concurrent;
using System.Text;
using CardKeep.Cards.Piv;
using CardKeep.VirtualCard.Edge;
using CardKeep.VirtualCard.Store;
using CardKeep.VirtualCard.Tests.Store;
using Microsoft.Extensions.Logging;

namespace CardKeep.VirtualCard.Tests.Edge;

/// <summary>Failure paths: what the applet logs, a card that is closed or read-only under it.</summary>
public sealed class PivAppletRobustnessTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Logs_SessionWithPinKeysAndManagementKey_CarryNoSecret()
    {
        var log = new RecordingLogger();
        using var card = TestCards.Create(_dir);
        var applet = new PivApplet(card, log);
        using var session = PivSession.Open(new EmulatorChannel(applet, "logged"));
        using var ec = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
        var scalar = ec.ExportParameters(true).D!;
        var newKey = Convert.FromHexString("0123456789ABCDEFFEDCBA98765432100123456789ABCDEF");

        session.VerifyPin("123456"u8);
        session.TryVerifyPin("654321"u8, out _);
        session.AuthenticateManagementKey(PivAlgorithm.TripleDes, PivManagementKey.DefaultKey);
        session.ImportKey(PivSlot.Authentication, ec);
        session.SetManagementKey(PivAlgorithm.TripleDes, newKey);
        session.ChangePin("123456"u8, "13572468"u8);
        applet.Process([0x00, 0x20, 0x00, 0x80, 0x08, 0x39, 0x39, 0x39, 0x39, 0x39, 0x39, 0xFF, 0xFF]);

        string all = string.Join('\n', log.Lines);
        Assert.Contains("PIV 00 20 00 80 -> 9000", all, StringComparison.Ordinal);
        Assert.Contains("wrong PIN", all, StringComparison.Ordinal);
        foreach (string secret in new[] { "123456", "654321", "13572468", "999999", "313233343536", "0102030405060708", "0123456789ABCDEF" })
        {
            Assert.DoesNotContain(secret, all, StringComparison.OrdinalIgnoreCase);
        }

        Assert.DoesNotContain(Convert.ToHexString(scalar), all.Replace(" ", "", StringComparison.Ordinal), StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(Encoding.Latin1.GetString(scalar), all, StringComparison.Ordinal);
    }

    [Fact]
    public void Process_CardClosedUnderTheApplet_Answers6F00AndLogsOnlyTheExceptionType()
    {
        var log = new RecordingLogger();
        var card = TestCards.Create(_dir);
        var applet = new PivApplet(card, log);
        applet.Process(AppletHarness.Bytes("00 A4 04 00 05 A0 00 00 03 08"));
        card.Dispose();

        var response = applet.Process(AppletHarness.Bytes("00 20 00 80 08 31 32 33 34 35 36 FF FF"));

        Assert.Equal("6F00", Convert.ToHexString(response));
        string line = Assert.Single(log.Lines, l => l.Contains("6F00", StringComparison.Ordinal));
        Assert.Contains("ObjectDisposedException", line, StringComparison.Ordinal);
        Assert.Contains("INS 20", line, StringComparison.Ordinal);
        Assert.DoesNotContain("3132", line, StringComparison.Ordinal);
        Assert.Equal("6F00", Convert.ToHexString(applet.Process(AppletHarness.Bytes("00 F8 00 00 00"))));
        Assert.Equal("0504039000", Convert.ToHexString(applet.Process(AppletHarness.Bytes("00 FD 00 00 00"))));
    }

    [Fact]
    public void ReadOnlyCard_ReadsWorkAndChangesAnswer6581()
    {
        string path;
        using (var card = TestCards.Create(_dir))
        {
            path = card.Path;
        }

        using var readOnly = VirtualSmartCard.Open(path, TestCards.Weak with { ReadOnly = true });
        var applet = new PivApplet(readOnly);
        applet.Process(AppletHarness.Bytes("00 A4 04 00 05 A0 00 00 03 08"));

        Assert.EndsWith("9000", Convert.ToHexString(applet.Process(AppletHarness.Bytes("00 CB 3F FF 05 5C 03 5F C1 02 00"))), StringComparison.Ordinal);
        Assert.Equal("6581", Convert.ToHexString(applet.Process(AppletHarness.Bytes("00 20 00 80 08 31 32 33 34 35 36 FF FF"))));
        Assert.Equal(3, readOnly.PinRetriesLeft);
    }

    private sealed class RecordingLogger : ILogger
    {
        private readonly ConcurrentQueue<string> _lines = new();

        public IReadOnlyList<string> Lines => [.. _lines];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            _lines.Enqueue(formatter(state, exception) + (exception is null ? string.Empty : " | " + exception));
    }
}
