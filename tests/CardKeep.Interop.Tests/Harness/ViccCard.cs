using System.Diagnostics;

namespace CardKeep.Interop.Tests.Harness;

/// <summary>
/// Debian's vsmartcard <c>vicc -t iso7816</c> in a slot: an independent ISO 7816-4 card nobody here wrote.
/// It needs PYTHONPATH with the virtualsmartcard package and a <c>Crypto → Cryptodome</c> alias
/// (/work/shared/specs/piv-and-vpcd.md §1.6). Dispose (or <see cref="Kill"/>) removes the card.
/// </summary>
public sealed class ViccCard : IDisposable
{
    public static readonly byte[] Atr = Convert.FromHexString("3B951381018073FF01000B");
    private readonly Process _process;

    private ViccCard(Process process) => _process = process;

    public bool HasExited => _process.HasExited;

    public static ViccCard Start(SlotLease slot)
    {
        ArgumentNullException.ThrowIfNull(slot);
        string shim = Path.Combine(Path.GetTempPath(), "cardkeep-vicc-pythonpath");
        Directory.CreateDirectory(shim);
        string alias = Path.Combine(shim, "Crypto");
        if (!Directory.Exists(alias) && !File.Exists(alias))
        {
            try
            {
                File.CreateSymbolicLink(alias, "/usr/lib/python3/dist-packages/Cryptodome");
            }
            catch (IOException)
            {
                // Another test created it meanwhile.
            }
        }

        string log = Path.Combine(PrivatePcscd.ArtifactsDirectory, $"vicc-slot{slot.Slot}.log");
        var info = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add($"exec /usr/bin/python3 -u /usr/bin/vicc -t iso7816 -P {slot.Port} -v >> '{log}' 2>&1");
        info.Environment["PYTHONPATH"] = $"/usr/lib/python3/site-packages/virtualsmartcard:{shim}";
        var process = Process.Start(info) ?? throw new InvalidOperationException("could not start vicc");
        var card = new ViccCard(process);
        try
        {
            slot.WaitPresent(TimeSpan.FromSeconds(20));
        }
        catch
        {
            card.Dispose();
            throw;
        }

        return card;
    }

    /// <summary>Kills vicc: its connection to vpcd closes and pcscd sees the card removed.</summary>
    public void Kill()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }
    }

    public void Dispose()
    {
        Kill();
        _process.Dispose();
    }
}
