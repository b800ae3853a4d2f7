using CardKeep.VirtualCard.Edge;
using CardKeep.VirtualCard.Link;

namespace CardKeep.Interop.Tests.Harness;

/// <summary>A card emulator of ours put into a slot through <see cref="VpcdLink"/>; Dispose ejects it.</summary>
public sealed class LinkedCard : IDisposable
{
    private readonly VpcdLink _link;
    private readonly Task _run;
    private readonly SlotLease _slot;

    public LinkedCard(SlotLease slot, ICardEmulator card)
    {
        ArgumentNullException.ThrowIfNull(slot);
        _slot = slot;
        _link = new VpcdLink(card, slot.Port);
        _run = Task.Run(() => _link.RunAsync());
        slot.WaitPresent(TimeSpan.FromSeconds(10));
    }

    public void Eject()
    {
        _link.Eject();
        try
        {
            _run.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
            // The run ends with the connection; its exception says nothing new here.
        }

        _slot.WaitEmpty(TimeSpan.FromSeconds(5));
    }

    public void Dispose()
    {
        Eject();
        _link.Dispose();
    }
}
