using System.Diagnostics;
using CardKeep.Cards.PcSc;

namespace CardKeep.Interop.Tests.Harness;

/// <summary>
/// The test run's own pcscd, never the machine's. scripts/test.sh runs every test inside
/// <c>unshare -mnpf --mount-proc</c> with a tmpfs on /run/pcscd and loopback up, and exports
/// CARDKEEP_TEST_NAMESPACE=1. The first test that needs PC/SC starts pcscd there with scripts/private-pcscd.sh (under a
/// file lock, so test assemblies running in parallel share one): three vpcd readers, six slots.
/// The PID namespace ends with the test command, and pcscd with it.
/// </summary>
public static class PrivatePcscd
{
    public const string RunDirectory = "/run/pcscd";
    public const int SlotCount = 6;
    private static readonly Lazy<string?> _failure = new(Start, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Reader name of a slot: "Virtual PCD 00 00", "Virtual PCD 00 01", "Virtual PCD 2 00 00", …</summary>
    public static string ReaderName(int slot) =>
        $"Virtual PCD{(slot / 2 == 0 ? string.Empty : " " + (slot / 2 * 2))} 00 0{slot % 2}";

    public static int Port(int slot) => 35963 + slot;

    /// <summary>The checkout the tests were built from (the folder holding CardKeep.slnx).</summary>
    public static string RepositoryRoot
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "CardKeep.slnx")))
                {
                    return dir.FullName;
                }
            }

            throw new InvalidOperationException("cannot find the repository root (CardKeep.slnx) above " + AppContext.BaseDirectory);
        }
    }

    /// <summary>Where test logs go (pcscd's log, screenshots, …).</summary>
    public static string ArtifactsDirectory
    {
        get
        {
            string dir = Environment.GetEnvironmentVariable("CARDKEEP_TEST_ARTIFACTS") is { Length: > 0 } a
                ? a
                : Path.Combine(Path.GetTempPath(), "cardkeep-test-artifacts");
            Directory.CreateDirectory(dir);
            return dir;
        }
    }

    /// <summary>Makes sure the private pcscd runs; fails the test with the reason when it cannot.</summary>
    public static void EnsureRunning()
    {
        if (_failure.Value is string reason)
        {
            Assert.Fail(reason);
        }
    }

    private static string? Start()
    {
        if (Environment.GetEnvironmentVariable("CARDKEEP_TEST_NAMESPACE") != "1")
        {
            return "PC/SC tests need their own pcscd in a private mount and network namespace, so they never touch the " +
                   "machine's pcscd: run them through scripts/test.sh (as root), which sets that up.";
        }

        using var startLock = SlotLease.LockFile(Path.Combine(RunDirectory, "cardkeep-pcscd.lock"), wait: true)!;
        if (IsUp())
        {
            return null;
        }

        var shell = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
        shell.ArgumentList.Add("-c");
        shell.ArgumentList.Add($"exec '{Path.Combine(RepositoryRoot, "scripts", "private-pcscd.sh")}' '{Path.Combine(ArtifactsDirectory, "pcscd.log")}'");
        Process.Start(shell);
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (DateTime.UtcNow < deadline)
        {
            if (IsUp())
            {
                return null;
            }

            Thread.Sleep(100);
        }

        return $"the private pcscd did not come up with {SlotCount} readers within 15 s; see {ArtifactsDirectory}/pcscd.log";
    }

    private static bool IsUp()
    {
        if (!File.Exists(Path.Combine(RunDirectory, "pcscd.comm")))
        {
            return false;
        }

        try
        {
            using var context = PcscContext.Establish();
            return context.ListReaders().Count >= SlotCount;
        }
        catch (PcscException)
        {
            return false;
        }
    }
}

/// <summary>
/// Exclusive use of one vpcd slot, across test classes and test processes (an flock'ed file in the private
/// /run/pcscd). Dispose releases it.
/// </summary>
public sealed class SlotLease : IDisposable
{
    private readonly FileStream _lock;

    private SlotLease(int slot, FileStream lockFile)
    {
        Slot = slot;
        _lock = lockFile;
    }

    public int Slot { get; }

    public string Reader => PrivatePcscd.ReaderName(Slot);

    public int Port => PrivatePcscd.Port(Slot);

    public static SlotLease Acquire(TimeSpan? timeout = null)
    {
        PrivatePcscd.EnsureRunning();
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromMinutes(10));
        while (true)
        {
            for (int slot = 0; slot < PrivatePcscd.SlotCount; slot++)
            {
                if (LockFile(Path.Combine(PrivatePcscd.RunDirectory, $"cardkeep-slot-{slot}.lock"), wait: false) is FileStream held)
                {
                    var lease = new SlotLease(slot, held);
                    lease.WaitEmpty(TimeSpan.FromSeconds(5));
                    return lease;
                }
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("no vpcd slot became free");
            }

            Thread.Sleep(50);
        }
    }

    /// <summary>Waits until the slot shows no card (the previous holder's card is really gone).</summary>
    public void WaitEmpty(TimeSpan timeout) => WaitFor(present: false, timeout);

    /// <summary>Waits until pcscd sees a card in the slot.</summary>
    public void WaitPresent(TimeSpan timeout) => WaitFor(present: true, timeout);

    private void WaitFor(bool present, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        using var context = PcscContext.Establish();
        while (true)
        {
            var status = context.GetReaderStatuses().First(s => s.Name == Reader);
            if (status.CardPresent == present)
            {
                return;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"reader '{Reader}' still {(present ? "has no card" : "has a card")} after {timeout.TotalSeconds} s");
            }

            Thread.Sleep(50);
        }
    }

    internal static FileStream? LockFile(string path, bool wait)
    {
        while (true)
        {
            try
            {
                // .NET on Unix takes an advisory flock for FileShare.None: exclusive across processes.
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (wait)
            {
                Thread.Sleep(50);
            }
            catch (IOException)
            {
                return null;
            }
        }
    }

    public void Dispose() => _lock.Dispose();
}
