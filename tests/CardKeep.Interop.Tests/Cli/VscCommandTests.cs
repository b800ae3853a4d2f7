using System.Text.Json;
using CardKeep.Interop.Tests.Harness;

namespace CardKeep.Interop.Tests.Cli;

/// <summary>The <c>cardkeep vsc</c> commands as a user runs them: a real process, a real store folder.</summary>
public sealed class VscCommandTests : IDisposable
{
    private readonly string _home = Directory.CreateTempSubdirectory("cardkeep-cli-").FullName;

    private Dictionary<string, string?> Env(params (string Key, string Value)[] extra)
    {
        var env = new Dictionary<string, string?> { ["CARDKEEP_HOME"] = _home };
        foreach (var (key, value) in extra)
        {
            env[key] = value;
        }

        return env;
    }

    private static Task<ProcessResult> Run(IDictionary<string, string?> env, params string[] args) => CardKeepCli.RunAsync(args, env);

    private async Task CreateAsync(string id, params string[] extra)
    {
        var result = await Run(Env(("CARDKEEP_PIN", "13572468"), ("CARDKEEP_PUK", "87654321")), ["vsc", "new", "--id", id, .. extra]);
        Assert.True(result.ExitCode == 0, result.ToString());
    }

    [Fact]
    public async Task NewListShow_CreatesCardWithSoftwareSerialAndShowsIt()
    {
        await CreateAsync("alice", "--label", "Alice backup", "--role", "backup", "--parent", "card:00001079");
        var list = await Run(Env(), "vsc", "list", "--json");
        var entry = Assert.Single(JsonDocument.Parse(list.StdOut).RootElement.EnumerateArray());
        Assert.Equal("alice", entry.GetProperty("id").GetString());
        Assert.Equal("enabled", entry.GetProperty("state").GetString());
        uint serial = entry.GetProperty("serial").GetUInt32();
        Assert.InRange(serial, 2_000_000_000u, 2_099_999_999u);

        var show = await Run(Env(), "vsc", "show", "alice", "--json");
        var card = JsonDocument.Parse(show.StdOut).RootElement;
        Assert.Equal("backup", card.GetProperty("role").GetString());
        Assert.Equal("card:00001079", card.GetProperty("parent").GetString());
        Assert.Equal(3, card.GetProperty("pinRetriesLeft").GetInt32());
        Assert.DoesNotContain("13572468", show.All, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ChangePin_WrongPin_CountsDownPersistedThenBlocksAndPukUnblocks()
    {
        await CreateAsync("bob");
        for (int left = 2; left >= 1; left--)
        {
            var wrong = await Run(Env(("CARDKEEP_PIN", "000000"), ("CARDKEEP_NEW_PIN", "654321")), "vsc", "change-pin", "bob");
            Assert.Equal(1, wrong.ExitCode);
            Assert.Contains($"wrong PIN, {left} {(left == 1 ? "try" : "tries")} left", wrong.StdErr, StringComparison.Ordinal);
        }

        var last = await Run(Env(("CARDKEEP_PIN", "000000"), ("CARDKEEP_NEW_PIN", "654321")), "vsc", "change-pin", "bob");
        Assert.Equal(1, last.ExitCode);
        var blocked = await Run(Env(("CARDKEEP_PIN", "13572468"), ("CARDKEEP_NEW_PIN", "654321")), "vsc", "change-pin", "bob");
        Assert.Contains("PIN is blocked", blocked.StdErr, StringComparison.Ordinal);

        var unblock = await Run(Env(("CARDKEEP_PUK", "87654321"), ("CARDKEEP_NEW_PIN", "24681357")), "vsc", "unblock-pin", "bob");
        Assert.True(unblock.ExitCode == 0, unblock.ToString());
        var change = await Run(Env(("CARDKEEP_PIN", "24681357"), ("CARDKEEP_NEW_PIN", "11223344")), "vsc", "change-pin", "bob");
        Assert.True(change.ExitCode == 0, change.ToString());
    }

    [Fact]
    public async Task DisableEnableExportImport_RoundTripAndRefuseDuplicate()
    {
        await CreateAsync("carol");
        Assert.Equal(0, (await Run(Env(), "vsc", "disable", "carol")).ExitCode);
        var listed = JsonDocument.Parse((await Run(Env(), "vsc", "list", "--json")).StdOut).RootElement[0];
        Assert.Equal("disabled", listed.GetProperty("state").GetString());

        string exported = Path.Combine(_home, "carol-export.vsc");
        Assert.Equal(0, (await Run(Env(), "vsc", "export", "carol", exported)).ExitCode);
        var duplicate = await Run(Env(), "vsc", "import", exported);
        Assert.Equal(1, duplicate.ExitCode);
        Assert.Contains("already exists", duplicate.StdErr, StringComparison.Ordinal);

        Assert.Equal(0, (await Run(Env(), "vsc", "delete", "carol", "--yes")).ExitCode);
        var imported = await Run(Env(), "vsc", "import", exported);
        Assert.True(imported.ExitCode == 0, imported.ToString());
        Assert.Contains("imported carol (disabled)", imported.StdOut, StringComparison.Ordinal);
        Assert.Equal(0, (await Run(Env(), "vsc", "enable", "carol")).ExitCode);
    }

    [Fact]
    public async Task ListAndShow_TamperedFile_ListedAsDamagedAndRefused()
    {
        await CreateAsync("dave");
        string file = Path.Combine(_home, "vsc", "dave.vsc");
        byte[] bytes = await File.ReadAllBytesAsync(file);
        bytes[bytes.Length / 2] ^= 0x40;
        await File.WriteAllBytesAsync(file, bytes);

        var list = await Run(Env(), "vsc", "list", "--json");
        var entry = JsonDocument.Parse(list.StdOut).RootElement[0];
        Assert.Equal("damaged", entry.GetProperty("state").GetString());
        Assert.Contains("checksum mismatch", entry.GetProperty("damage").GetString(), StringComparison.Ordinal);

        var show = await Run(Env(), "vsc", "show", "dave");
        Assert.Equal(1, show.ExitCode);
        Assert.Contains("is damaged", show.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task New_NoPinAndNoTerminal_ExitsTwoNamingTheVariable()
    {
        var result = await Run(Env(), "vsc", "new", "--id", "erin");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("CARDKEEP_PIN", result.StdErr, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(_home, "vsc", "erin.vsc")));
    }

    [Fact]
    public async Task New_FactoryPuk_RefusedUnlessAllowed()
    {
        var refused = await Run(Env(("CARDKEEP_PIN", "a1b2c3d4"), ("CARDKEEP_PUK", "12345678")), "vsc", "new", "--id", "gina");
        Assert.Equal(2, refused.ExitCode);
        Assert.Contains("--allow-default-codes", refused.StdErr, StringComparison.Ordinal);
        var allowed = await Run(Env(("CARDKEEP_PIN", "a1b2c3d4"), ("CARDKEEP_PUK", "12345678")), "vsc", "new", "--id", "gina", "--allow-default-codes");
        Assert.Equal(0, allowed.ExitCode);
    }

    [Fact]
    public async Task Delete_WithoutYesAndNoTerminal_RefusesAndKeepsTheCard()
    {
        await CreateAsync("frank");
        var result = await Run(Env(), "vsc", "delete", "frank");
        Assert.Equal(2, result.ExitCode);
        Assert.True(File.Exists(Path.Combine(_home, "vsc", "frank.vsc")));
    }

    public void Dispose() => Directory.Delete(_home, recursive: true);
}
