using System.Globalization;
using CardKeep.Interop.Tests.Harness;
using CardKeep.VirtualCard.Edge;
using CardKeep.VirtualCard.Store;

namespace CardKeep.Interop.Tests.Manager;

/// <summary>Cards that go away at the worst moment: mid-backup, and a killed card process after a wrong PIN.</summary>
public sealed class CardRemovalTests : IDisposable
{
    private readonly string _home = Directory.CreateTempSubdirectory("cardkeep-removal-").FullName;

    private Dictionary<string, string?> Env(params (string Key, string Value)[] extra)
    {
        var env = new Dictionary<string, string?> { ["CARDKEEP_HOME"] = _home, ["XDG_RUNTIME_DIR"] = Path.Combine(_home, "run") };
        Directory.CreateDirectory(Path.Combine(_home, "run"));
        foreach (var (key, value) in extra)
        {
            env[key] = value;
        }

        return env;
    }

    [Fact]
    public async Task Backup_CardRemovedWhileReading_FailsAndSavesNoVsc()
    {
        using var slot = SlotLease.Acquire();
        using var card = VirtualSmartCard.Create(Path.Combine(_home, "card.vsc"), new VscCreateOptions
        {
            Id = "card", Pin = "123456"u8.ToArray(), Puk = "12345678"u8.ToArray(),
            ManagementKey = VirtualSmartCard.DefaultManagementKey.ToArray(), AllowWeakKdfForTests = true, Iterations = 1000,
        });
        card.PutPublicObject(0x5FFF10, "https://a.example\n"u8);
        var dropping = new DropsAfter(new PivApplet(card), commands: 12);
        using var live = new LinkedCard(slot, dropping);
        dropping.Eject = live.Eject;

        var backup = await CardKeepCli.RunAsync(["card", "backup", "reader:" + slot.Reader, "--new-vsc"],
            Env(("CARDKEEP_VSC_PIN", "n3w-pin1"), ("CARDKEEP_VSC_PUK", "n3w-puk1")), timeout: TimeSpan.FromMinutes(1));
        Assert.NotEqual(0, backup.ExitCode);
        Assert.Contains("error:", backup.StdErr, StringComparison.Ordinal);
        string store = Path.Combine(_home, "vsc");
        Assert.True(!Directory.Exists(store) || Directory.GetFiles(store, "*.vsc").Length == 0, "no VSC may be saved from a half-read card");
    }

    [Fact]
    public async Task WrongPin_CardProcessKilledRightAfter_CounterStaysDown()
    {
        using var slot = SlotLease.Acquire();
        var created = await CardKeepCli.RunAsync(["vsc", "new", "--id", "victim"], Env(("CARDKEEP_PIN", "r1ght-pn"), ("CARDKEEP_PUK", "r1ght-pk")));
        Assert.True(created.ExitCode == 0, created.ToString());
        using var insert = LiveProcess.Start("dotnet", [CardKeepCli.DllPath, "vsc", "insert", "victim", "--port", slot.Port.ToString(CultureInfo.InvariantCulture)], Env());
        slot.WaitPresent(TimeSpan.FromSeconds(20));

        var wrong = await ProcessRunner.RunAsync("yubico-piv-tool", ["-r", slot.Reader, "-a", "verify-pin", "-P", "00000000"]);
        Assert.Contains("2 tries left", wrong.All, StringComparison.Ordinal);
        insert.Kill(); // SIGKILL: no chance to save anything on the way out
        slot.WaitEmpty(TimeSpan.FromSeconds(5));

        var show = await CardKeepCli.RunAsync(["vsc", "show", "victim", "--json"], Env());
        Assert.Contains("\"pinRetriesLeft\": 2", show.StdOut, StringComparison.Ordinal);
    }

    /// <summary>Answers like the card it wraps, then pulls itself out of the reader instead of answering command N.</summary>
    private sealed class DropsAfter(ICardEmulator inner, int commands) : ICardEmulator
    {
        private int _seen;

        public Action? Eject { get; set; }

        public ReadOnlyMemory<byte> Atr => inner.Atr;

        public byte[] Process(ReadOnlySpan<byte> commandApdu)
        {
            if (Interlocked.Increment(ref _seen) == commands)
            {
                var eject = Eject;
                _ = Task.Run(() => eject?.Invoke());
                Thread.Sleep(300);
            }

            return inner.Process(commandApdu);
        }

        public void Reset() => inner.Reset();
    }

    public void Dispose() => Directory.Delete(_home, recursive: true);
}
