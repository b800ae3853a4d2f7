using System.Diagnostics;
using CardKeep.Cards.PcSc;
using CardKeep.Interop.Tests.Harness;

namespace CardKeep.Interop.Tests.Foundation;

public sealed class MonitorTests
{
    [Fact]
    public void CardMonitor_ViccKilled_ReportsRemovalWithinOneSecondAndNewCardAsInsertion()
    {
        using var slot = SlotLease.Acquire();
        var vicc = ViccCard.Start(slot);
        using var events = new System.Collections.Concurrent.BlockingCollection<CardEvent>();
        using var monitor = new CardMonitor();
        monitor.Changed += (_, e) =>
        {
            if (e.Reader == slot.Reader)
            {
                events.Add(e);
            }
        };
        monitor.Start(reportPresent: true);
        var first = Next(events, TimeSpan.FromSeconds(5));
        Assert.Equal(CardEventKind.CardInserted, first.Kind);
        Assert.Equal(ViccCard.Atr, first.Atr.ToArray());

        var clock = Stopwatch.StartNew();
        vicc.Dispose();
        var removed = Next(events, TimeSpan.FromSeconds(5));
        clock.Stop();
        Assert.Equal(CardEventKind.CardRemoved, removed.Kind);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), $"removal reported after {clock.ElapsedMilliseconds} ms");

        using var second = ViccCard.Start(slot);
        var inserted = Next(events, TimeSpan.FromSeconds(5));
        Assert.Equal(CardEventKind.CardInserted, inserted.Kind);
    }

    [Fact]
    public void CardMonitor_Dispose_ReturnsPromptlyWhileWaiting()
    {
        PrivatePcscd.EnsureRunning();
        var monitor = new CardMonitor();
        using var ready = new ManualResetEventSlim();
        monitor.Ready += (_, _) => ready.Set();
        monitor.Start();
        Assert.True(ready.Wait(TimeSpan.FromSeconds(5)));
        var clock = Stopwatch.StartNew();
        monitor.Dispose();
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"dispose took {clock.ElapsedMilliseconds} ms");
    }

    [Fact]
    public void MonitorCommand_ViccKilled_PrintsRemovalWithinOneSecond()
    {
        using var slot = SlotLease.Acquire();
        var vicc = ViccCard.Start(slot);
        using var monitor = LiveProcess.Start("dotnet", CardKeepCli.DllPath, "monitor", "--json");
        monitor.WaitForLine(l => l.Contains("card-inserted", StringComparison.Ordinal) && l.Contains(slot.Reader, StringComparison.Ordinal), TimeSpan.FromSeconds(15));

        var clock = Stopwatch.StartNew();
        vicc.Dispose();
        monitor.WaitForLine(l => l.Contains("card-removed", StringComparison.Ordinal) && l.Contains(slot.Reader, StringComparison.Ordinal), TimeSpan.FromSeconds(5));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), $"removal printed after {clock.ElapsedMilliseconds} ms");

        using var again = ViccCard.Start(slot);
        monitor.WaitForLine(l => l.Contains("card-inserted", StringComparison.Ordinal) && l.Contains(slot.Reader, StringComparison.Ordinal), TimeSpan.FromSeconds(5));
    }

    private static CardEvent Next(System.Collections.Concurrent.BlockingCollection<CardEvent> events, TimeSpan timeout) =>
        events.TryTake(out var e, timeout) ? e : throw new TimeoutException("no card event");
}
