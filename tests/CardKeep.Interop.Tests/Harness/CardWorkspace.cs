using CardKeep.VirtualCard.Store;

namespace CardKeep.Interop.Tests.Harness;

/// <summary>
/// A test's own folders: <see cref="Cards"/> for the "real" cards (PIV VSC files put live into readers) and
/// <see cref="Home"/>, the CardKeep data folder (CARDKEEP_HOME, with the VSC store in vsc/ and XDG_RUNTIME_DIR in run/)
/// that the <c>cardkeep</c> commands it runs use. Dispose deletes both.
/// </summary>
public sealed class CardWorkspace : IDisposable
{
    public string Cards { get; } = Directory.CreateTempSubdirectory("cardkeep-cards-").FullName;

    public string Home { get; } = Directory.CreateTempSubdirectory("cardkeep-home-").FullName;

    /// <summary>The VSC store of <see cref="Home"/>.</summary>
    public string Store => Path.Combine(Home, "vsc");

    /// <summary>A blank PIV card (factory PIN 123456, PUK 12345678, management key), quick to open (weak KDF, tests only).</summary>
    public VirtualSmartCard NewCard(string name) => VirtualSmartCard.Create(Path.Combine(Cards, name + ".vsc"), new VscCreateOptions
    {
        Id = name,
        Pin = "123456"u8.ToArray(),
        Puk = "12345678"u8.ToArray(),
        ManagementKey = VirtualSmartCard.DefaultManagementKey.ToArray(),
        AllowWeakKdfForTests = true,
        Iterations = 1000,
    });

    /// <summary>Runs <c>cardkeep</c> with this workspace's data and runtime folders and the extra variables in <paramref name="env"/>.</summary>
    public Task<ProcessResult> CardKeepAsync(IDictionary<string, string?> env, params string[] args)
    {
        string runtime = Path.Combine(Home, "run");
        Directory.CreateDirectory(runtime);
        var all = new Dictionary<string, string?>(env) { ["CARDKEEP_HOME"] = Home, ["XDG_RUNTIME_DIR"] = runtime };
        return CardKeepCli.RunAsync(args, all, timeout: TimeSpan.FromMinutes(2));
    }

    public void Dispose()
    {
        Directory.Delete(Cards, recursive: true);
        Directory.Delete(Home, recursive: true);
    }
}
